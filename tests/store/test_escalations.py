from __future__ import annotations

import pytest

from lightable.core.errors import ValidationError
from lightable.core.model import Image, Role
from lightable.store.escalations import EscalationRepo
from lightable.store.project import Project
from lightable.store.users import UserRepo


def test_escalation_lifecycle_becomes_guidance(project: Project) -> None:
    root = project.add_root(project.folder / "i")  # type: ignore[operator]
    project.images.insert_many(
        [Image(path="a.jpg", root_id=root), Image(path="b.jpg", root_id=root)]
    )
    a, b = project.images.ordered_ids()
    car = project.labels.ensure("car")
    users = UserRepo(project)
    labeler, lead = users.ensure("ann"), users.ensure("boss", Role.LEAD)
    repo = EscalationRepo(project)
    seen = []
    project.subscribe(lambda c: seen.append(c.kind))
    eid = repo.create(a, "  Is this a car?  ", created_by=labeler.id, label_id=car.id)
    assert repo.list(status="open")[0]["question"] == "Is this a car?"
    repo.reply(eid, "yes, a van counts as a car", author_id=lead.id)
    assert repo.list()[0]["status"] == "answered"
    assert repo.guidance(b, [car.id]) == []  # not guidance until resolved  # type: ignore[list-item]
    repo.resolve(eid, by=lead.id)
    g = repo.guidance(b, [car.id])  # type: ignore[list-item]
    assert [x["answer"] for x in g] == ["yes, a van counts as a car"]
    assert [m["body"] for m in repo.messages(eid)] == [
        "Is this a car?",
        "yes, a van counts as a car",
    ]
    assert "escalations.changed" in seen
    assert project.info()["escalations"]["by_status"] == {"resolved": 1}
    with pytest.raises(ValidationError):
        repo.create(a, "   ")
