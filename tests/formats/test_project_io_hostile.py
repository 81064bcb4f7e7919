"""``formats.safe_io``: the shared rules for reading outside files as hostile input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lightable.core.errors import BadInputError
from lightable.formats import safe_io


def test_json_refuses_nan_and_names_position(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text('{"a": [1, NaN]}')
    with pytest.raises(BadInputError, match="NaN is not a JSON number"):
        safe_io.load_json(f)
    assert safe_io.load_json(f, allow_nan=True)["a"][0] == 1  # readers that report per item
    f.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')  # a BOM is fine
    assert safe_io.load_json(f) == {"a": 1}
    f.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(BadInputError, match="not UTF-8"):
        safe_io.load_json(f)
    f.write_text("[" * 100_000)
    with pytest.raises(BadInputError, match="malformed JSON"):
        safe_io.load_json(f)
    f.write_text("   ")
    with pytest.raises(BadInputError, match="empty file"):
        safe_io.load_json(f)


def test_xml_refuses_doctype_even_in_utf16(tmp_path: Path) -> None:
    f = tmp_path / "a.xml"
    bomb = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>'
    f.write_text(bomb)
    with pytest.raises(BadInputError, match="DOCTYPE or ENTITY"):
        safe_io.load_xml(f)
    f.write_bytes(bomb.replace('"1.0"?', '"1.0" encoding="UTF-16"?').encode("utf-16"))
    with pytest.raises(BadInputError, match="DOCTYPE or ENTITY"):
        safe_io.load_xml(f)
    f.write_text("<a><b>1</b></a>")
    assert safe_io.load_xml(f).find("b").text == "1"  # type: ignore[union-attr]


def test_yaml_safe_loader_without_aliases(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("a: &x [1, 2]\nb: [*x, *x]\n")
    with pytest.raises(BadInputError, match="aliases are refused"):
        safe_io.load_yaml(f)
    f.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(BadInputError, match="could not determine a constructor"):
        safe_io.load_yaml(f)
    f.write_text("names: {0: a, 1: b}\n")
    assert safe_io.load_yaml(f) == {"names": {0: "a", 1: "b"}}


@pytest.mark.parametrize(
    ("rel", "result"),
    [
        ("a/b.jpg", "a/b.jpg"),
        ("./a//b.jpg", "a/b.jpg"),
        ("a\\b.jpg", "a/b.jpg"),
        ("a/../b.jpg", "b.jpg"),
        ("../b.jpg", "escapes the import root"),
        ("a/../../b.jpg", "escapes the import root"),
        ("/etc/passwd", "absolute path"),
        ("\\\\server\\share\\x.jpg", "absolute path"),
        ("C:/x.jpg", "absolute path"),
        ("file:///etc/passwd", "is a URL"),
        ("a\x00b.jpg", "NUL byte"),
        ("", "empty file name"),
        (".", "names no file"),
    ],
)
def test_safe_relpath(rel: str, result: str) -> None:
    if "/" in result or result.endswith(".jpg"):
        assert safe_io.safe_relpath(rel, "f.json") == result
    else:
        with pytest.raises(BadInputError, match=result):
            safe_io.safe_relpath(rel, "f.json", "id 3")


def test_numbers() -> None:
    assert safe_io.finite_list([1, 2.5], "f") == [1, 2.5]
    assert safe_io.finite_list([1e308, 1e308], "f") == [1e308, 1e308]  # sum overflows, values fine
    for bad in ([1, float("nan")], [float("inf"), 1], ["1", "x"], [None, 1]):
        with pytest.raises(BadInputError):
            safe_io.finite_list(bad, "f", "id 1")
    assert safe_io.finite_list(["1", "2"], "f") == [1.0, 2.0]
    with pytest.raises(BadInputError, match="must have 4 numbers, got 3"):
        safe_io.finite_list([1, 2, 3], "f", length=4)
    assert safe_io.as_int("3", "f", None, "id") == 3 and safe_io.as_int(3.0, "f", None, "id") == 3
    with pytest.raises(BadInputError, match="not an integer"):
        safe_io.as_int(True, "f", None, "id")


def test_walk_files_does_not_follow_link_loops(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.jpg").write_bytes(b"y")
    assert safe_io.walk_files(tmp_path, (".jpg",)) == ["a/x.jpg"]
    with pytest.raises(BadInputError, match="more than 0 files"):
        safe_io.walk_files(tmp_path, max_files=0)


def test_size_limits(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("x" * 2000)
    with (
        safe_io.limits(text_bytes=1000),
        pytest.raises(BadInputError, match="over the 1000 bytes limit"),
    ):
        safe_io.read_text(f)
    assert len(safe_io.read_text(f)) == 2000
    with pytest.raises(BadInputError, match="not found"):
        safe_io.read_text(tmp_path / "nope")
