from __future__ import annotations

import numpy as np
import pytest

from lightable.core.errors import ValidationError
from lightable.core.geometry import Polygon, geometry_from_dict
from lightable.imaging import masks


def test_encode_decode_roundtrip() -> None:
    a = np.zeros((40, 60), np.uint8)
    a[5:15, 10:30] = 1
    m = masks.encode(a)
    assert m.area() == 200
    assert m.bbox() == (10.0, 5.0, 20.0, 10.0)
    assert np.array_equal(masks.decode(m), a)
    assert geometry_from_dict(m.to_dict()) == m


def test_uncompressed_rle_and_bad_counts() -> None:
    m = masks.from_coco({"size": [2, 3], "counts": [1, 2, 3]})
    assert m.area() == 2
    with pytest.raises(ValidationError, match="sum"):
        masks.from_coco({"size": [2, 3], "counts": [1, 2]})


def test_polygon_raster_and_iou() -> None:
    p = Polygon.from_points([(0, 0), (10, 0), (10, 10), (0, 10)])
    m = masks.from_polygon(p, 20, 20)
    assert 90 <= m.area() <= 121
    assert masks.iou([m], [m])[0, 0] == pytest.approx(1.0)
