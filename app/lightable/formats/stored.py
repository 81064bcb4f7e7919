"""Polygons read back from the store for an export, parsed only when someone asks.

A million-polygon COCO export would otherwise parse every stored coordinate from
JSON text and print it back to JSON text (float parsing and ``repr`` are most of
its time). ``StoredPolygon`` keeps the stored rings' JSON; writers that emit JSON
copy it as it is (``rings_json``), everyone else reads ``.rings`` as usual (parsed
on first access). Equal values: the store wrote them with ``json.dumps`` from
validated polygons.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lightable.core.geometry import Polygon

PREFIX = '{"type": "polygon", "rings": ['
SUFFIX = "]}"


class StoredPolygon(Polygon):
    __slots__ = ("_parsed", "rings_json")

    @property  # type: ignore[override]
    def rings(self) -> tuple[tuple[float, ...], ...]:
        parsed = self._parsed
        if parsed is None:
            parsed = tuple(tuple(r) for r in json.loads(self.rings_json))
            object.__setattr__(self, "_parsed", parsed)
        return parsed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polygon) and self.rings == other.rings

    def __hash__(self) -> int:
        return hash(self.rings)

    def __repr__(self) -> str:
        return f"StoredPolygon({self.rings_json[:60]}...)"


_SEGMENTATION = re.compile(r'"segmentation"\s*:\s*(\[[\s0-9.,eE+\-\[\]]*\])')
_NO_WS = str.maketrans("", "", " \t\n\r")


def with_source_text(rings: tuple[tuple[float, ...], ...], source: str) -> Polygon:
    """A polygon that also keeps the JSON text its rings were parsed from, so that storing it
    does not print a million polygons' floats again (``repr`` is most of a big import's
    write time). ``source`` is the JSON text of the COCO annotation the rings came from.

    The text is kept only when ``"segmentation"`` occurs once in it (a duplicate key, or the
    same key nested in ``attributes``, could otherwise point at other numbers): then the
    match is that key's value, which held only numbers, so it parses to exactly ``rings``.
    """
    p = object.__new__(StoredPolygon)
    object.__setattr__(p, "_parsed", rings)
    raw = ""
    if source.count('"segmentation"') == 1:
        m = _SEGMENTATION.search(source)
        if m is not None:
            raw = m.group(1).translate(_NO_WS)
    if not (raw.startswith("[[") and raw.count("[") == len(rings) + 1):
        raw = json.dumps(rings)
    object.__setattr__(p, "rings_json", raw)
    return p


def from_text(text: Any) -> StoredPolygon | None:
    """A StoredPolygon for the stored geometry JSON of a polygon, else None."""
    if type(text) is not str or not text.startswith(PREFIX) or not text.endswith(SUFFIX):
        return None
    p = object.__new__(StoredPolygon)
    object.__setattr__(p, "rings_json", text[len(PREFIX) - 1 : -1])
    object.__setattr__(p, "_parsed", None)
    return p
