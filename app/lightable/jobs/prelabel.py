"""Pre-label images with a model: the job behind Model > Pre-label and ``lightable prelabel``.

Three stages run at once: decode workers prepare the next batches, the main
thread runs the model, and a writer thread turns finished outputs into
predictions (device -> CPU copies, mask RLE) and writes them, one transaction
per batch. Queues between the stages are bounded, so memory stays flat however
many images there are. Each processed image gets an ``image_scores`` row in its
batch's transaction (its uncertainty; also the marker that lets a resumed run
skip it).

``prelabel`` returns a :class:`RunSummary`; a cancelled job returns one with
status ``cancelled`` (resume it with ``resume_run_id``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lightable.core.errors import LightableError
from lightable.core.model import ImageStatus, Prediction
from lightable.jobs.base import Cancelled, JobState
from lightable.ml.mapping import load_mapping
from lightable.ml.registry import ModelSpec
from lightable.ml.tasks import DEFAULT_THRESHOLD
from lightable.ml.uncertainty import DEFAULT_BAND
from lightable.store import schema
from lightable.store.predictions import PredictionRepo, ScoreRow

if TYPE_CHECKING:
    from lightable.ml.loader import Decoded, Item
    from lightable.ml.postprocess import ImageResult
    from lightable.ml.runtime import LoadedModel
    from lightable.store.project import Project

_CHUNK = 256  # image rows fetched per query while streaming the work list


@dataclass(slots=True)
class RunSummary:
    run_id: int
    model: str
    task: str
    device: str
    status: str  # done | cancelled
    images: int  # processed in this call
    predictions: int
    failed: int  # images that could not be decoded
    skipped: int  # already done by an earlier call of this run
    seconds: float
    images_per_s: float
    batch_size: int
    weights_sha256: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prelabel(
    project: Project,
    model_spec: ModelSpec | str | None,
    image_ids: Sequence[int] | None = None,
    state: JobState | None = None,
    device: str = "auto",
    batch_size: int = 4,
    threshold: float | None = None,
    resume_run_id: int | None = None,
    *,
    workers: int | None = None,
    loader: str = "threads",
    top_k: int = 5,
    band: tuple[float, float] = DEFAULT_BAND,
    unmatched: str | None = None,
    limit: int | None = None,
    allow_download: bool | None = None,
    score: bool = True,
    model: LoadedModel | None = None,
    name: str | None = None,
) -> RunSummary:
    """Run ``model_spec`` over ``image_ids`` (None: every present image) and store
    the predictions as a model run.

    ``threshold``: minimum score to store (None: the task's default, see
    ``ml.tasks.DEFAULT_THRESHOLD``; per-class thresholds of the label mapping win).
    ``resume_run_id``: continue that run; images it already did are skipped and
    its model, weights and parameters are reused unless given here.
    ``model``: an already loaded model (the GUI keeps one warm between runs).
    ``score``: compute the data-engine scores (mistakenness) at the end.
    """
    from lightable.ml.devices import choose_device

    state = state or JobState()
    repo = PredictionRepo(project)
    t_start = time.perf_counter()
    prior: dict[str, Any] = {}
    if resume_run_id is not None:
        run = repo.require_run(resume_run_id)
        prior = run.params
        if model_spec is None:
            model_spec = prior.get("spec")
        if threshold is None:
            threshold = prior.get("threshold")
        top_k = int(prior.get("top_k", top_k))
        band = tuple(prior.get("band", band))  # type: ignore[assignment]
        if image_ids is None and prior.get("image_ids") is not None:
            image_ids = list(prior["image_ids"])
        if unmatched is None:
            unmatched = (prior.get("mapping") or {}).get("unmatched")
    if model_spec is None:
        raise LightableError("no model given")
    spec = ModelSpec.parse(model_spec)
    if batch_size < 1:
        raise LightableError(f"batch size must be >= 1, got {batch_size}")
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise LightableError(f"threshold must be within [0, 1], got {threshold}")

    if model is None:
        dev = choose_device(device)
        state.set_message(f"loading {spec.model} on {dev}")

        def dl_progress(done: int, total: int | None) -> None:
            pct = f" {100 * done / total:.0f}%" if total else ""
            state.set_message(f"downloading weights for {spec.model}{pct} ({done >> 20} MiB)")
            state.check()

        from lightable.ml.registry import load_model

        model = load_model(spec, dev, allow_download=allow_download, progress=dl_progress)
    t_loaded = time.perf_counter()
    thr = float(threshold) if threshold is not None else DEFAULT_THRESHOLD[model.task]
    mapping = load_mapping(project, spec.key, model.classes, unmatched)
    resolved = mapping.resolve(model.classes, thr)

    if resume_run_id is not None:
        run_id = resume_run_id
        repo.update_run(run_id, status="running", device=str(model.device))
        done = repo.done_image_ids(run_id)
    else:
        params: dict[str, Any] = {
            "spec": spec.to_dict(),
            "threshold": thr,
            "top_k": top_k,
            "band": list(band),
            "batch_size": batch_size,
            "loader": loader,
            "workers": workers,
            "image_ids": list(image_ids) if image_ids is not None else None,
            "mapping": mapping.to_dict(),
            "classes": model.classes,
            "weights": model.weights_source,
        }
        run_id = repo.create_run(
            name or f"{spec.key} {datetime.now():%Y-%m-%d %H:%M}",
            model.name,
            str(model.task),
            model.weights_sha256,
            params,
            str(model.device),
        )
        done = set()

    todo = _work_list(project, image_ids, done, limit)
    skipped = len(done)
    del done
    state.set_total(len(todo))
    state.set_message(f"{model.name} on {model.device}: {len(todo)} images")

    writer = _Writer(project, repo, run_id, model, resolved, top_k, band, state)
    stats = _Stats()
    status = "done"
    try:
        _run_batches(project, model, todo, batch_size, workers, loader, writer, state, stats)
    except Cancelled:
        status = "cancelled"
    except BaseException as exc:
        writer.close(wait=True)
        if isinstance(exc, KeyboardInterrupt):  # Ctrl+C: resumable like a cancel
            repo.update_run(run_id, status="cancelled")
        else:
            repo.update_run(run_id, status="failed", timings={"error": str(exc)[:1000]})
        raise
    writer.close(wait=True)
    if writer.error is not None:
        repo.update_run(run_id, status="failed", timings={"error": str(writer.error)[:1000]})
        raise writer.error

    elapsed = time.perf_counter() - t_start
    run_time = time.perf_counter() - t_loaded
    rate = writer.images / run_time if run_time > 0 else 0.0
    timings = {
        "load_model_s": round(t_loaded - t_start, 3),
        "run_s": round(run_time, 3),
        "wait_decode_s": round(stats.wait_decode, 3),
        "forward_s": round(stats.forward, 3),
        "write_s": round(writer.busy, 3),
        "images_per_s": round(rate, 3),
        "batch_size_final": stats.batch_size or batch_size,
        "oom_shrinks": stats.shrinks,
    }
    repo.update_run(run_id, status=status, timings=timings)
    if score and status == "done" and writer.images:
        from lightable.jobs.scoring import score_run

        state.set_message("scoring: model versus labels")
        score_run(project, run_id)
    state.finish()
    return RunSummary(
        run_id=run_id,
        model=model.name,
        task=str(model.task),
        device=str(model.device),
        status=status,
        images=writer.images,
        predictions=writer.predictions,
        failed=writer.failed,
        skipped=skipped,
        seconds=round(elapsed, 3),
        images_per_s=round(rate, 3),
        batch_size=stats.batch_size or batch_size,
        weights_sha256=model.weights_sha256,
        timings=timings,
    )


def _work_list(
    project: Project, image_ids: Sequence[int] | None, done: set[int], limit: int | None
) -> list[int]:
    """Image ids to process, in id order (stable across resumes)."""
    t = schema.images
    if image_ids is None:
        with project.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.id)
                .where(t.c.missing.is_(False), t.c.status != str(ImageStatus.BROKEN))
                .order_by(t.c.id)
            )
            ids = [r[0] for r in rows if r[0] not in done]
    else:
        seen: set[int] = set()
        ids = []
        for i in image_ids:
            if i not in done and i not in seen:
                seen.add(i)
                ids.append(int(i))
    if limit is not None:
        ids = ids[: max(0, limit)]
    return ids


def _items(project: Project, ids: list[int]) -> Iterator[Item]:
    """Image ids -> decode items, fetching rows a chunk at a time."""
    from lightable.ml.loader import Item

    roots = project.roots()
    from lightable.store.project import safe_join

    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = project.images.get_many(chunk)
        for image_id in chunk:
            im = rows.get(image_id)
            if im is None:
                yield Item(image_id, f"<image {image_id} not in project>")
                continue
            root = roots.get(im.root_id)
            try:
                path = str(safe_join(root, im.path)) if root is not None else f"<root {im.root_id}>"
            except LightableError as exc:
                path = f"<{exc}>"
            yield Item(image_id, path, (im.height, im.width))


@dataclass(slots=True)
class _Stats:
    wait_decode: float = 0.0
    forward: float = 0.0
    batch_size: int = 0
    shrinks: int = 0


def _run_batches(
    project: Project,
    model: LoadedModel,
    todo: list[int],
    batch_size: int,
    workers: int | None,
    loader: str,
    writer: _Writer,
    state: JobState,
    stats: _Stats,
) -> None:
    import torch

    from lightable.ml.devices import BatchRunner
    from lightable.ml.loader import batches, to_device
    from lightable.ml.postprocess import ImageMeta

    pin = model.device.type == "cuda"

    def on_shrink(n: int) -> None:
        state.set_message(f"{model.device} out of memory: batch size now {n}")

    runner = BatchRunner(model.infer, batch_size, model.device, on_shrink)
    it = batches(_items(project, todo), model.input, batch_size, workers, loader, pin)
    try:
        while True:
            state.check()
            t0 = time.perf_counter()
            try:
                batch: list[Decoded] = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            stats.wait_decode += t1 - t0
            good = [d for d in batch if d.array is not None]
            bad = [(d.image_id, d.error or "cannot decode") for d in batch if d.array is None]
            outputs: list[Any] = []
            if good:
                with torch.inference_mode():
                    outputs = runner(to_device(good, model.device))
            stats.forward += time.perf_counter() - t1
            metas = [ImageMeta(d.image_id, d.input_hw, d.orig_hw) for d in good]
            del batch, good
            writer.put(outputs, metas, bad)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
        stats.batch_size = runner.batch_size
        stats.shrinks = runner.shrinks


class _Writer:
    """Postprocesses and writes batches on its own thread, in order."""

    def __init__(
        self,
        project: Project,
        repo: PredictionRepo,
        run_id: int,
        model: LoadedModel,
        resolved: Any,
        top_k: int,
        band: tuple[float, float],
        state: JobState,
    ) -> None:
        self.project = project
        self.repo = repo
        self.run_id = run_id
        self.model = model
        self.resolved = resolved
        self.top_k = top_k
        self.band = band
        self.state = state
        self.images = 0
        self.predictions = 0
        self.failed = 0
        self.busy = 0.0
        self.error: BaseException | None = None
        self._created: dict[int, int] = {}
        # Two batches in flight: enough to overlap, little device memory held.
        self._q: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._loop, name="prelabel-writer", daemon=True)
        self._thread.start()

    def put(self, outputs: list[Any], metas: list[Any], bad: list[tuple[int, str]]) -> None:
        if self.error is not None:
            raise self.error
        self._q.put((outputs, metas, bad))

    def close(self, wait: bool = True) -> None:
        self._q.put(None)
        if wait:
            self._thread.join()

    def _loop(self) -> None:
        from lightable.ml.postprocess import postprocess

        while True:
            job = self._q.get()
            if job is None:
                return
            if self.error is not None:
                continue  # drain after a failure
            outputs, metas, bad = job
            t0 = time.perf_counter()
            try:
                results = (
                    postprocess(
                        self.model.task,
                        outputs,
                        metas,
                        self.resolved,
                        self.top_k,
                        self.band,
                        self.model.keypoint_names,
                    )
                    if outputs
                    else []
                )
                del outputs, job
                self._write(results, bad)
            except BaseException as exc:  # surfaced to the main thread by put()/close()
                self.error = exc
            self.busy += time.perf_counter() - t0

    def _write(self, results: list[ImageResult], bad: list[tuple[int, str]]) -> None:
        preds: list[tuple[Prediction, Any]] = []
        scores: list[ScoreRow] = []
        classes = self.model.classes
        for r in results:
            for d in r.drafts:
                name = (
                    classes[d.class_index]
                    if 0 <= d.class_index < len(classes)
                    else str(d.class_index)
                )
                label_id = self._label_for(d.class_index, name)
                preds.append(
                    (
                        Prediction(
                            run_id=self.run_id,
                            image_id=r.image_id,
                            geometry=d.geometry,
                            score=d.score,
                            label_id=label_id,
                            class_name=name,
                            attributes=d.attributes,
                        ),
                        d.box,
                    )
                )
            details = {"task": str(self.model.task), "predictions": len(r.drafts), **r.details}
            scores.append(ScoreRow(r.image_id, r.uncertainty, None, details))
        for image_id, err in bad:
            scores.append(ScoreRow(image_id, None, None, {"error": err}))
        self.repo.write_batch(self.run_id, preds, scores)
        self.images += len(results)
        self.failed += len(bad)
        self.predictions += len(preds)
        self.state.advance(len(results) + len(bad))

    def _label_for(self, index: int, name: str) -> int | None:
        r = self.resolved
        label_id = r.label_ids[index] if 0 <= index < len(r.label_ids) else None
        if label_id is None and r.create_missing:
            if index not in self._created:
                self._created[index] = self.project.labels.ensure(name).id  # type: ignore[assignment]
            label_id = self._created[index]
        return label_id
