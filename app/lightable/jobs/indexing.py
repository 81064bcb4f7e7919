"""Index image folders in place: the job behind ``add-images`` and File > Add images.

Two phases:

1. **Walk** every folder with ``os.scandir`` (one ``stat`` per file, nothing
   opened) and compare with what the project knows by size and mtime. A
   re-scan of an unchanged 100k-image data set stops here: a few seconds.
2. **Probe** only new and changed files on a thread pool (headers only, see
   ``imaging.probe``) and write the rows in batches of ~2000 per transaction.

Files that cannot be read become rows with status ``broken`` and the reason in
``error``: they show as error tiles and the run goes on. Cancelling keeps every
batch already written (each is its own transaction) and skips the
"mark vanished files missing" step, which would be wrong after a partial walk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lightable.core.errors import BadInputError
from lightable.core.model import Image, ImageStatus
from lightable.imaging.probe import IMAGE_EXTENSIONS, ImageHeader, probe_image
from lightable.jobs.base import Cancelled, JobState

if TYPE_CHECKING:
    from lightable.store.project import Project

BATCH_ROWS = 2000  # rows per write transaction
CHUNK_FILES = 128  # files per thread-pool task: amortises the executor's overhead


@dataclass
class IndexReport:
    """What one indexing run did. ``broken``/``skipped`` hold (path, reason)."""

    added: int = 0  # new files registered (including broken ones)
    updated: int = 0  # known files whose size or mtime changed
    removed: int = 0  # known files gone from disk, now marked missing
    restored: int = 0  # files marked missing that are back
    unchanged: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)  # found broken this run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unreadable folders, links
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "broken": [{"path": p, "reason": r} for p, r in self.broken],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "elapsed": round(self.elapsed, 3),
        }

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.restored:
            parts.append(f"{self.restored} restored")
        if self.removed:
            parts.append(f"{self.removed} missing")
        parts.append(f"{len(self.broken)} broken")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts) + f" in {self.elapsed:.1f} s"


class _Entry(NamedTuple):
    """One image file seen by the walk (the stat fields probing needs)."""

    rel: str  # relative to the root, forward slashes
    st_size: int
    st_mtime_ns: int


class _Work(NamedTuple):
    root_id: int
    root: str
    entry: _Entry
    image_id: int | None  # set for a changed file, None for a new one


@dataclass
class _RootScan:
    root_id: int
    root: Path
    start: str = ""  # the subfolder (relative to root) to walk; "" for all of it
    nested_roots: frozenset[str] = frozenset()  # other roots inside this one: theirs
    seen: list[_Entry] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # folders we could not list


def _plan_scans(project: Project, folders: Sequence[Path]) -> list[_RootScan]:
    """One scan per distinct folder, each attached to the right root.

    A folder inside an existing root is scanned as part of that root (so
    indexing ``photos/2023`` after ``photos`` does not register its files
    twice). A new root that contains existing roots leaves their subtrees to
    them, and they are re-scanned too.
    """
    existing = {rid: p.resolve() for rid, p in project.roots().items()}
    plans: dict[tuple[int, str], _RootScan] = {}

    def containing(folder: Path) -> tuple[int, Path] | None:
        best = None
        for rid, p in existing.items():
            inside = folder == p or folder.is_relative_to(p)
            if inside and (best is None or len(p.parts) > len(best[1].parts)):
                best = (rid, p)  # the innermost root owns the folder
        return best

    for folder in folders:
        owner = containing(folder)
        if owner is None:
            rid = project.add_root(folder)
            existing[rid] = folder
            owner = (rid, folder)
        rid, root = owner
        start = folder.relative_to(root).as_posix()
        start = "" if start == "." else start
        plans.setdefault((rid, start), _RootScan(rid, root, start))
        for other_id, other in existing.items():
            if other_id != rid and other.is_relative_to(folder):
                plans.setdefault((other_id, ""), _RootScan(other_id, other))

    # A subfolder asked for together with its parent is covered by the parent.
    def covered(rid: int, start: str) -> bool:
        return any(
            r == rid and st != start and (st == "" or start.startswith(st + "/")) for r, st in plans
        )

    plans = {k: v for k, v in plans.items() if not covered(*k)}
    for scan in plans.values():
        scan.nested_roots = frozenset(
            str(p)
            for rid, p in existing.items()
            if rid != scan.root_id and p.is_relative_to(scan.root)
        )
    return list(plans.values())


def default_workers() -> int:
    # Probing is short bursts of Python plus file I/O: more threads than cores
    # keep the disk busy on a cold cache; beyond ~16 they only contend.
    return max(4, min(16, 2 * (os.cpu_count() or 2)))


def index_folders(
    project: Project,
    folders: Sequence[str | os.PathLike[str]],
    state: JobState | None = None,
    workers: int | None = None,
) -> IndexReport:
    """Register the images under ``folders`` (recursively) in ``project``.

    Raises ``BadInputError`` before doing anything when a folder does not exist,
    and ``Cancelled`` (after keeping what was written) when ``state`` is cancelled.
    """
    from lightable.store.project import Change

    state = state or JobState()
    start = time.monotonic()
    report = IndexReport()
    folders_ok = [_check_folder(f) for f in folders]
    project_dirs = _project_dirs(project)

    try:
        # Phase 1: walk and compare with the store.
        work: list[_Work] = []
        to_restore: list[int] = []
        to_mark_missing: list[int] = []
        seen_total = 0
        for scan in _plan_scans(project, folders_ok):
            state.set_message(f"scanning {scan.root / scan.start}")
            skip = project_dirs | scan.nested_roots
            for entry in _walk(scan, skip, report, state):
                scan.seen.append(entry)
            known = project.images.known_files(scan.root_id)
            if scan.start:  # only this subtree of the root was looked at
                prefix = scan.start + "/"
                known = {k: v for k, v in known.items() if k.startswith(prefix)}
            seen_total += len(scan.seen)
            _compare(scan, known, report, work, to_restore, to_mark_missing)

        state.set_total(state.done + seen_total)
        state.advance(report.unchanged + len(to_restore))
        if to_restore:
            project.images.set_missing(to_restore, missing=False)
            report.restored = len(to_restore)
        state.check()

        # Phase 2: probe new and changed files, write in batches.
        if work:
            state.set_message(f"reading {len(work)} image headers")
            _probe_and_write(project, work, report, state, workers or default_workers())

        # Only a complete walk may conclude that a file is gone.
        if to_mark_missing:
            project.images.set_missing(to_mark_missing, missing=True)
            report.removed = len(to_mark_missing)
        state.set_message("done")
    finally:
        report.elapsed = time.monotonic() - start
        state.finish()
        project.notify(Change("images.added", payload=report.to_dict()))
    return report


def _check_folder(folder: str | os.PathLike[str]) -> Path:
    p = Path(folder).expanduser()
    if not p.exists():
        raise BadInputError(p, "no such folder")
    if not p.is_dir():
        raise BadInputError(p, "not a folder")
    if not os.access(p, os.R_OK | os.X_OK):
        raise BadInputError(p, "folder is not readable (permission denied)")
    return p.resolve()


def _project_dirs(project: Project) -> frozenset[str]:
    """The project's own folder (and its cache) never hold data-set images."""
    if project.folder is None:
        return frozenset()
    folder = Path(project.folder).resolve()
    return frozenset({str(folder), str(folder / "cache")})


