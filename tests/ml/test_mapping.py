from __future__ import annotations

import pytest

from lightable.core.errors import ValidationError
from lightable.core.model import Label
from lightable.ml.mapping import LabelMapping, load_mapping, save_mapping

CLASSES = ["__background__", "Person", "traffic light", "N/A", "dog"]


def test_auto_matches_names_case_insensitively(project) -> None:
    person = project.labels.add(Label("person"))
    light = project.labels.add(Label("Traffic_Light"))
    m = LabelMapping.auto("det", CLASSES, project.labels.all())
    assert m.rules["Person"].label_id == person.id
    assert m.rules["traffic light"].label_id == light.id
    assert m.rules["__background__"].ignore and m.rules["N/A"].ignore
    assert m.rules["dog"].label_id is None
    # A project with labels ignores unmatched classes by default.
    r = m.resolve(CLASSES, 0.5)
    assert r.keep == [False, True, True, False, False]
    assert r.label_ids[1] == person.id


def test_fresh_project_keeps_model_classes(project) -> None:
    r = LabelMapping.auto("det", CLASSES, []).resolve(CLASSES, 0.3)
    assert r.keep == [False, True, True, False, True]
    assert r.accepts(4, 0.3) and not r.accepts(4, 0.29) and not r.accepts(99, 1.0)


def test_edit_save_reload_reconcile(project) -> None:
    dog = project.labels.add(Label("hound"))
    cat = project.labels.add(Label("cat"))
    m = load_mapping(project, "det", CLASSES)
    m.set_label("dog", dog.id)
    m.set_threshold("dog", 0.8)
    m.set_label("Person", cat.id)
    m.set_ignore("traffic light")
    save_mapping(project, m)
    again = load_mapping(project, "det", CLASSES)
    assert again.rules["dog"].label_id == dog.id and again.rules["dog"].threshold == 0.8
    assert again.rules["traffic light"].ignore
    r = again.resolve(CLASSES, 0.3)
    assert r.thresholds[4] == 0.8 and r.thresholds[1] == 0.3
    assert r.min_threshold == 0.3
    # The label is deleted: the class falls back to unmapped; new classes get rules.
    project.labels.delete(cat.id)
    later = load_mapping(project, "det", [*CLASSES, "cat"])
    assert later.rules["Person"].label_id is None
    assert "cat" in later.rules


def test_bad_values_are_refused() -> None:
    m = LabelMapping.auto("x", ["a"], [])
    with pytest.raises(ValidationError, match="outside"):
        m.set_threshold("a", 1.5)
    with pytest.raises(ValidationError, match="no class"):
        m.set_label("zzz", 1)
    with pytest.raises(ValidationError):
        LabelMapping("x", {}, "sometimes")


def test_round_trip_dict() -> None:
    m = LabelMapping.auto("x", ["a", "b"], [], unmatched="create")
    m.set_threshold("b", 0.25)
    assert LabelMapping.from_dict(m.to_dict()).to_dict() == m.to_dict()
    assert m.resolve(["a", "b"], 0.5).create_missing
