"""Annotation geometry: box, polygon, mask (COCO RLE), keypoints, tag.

Values are immutable and validated at construction. They serialise to plain
JSON-able dicts (``to_dict``/``geometry_from_dict``) so the store, formats and
commands share one representation. Coordinates are image pixels with the
origin at the top-left corner of the top-left pixel (COCO convention).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias

from lightable.core.errors import ValidationError


class GeometryKind(StrEnum):
    BOX = "box"
    POLYGON = "polygon"
    MASK = "mask"
    KEYPOINTS = "keypoints"
    TAG = "tag"


def _finite(values: Iterable[float], what: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    for v in out:
        if not math.isfinite(v):
            raise ValidationError(f"{what}: coordinate {v!r} is not a finite number")
    return out


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box as x, y (top-left), width, height in pixels."""

    x: float
    y: float
    w: float
    h: float
    kind: ClassVar[GeometryKind] = GeometryKind.BOX

    def __post_init__(self) -> None:
        x, y, w, h = _finite((self.x, self.y, self.w, self.h), "box")
        if w < 0 or h < 0:
            raise ValidationError(f"box: negative size {w} x {h}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "h", h)

    @classmethod
    def from_corners(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        return cls(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    def bbox(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    def area(self) -> float:
        return self.w * self.h

    def translated(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "box", "xywh": [self.x, self.y, self.w, self.h]}


@dataclass(frozen=True, slots=True)
class Polygon:
    """One or more closed rings; each ring is a flat [x0, y0, x1, y1, ...] tuple.

    Several rings model COCO's multi-part polygons (one object split by an
    occluder), not holes.
    """

    rings: tuple[tuple[float, ...], ...]
    kind: ClassVar[GeometryKind] = GeometryKind.POLYGON

    def __post_init__(self) -> None:
        rings = tuple(_finite(r, "polygon") for r in self.rings)
        if not rings:
            raise ValidationError("polygon: no rings")
        for r in rings:
            if len(r) % 2:
                raise ValidationError("polygon: odd number of coordinates")
            if len(r) < 6:
                raise ValidationError(f"polygon: a ring needs at least 3 points, got {len(r) // 2}")
        object.__setattr__(self, "rings", rings)

    @classmethod
    def from_points(cls, points: Sequence[tuple[float, float]]) -> Polygon:
        return cls((tuple(c for p in points for c in p),))

    def points(self, ring: int = 0) -> list[tuple[float, float]]:
        r = self.rings[ring]
        return list(zip(r[0::2], r[1::2], strict=True))

    def bbox(self) -> tuple[float, float, float, float]:
        xs = [c for r in self.rings for c in r[0::2]]
        ys = [c for r in self.rings for c in r[1::2]]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def area(self) -> float:
        total = 0.0
        for r in self.rings:
            xs, ys = r[0::2], r[1::2]
            n = len(xs)
            s = sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))
            total += abs(s) / 2.0
        return total

    def translated(self, dx: float, dy: float) -> Polygon:
        return Polygon(
            tuple(
                tuple(c + (dx if i % 2 == 0 else dy) for i, c in enumerate(r)) for r in self.rings
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {"type": "polygon", "rings": [list(r) for r in self.rings]}


@dataclass(frozen=True, slots=True)
class Mask:
    """A binary mask as COCO RLE: ``size`` is [height, width], ``counts`` the
    compressed RLE string (pycocotools' format, column-major).

    Kept as the compressed string so the domain stays free of pycocotools; the
    imaging layer encodes and decodes pixels.
    """

    height: int
    width: int
    counts: str
    kind: ClassVar[GeometryKind] = GeometryKind.MASK
    _bbox: tuple[float, float, float, float] | None = field(default=None, compare=False)
    _area: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            raise ValidationError(f"mask: bad size {self.height} x {self.width}")
        if not isinstance(self.counts, str):
            raise ValidationError("mask: counts must be a compressed RLE string")

    def bbox(self) -> tuple[float, float, float, float]:
        if self._bbox is None:
            raise ValidationError("mask: bbox unknown (create masks through imaging.masks)")
        return self._bbox

    def area(self) -> float:
        return float(self._area) if self._area is not None else 0.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": "mask",
            "size": [self.height, self.width],
            "counts": self.counts,
        }
        if self._bbox is not None:
            d["bbox"] = list(self._bbox)
        if self._area is not None:
            d["area"] = self._area
        return d


class Visibility(int):
    """COCO keypoint visibility: 0 not labeled, 1 labeled but hidden, 2 visible."""


@dataclass(frozen=True, slots=True)
class Keypoints:
    """Keypoints as (x, y, v) triplets in the order of the label's skeleton."""

    points: tuple[tuple[float, float, int], ...]
    kind: ClassVar[GeometryKind] = GeometryKind.KEYPOINTS

    def __post_init__(self) -> None:
        pts = []
        for p in self.points:
            if len(p) != 3:
                raise ValidationError("keypoints: each point needs x, y, visibility")
            x, y = _finite(p[:2], "keypoints")
            v = int(p[2])
            if v not in (0, 1, 2):
                raise ValidationError(f"keypoints: visibility must be 0, 1 or 2, got {p[2]!r}")
            pts.append((x, y, v))
        object.__setattr__(self, "points", tuple(pts))

    @classmethod
    def from_flat(cls, flat: Sequence[float]) -> Keypoints:
        if len(flat) % 3:
            raise ValidationError("keypoints: length is not a multiple of 3")
        return cls(tuple((flat[i], flat[i + 1], int(flat[i + 2])) for i in range(0, len(flat), 3)))

    def flat(self) -> list[float]:
        return [c for p in self.points for c in p]

    def labeled(self) -> list[tuple[float, float, int]]:
        return [p for p in self.points if p[2] > 0]

    def bbox(self) -> tuple[float, float, float, float]:
        pts = self.labeled()
        if not pts:
            return (0.0, 0.0, 0.0, 0.0)
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def area(self) -> float:
        return 0.0

    def translated(self, dx: float, dy: float) -> Keypoints:
        return Keypoints(tuple((x + dx, y + dy, v) if v else (x, y, v) for x, y, v in self.points))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "keypoints", "points": [list(p) for p in self.points]}


@dataclass(frozen=True, slots=True)
class Tag:
    """An image-level label (classification); has no extent."""

    kind: ClassVar[GeometryKind] = GeometryKind.TAG

    def bbox(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, 0.0, 0.0)

    def area(self) -> float:
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tag"}


Geometry: TypeAlias = Box | Polygon | Mask | Keypoints | Tag


def _trusted_polygon(rings: list[list[float]]) -> Polygon:
    # Rows the store wrote itself were validated on the way in; re-checking every
    # coordinate made loading 10,000 polygons take twice as long.
    poly = object.__new__(Polygon)
    object.__setattr__(poly, "rings", tuple(tuple(r) for r in rings))
    return poly


def geometry_from_dict(d: dict[str, Any], trusted: bool = False) -> Geometry:
    """Inverse of ``to_dict``; raises ValidationError on anything malformed.

    ``trusted`` skips per-coordinate validation of polygons, for rows read back
    from the project's own database.
    """
    if trusted and isinstance(d, dict) and d.get("type") == "polygon":
        return _trusted_polygon(d["rings"])
    if not isinstance(d, dict):
        raise ValidationError(f"geometry: expected an object, got {type(d).__name__}")
    t = d.get("type")
    try:
        if t == "box":
            x, y, w, h = d["xywh"]
            return Box(x, y, w, h)
        if t == "polygon":
            return Polygon(tuple(tuple(r) for r in d["rings"]))
        if t == "mask":
            h, w = d["size"]
            bb = d.get("bbox")
            return Mask(
                int(h),
                int(w),
                d["counts"],
                _bbox=tuple(float(v) for v in bb) if bb is not None else None,  # type: ignore[arg-type]
                _area=float(d["area"]) if d.get("area") is not None else None,
            )
        if t == "keypoints":
            return Keypoints(tuple(tuple(p) for p in d["points"]))  # type: ignore[misc]
        if t == "tag":
            return Tag()
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"geometry {t!r}: malformed ({exc})") from exc
    raise ValidationError(f"geometry: unknown type {t!r}")
