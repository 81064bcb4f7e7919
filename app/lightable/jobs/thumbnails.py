"""Fill the thumbnail cache: the job behind ``lightable thumbnails`` and the browser.

Threads, not processes: decoding and encoding happen inside libjpeg with the
GIL released, so two threads keep both cores busy without pickling 13 KB
results across processes (measured on the 2-core machine: ~315/s with
threads, ~290/s with a 2-process pool, 1280x960 JPEGs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from lightable.core.model import Image, ImageStatus
from lightable.imaging.thumbnails import THUMB_SIZE, CachedThumb, ThumbnailCache, thumbnail_or_error
from lightable.jobs.base import Cancelled, JobState

if TYPE_CHECKING:
    from pathlib import Path

    from lightable.store.project import Project

CHUNK = 8  # thumbnails per pool task
WRITE_BATCH = 128  # rows per cache transaction (~1.5 MB of JPEG)
_READ_BATCH = 2000  # image rows fetched from the store at a time


def default_workers() -> int:
    return max(2, os.cpu_count() or 2)


def build_thumbnails(
    project: Project,
    image_ids: Sequence[int] | None = None,
    state: JobState | None = None,
    workers: int | None = None,
    cache: ThumbnailCache | None = None,
    size: int = THUMB_SIZE,
) -> int:
    """Generate the thumbnails that are missing or stale; returns how many were written.

    ``image_ids=None`` means every image that is not missing. Broken images get
    an error marker (their reason) without another decode attempt. Raises
    ``Cancelled`` when ``state`` is cancelled, keeping what was written.
    """
    from lightable.store.project import Change

    state = state or JobState()
    own_cache = cache is None
    cache = cache or ThumbnailCache.for_project(project)
    written = 0
    try:
        ids = list(image_ids) if image_ids is not None else project.images.ordered_ids()
        state.set_message("checking the thumbnail cache")
        todo: list[Image] = []
        for i in range(0, len(ids), _READ_BATCH):
            images = project.images.get_many(ids[i : i + _READ_BATCH])
            have = cache.lookup_many({k: im.mtime_ns for k, im in images.items()})
            todo.extend(im for k, im in images.items() if k not in have)
            state.check()
        state.set_total(state.done + len(todo))
        if not todo:
            return 0
        state.set_message(f"making {len(todo)} thumbnails")
        roots = project.roots()

        pending_rows: list[tuple[int, int, bytes | None, str | None]] = []

        def flush() -> None:
            nonlocal written
            if not pending_rows:
                return
            cache.put_many(pending_rows)
            written += len(pending_rows)
            project.notify(Change("thumbnails.ready", tuple(r[0] for r in pending_rows)))
            pending_rows.clear()

        chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
        n = max(1, workers or default_workers())
        pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="thumbs")
        try:
            window = 4 * n
            pending: list[Future[list[tuple[Image, CachedThumb]]]] = [
                pool.submit(_thumb_chunk, c, roots, size) for c in chunks[:window]
            ]
            nxt = len(pending)
            while pending:
                results = pending.pop(0).result()
                if nxt < len(chunks):
                    pending.append(pool.submit(_thumb_chunk, chunks[nxt], roots, size))
                    nxt += 1
                pending_rows.extend(
                    (im.id, im.mtime_ns, t.data, t.error)  # type: ignore[misc]
                    for im, t in results
                    if not _transient(t)
                )
                if len(pending_rows) >= WRITE_BATCH:
                    flush()
                state.advance(len(results))
                state.check()
        except (Cancelled, KeyboardInterrupt):
            flush()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        flush()
        return written
    finally:
        state.finish()
        if own_cache:
            cache.close()


def ensure_thumbnails(
    project: Project, cache: ThumbnailCache, images: Sequence[Image], size: int = THUMB_SIZE
) -> dict[int, CachedThumb]:
    """Thumbnails (or error markers) for ``images``, making the missing ones here.

    For a browser's worker thread prefetching what is about to be visible: one
    cache query, decodes only for what is missing, one write.
    """
    have = cache.lookup_many({im.id: im.mtime_ns for im in images if im.id is not None})
    missing = [im for im in images if im.id is not None and im.id not in have]
    if missing:
        made = _thumb_chunk(missing, project.roots(), size)
        cache.put_many(
            [(im.id, im.mtime_ns, t.data, t.error) for im, t in made if not _transient(t)]  # type: ignore[misc]
        )
        have.update({im.id: t for im, t in made})  # type: ignore[misc]
    return have


def _thumb_chunk(
    images: Sequence[Image], roots: dict[int, Path], size: int
) -> list[tuple[Image, CachedThumb]]:
    from lightable.store.project import safe_join

    out: list[tuple[Image, CachedThumb]] = []
    for im in images:
        if im.status == ImageStatus.BROKEN:
            out.append((im, CachedThumb(None, im.error or "unreadable image")))
            continue
        root = roots.get(im.root_id)
        if root is None:
            out.append((im, CachedThumb(None, "image root is no longer in the project")))
            continue
        try:
            path = safe_join(root, im.path)
        except Exception as exc:
            out.append((im, CachedThumb(None, str(exc))))
            continue
        out.append((im, thumbnail_or_error(path, size)))
    return out


# Failures that say nothing about the file's content (an unmounted disk, a
# permission fixed later) are not remembered as error markers.
_TRANSIENT = frozenset({"file not found", "permission denied"})


def _transient(t: CachedThumb) -> bool:
    return t.data is None and t.error in _TRANSIENT