def _walk(
    scan: _RootScan, skip_dirs: frozenset[str], report: IndexReport, state: JobState
) -> Iterator[_Entry]:
    """Image files under ``root``: hidden names, the project, escaping links left out.

    Iterative (deep trees do not hit the recursion limit); directory symlinks are
    not followed: inside the root their files are indexed at their real place,
    outside it they would break the "images stay under their root" promise.
    """
    root = scan.root
    root_s = str(root)
    root_prefix = root_s.rstrip(os.sep) + os.sep
    start = os.path.join(root_s, scan.start) if scan.start else root_s
    stack: list[tuple[str, str]] = [(start, scan.start)]
    count = 0
    last_message = time.monotonic()
    exts = IMAGE_EXTENSIONS
    while stack:
        dir_path, rel_dir = stack.pop()
        try:
            it = os.scandir(dir_path)
        except OSError as exc:
            reason = "folder not readable" + (f" ({exc.strerror})" if exc.strerror else "")
            report.skipped.append((rel_dir or ".", reason))
            scan.unreadable.append(rel_dir)
            continue
        subdirs: list[tuple[str, str]] = []
        with it:
            for e in it:
                name = e.name
                if name.startswith("."):
                    continue
                rel = f"{rel_dir}/{name}" if rel_dir else name
                try:
                    if e.is_symlink():
                        real = os.path.realpath(e.path)
                        if not real.startswith(root_prefix):
                            report.skipped.append((rel, "symbolic link leads outside the folder"))
                            continue
                        if os.path.isdir(real):
                            continue
                    elif e.is_dir(follow_symlinks=False):
                        if e.path not in skip_dirs:
                            subdirs.append((e.path, rel))
                        continue
                    if os.path.splitext(name)[1].lower() not in exts:
                        continue
                    st = e.stat()  # follows an (inside) symlink to its file
                except OSError:
                    continue  # vanished while we looked, or a dangling link
                yield _Entry(rel, st.st_size, st.st_mtime_ns)
                count += 1
                if count % 2048 == 0:
                    state.check()
                    now = time.monotonic()
                    if now - last_message > 0.25:
                        last_message = now
                        state.set_message(f"scanning {root}: {count} files")
        # Sorted so that ids follow the folder order on a first index.
        stack.extend(sorted(subdirs, reverse=True))


