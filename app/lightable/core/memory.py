"""An in-memory ``EditTarget``: the same contract as the store's editor, no database.

For tests of tools, views and commands that need no persistence, and as the
reference implementation of the primitives. Masks need a codec (encode an
array to a ``Mask``, decode back), e.g. ``lightable.imaging.masks``'s
``encode``/``decode``; core itself stays free of pycocotools.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from lightable.core.commands import EditTarget
from lightable.core.errors import ValidationError
from lightable.core.geometry import Mask
from lightable.core.model import Annotation, Image, ImageStatus, Label

Encode = Callable[[np.ndarray], Mask]
Decode = Callable[[Mask], np.ndarray]


class MemoryTarget(EditTarget):
    """Images, labels and annotations in dicts; transactions roll back on error."""

    def __init__(
        self,
        images: Iterable[Image] = (),
        labels: Iterable[Label] = (),
        annotations: Iterable[Annotation] = (),
        encode: Encode | None = None,
        decode: Decode | None = None,
    ) -> None:
        self.images: dict[int, Image] = {im.id: im for im in images if im.id is not None}
        self.labels: dict[int, Label] = {lb.id: lb for lb in labels if lb.id is not None}
        self.annotations: dict[int, Annotation] = {a.id: a for a in annotations if a.id is not None}
        self._encode = encode
        self._decode = decode
        self._next = {"ann": max(self.annotations, default=0), "label": max(self.labels, default=0)}
        self._depth = 0
        self.commits = 0  # how many outermost transactions committed (tests count them)

    @contextmanager
    def transaction(self, label: str = "", via: str = "do") -> Iterator[None]:
        if self._depth:
            yield
            return
        saved = copy.deepcopy((self.images, self.labels, self.annotations, self._next))
        self._depth += 1
        try:
            yield
        except BaseException:
            self.images, self.labels, self.annotations, self._next = saved
            raise
        finally:
            self._depth -= 1
        self.commits += 1

    # -- annotations ----------------------------------------------------------------
    def get_annotation(self, ann_id: int) -> Annotation:
        a = self.annotations.get(ann_id)
        if a is None:
            raise ValidationError(f"annotation {ann_id} no longer exists")
        return dataclasses.replace(a, attributes=copy.deepcopy(a.attributes))

    def insert_annotation(self, a: Annotation) -> Annotation:
        if a.image_id not in self.images:
            raise ValidationError(f"image {a.image_id} does not exist")
        if a.label_id not in self.labels:
            raise ValidationError(f"label {a.label_id} does not exist")
        if a.id is not None:
            if a.id in self.annotations:
                raise ValidationError(f"annotation {a.id} already exists")
            a.version += 1
        else:
            self._next["ann"] += 1
            a.id = self._next["ann"]
        self._next["ann"] = max(self._next["ann"], a.id)
        self.annotations[a.id] = dataclasses.replace(a)
        return a

    def delete_annotation(self, ann_id: int) -> Annotation:
        old = self.get_annotation(ann_id)
        del self.annotations[ann_id]
        return old

    def update_annotation(self, a: Annotation) -> Annotation:
        assert a.id is not None
        old = self.get_annotation(a.id)
        if a.label_id not in self.labels:
            raise ValidationError(f"label {a.label_id} does not exist")
        a.version = old.version + 1
        self.annotations[a.id] = dataclasses.replace(a)
        return old

    def get_annotations(self, ids: Sequence[int]) -> list[Annotation]:
        return [self.get_annotation(i) for i in ids]

    def insert_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]:
        return [self.insert_annotation(a) for a in anns]

    def delete_annotations(self, ids: Sequence[int]) -> list[Annotation]:
        return [self.delete_annotation(i) for i in ids]

    def update_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]:
        return [self.update_annotation(a) for a in anns]

    def z_order(self, image_id: int) -> list[tuple[int, int]]:
        return sorted(
            ((a.id, a.z) for a in self.annotations.values() if a.image_id == image_id),  # type: ignore[misc]
            key=lambda t: (t[1], t[0]),
        )

    # -- labels ---------------------------------------------------------------------
    def get_label(self, label_id: int) -> Label:
        lb = self.labels.get(label_id)
        if lb is None:
            raise ValidationError(f"label {label_id} no longer exists")
        return copy.deepcopy(lb)

    def _check_name(self, label: Label) -> None:
        if any(lb.name == label.name and lb.id != label.id for lb in self.labels.values()):
            raise ValidationError(f"label {label.name!r} already exists")

    def insert_label(self, label: Label) -> Label:
        self._check_name(label)
        if label.id is not None:
            if label.id in self.labels:
                raise ValidationError(f"label {label.id} already exists")
        else:
            self._next["label"] += 1
            label.id = self._next["label"]
        self._next["label"] = max(self._next["label"], label.id)
        if not label.position:
            label.position = max((lb.position for lb in self.labels.values()), default=0) + 1
        self.labels[label.id] = copy.deepcopy(label)
        return label

    def update_label(self, label: Label) -> Label:
        assert label.id is not None
        old = self.get_label(label.id)
        self._check_name(label)
        self.labels[label.id] = copy.deepcopy(label)
        return old

    def delete_label(self, label_id: int) -> Label:
        old = self.get_label(label_id)
        if any(a.label_id == label_id for a in self.annotations.values()):
            raise ValidationError(f"label {old.name!r} is used by annotations")
        del self.labels[label_id]
        return old

    def label_children(self, label_id: int) -> list[int]:
        return sorted(i for i, lb in self.labels.items() if lb.parent_id == label_id)

    # -- images ---------------------------------------------------------------------
    def set_image_status(self, image_id: int, status: ImageStatus) -> ImageStatus:
        im = self.images.get(image_id)
        if im is None:
            raise ValidationError(f"image {image_id} no longer exists")
        old = im.status
        im.status = ImageStatus(status)
        return ImageStatus(old)

    # -- masks ----------------------------------------------------------------------
    def _codec(self) -> tuple[Encode, Decode]:
        if self._encode is None or self._decode is None:
            raise ValidationError("this in-memory target was made without a mask codec")
        return self._encode, self._decode

    def get_mask_array(self, ann_id: int) -> np.ndarray:
        g = self.get_annotation(ann_id).geometry
        if not isinstance(g, Mask):
            raise ValidationError(f"annotation {ann_id} is not a mask")
        arr = self._codec()[1](g)
        arr.flags.writeable = False
        return arr

    def put_mask_patch(self, ann_id: int, x0: int, y0: int, patch: np.ndarray) -> np.ndarray:
        encode, decode = self._codec()
        a = self.get_annotation(ann_id)
        if not isinstance(a.geometry, Mask):
            raise ValidationError(f"annotation {ann_id} is not a mask")
        arr = np.array(decode(a.geometry), dtype=np.uint8)
        h, w = patch.shape
        if x0 < 0 or y0 < 0 or y0 + h > arr.shape[0] or x0 + w > arr.shape[1]:
            raise ValidationError(f"annotation {ann_id}: patch outside the mask")
        previous = arr[y0 : y0 + h, x0 : x0 + w].copy()
        arr[y0 : y0 + h, x0 : x0 + w] = patch
        self.update_annotation(dataclasses.replace(a, geometry=encode(arr)))
        return previous

    def state(self) -> dict[str, Any]:
        """Everything but versions, for exact before/after comparisons in tests."""

        def ann(a: Annotation) -> dict[str, Any]:
            d = dataclasses.asdict(a)
            d.pop("version")
            d["geometry"] = a.geometry.to_dict()
            return d

        return {
            "annotations": {i: ann(a) for i, a in self.annotations.items()},
            "labels": {i: dataclasses.asdict(lb) for i, lb in self.labels.items()},
            "status": {i: im.status for i, im in self.images.items()},
        }