def _compare(
    scan: _RootScan,
    known: dict[str, tuple[int, int, int, bool]],
    report: IndexReport,
    work: list[_Work],
    to_restore: list[int],
    to_mark_missing: list[int],
) -> None:
    root_s = str(scan.root)
    seen_paths: set[str] = set()
    for entry in sorted(scan.seen):
        seen_paths.add(entry.rel)
        k = known.get(entry.rel)
        if k is None:
            work.append(_Work(scan.root_id, root_s, entry, None))
        elif k[1] == entry.st_size and k[2] == entry.st_mtime_ns:
            if k[3]:
                to_restore.append(k[0])
            else:
                report.unchanged += 1
        else:
            work.append(_Work(scan.root_id, root_s, entry, k[0]))
    unreadable = tuple(f"{d}/" for d in scan.unreadable if d)
    whole_root_unreadable = scan.start in scan.unreadable
    for rel, (image_id, _size, _mtime, missing) in known.items():
        if missing or rel in seen_paths:
            continue
        if whole_root_unreadable or (unreadable and rel.startswith(unreadable)):
            continue  # we could not look: not evidence that the file is gone
        to_mark_missing.append(image_id)


def _probe_chunk(chunk: list[_Work]) -> list[tuple[_Work, ImageHeader | str]]:
    out: list[tuple[_Work, ImageHeader | str]] = []
    for w in chunk:
        try:
            out.append((w, probe_image(os.path.join(w.root, w.entry.rel), w.entry)))
        except BadInputError as exc:
            out.append((w, exc.problem))
        except Exception as exc:  # a Pillow bug on hostile bytes must not end the run
            out.append((w, f"cannot read ({type(exc).__name__}: {exc})"[:200]))
    return out


def _probe_and_write(
    project: Project, work: list[_Work], report: IndexReport, state: JobState, workers: int
) -> None:
    # Changed files keep their workflow status unless they were broken.
    changed_ids = [w.image_id for w in work if w.image_id is not None]
    prev_status: dict[int, ImageStatus] = {}
    for i in range(0, len(changed_ids), 5000):
        got = project.images.get_many(changed_ids[i : i + 5000])
        prev_status.update({k: v.status for k, v in got.items()})

    new_rows: list[Image] = []
    changed_rows: list[Image] = []

    def flush(force: bool) -> None:
        if new_rows and (force or len(new_rows) >= BATCH_ROWS):
            project.images.insert_many(new_rows)
            report.added += len(new_rows)
            new_rows.clear()
        if changed_rows and (force or len(changed_rows) >= BATCH_ROWS):
            project.images.update_files(changed_rows)
            report.updated += len(changed_rows)
            changed_rows.clear()

    chunks = [work[i : i + CHUNK_FILES] for i in range(0, len(work), CHUNK_FILES)]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="probe")
    try:
        # A bounded window of chunks in flight keeps memory flat and cancel prompt.
        window = max(2, 2 * workers)
        pending: list[Future[list[tuple[_Work, ImageHeader | str]]]] = [
            pool.submit(_probe_chunk, c) for c in chunks[:window]
        ]
        next_chunk = len(pending)
        while pending:
            results = pending.pop(0).result()
            if next_chunk < len(chunks):
                pending.append(pool.submit(_probe_chunk, chunks[next_chunk]))
                next_chunk += 1
            for w, res in results:
                row = _row(w, res, prev_status)
                if isinstance(res, str):
                    report.broken.append((w.entry.rel, res))
                (new_rows if w.image_id is None else changed_rows).append(row)
            flush(force=False)
            state.advance(len(results))
            state.check()
    except (Cancelled, KeyboardInterrupt):
        flush(force=True)  # keep what is done: each row is complete on its own
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    flush(force=True)


def _row(w: _Work, res: ImageHeader | str, prev_status: dict[int, ImageStatus]) -> Image:
    e = w.entry
    if isinstance(res, str):
        return Image(
            path=e.rel,
            root_id=w.root_id,
            file_size=e.st_size,
            mtime_ns=e.st_mtime_ns,
            status=ImageStatus.BROKEN,
            error=res,
            id=w.image_id,
        )
    status = ImageStatus.NEW
    if w.image_id is not None:
        prev = prev_status.get(w.image_id, ImageStatus.NEW)
        status = ImageStatus.NEW if prev == ImageStatus.BROKEN else prev
    return Image(
        path=e.rel,
        root_id=w.root_id,
        width=res.width,
        height=res.height,
        orientation=res.orientation,
        file_size=e.st_size,
        mtime_ns=e.st_mtime_ns,
        status=status,
        id=w.image_id,
    )
