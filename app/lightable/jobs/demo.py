"""The offline demo project: generated street-like scenes with labels of every kind.

Everything is drawn here with Pillow and numpy from a fixed seed, so the demo is
identical on every machine and needs no download. The annotations are the
shapes that were drawn, so they line up with the pixels exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter

from lightable.core.geometry import Box, Geometry, Keypoints, Polygon, Tag
from lightable.core.model import Annotation, ImageStatus, Label, LabelKind, Role, Skeleton, Source
from lightable.imaging import masks
from lightable.jobs.base import JobState
from lightable.store import schema
from lightable.store.escalations import EscalationRepo
from lightable.store.project import Change, Project
from lightable.store.users import UserRepo

W, H = 640, 480
PERSON_POINTS = ["head", "neck", "left_hand", "right_hand", "hip", "left_foot", "right_foot"]
PERSON_EDGES = [(0, 1), (1, 2), (1, 3), (1, 4), (4, 5), (4, 6)]

LABELS = [
    Label(
        "car",
        "#4e79a7",
        LabelKind.BOX,
        shortcut="1",
        attributes={
            "occluded": {"type": "bool", "default": False},
            "colour": {"type": "enum", "values": ["red", "blue", "white", "black", "other"]},
        },
    ),
    Label("sign", "#f28e2b", LabelKind.POLYGON, shortcut="2"),
    Label("puddle", "#76b7b2", LabelKind.MASK, shortcut="3"),
    Label(
        "person",
        "#e15759",
        LabelKind.KEYPOINTS,
        shortcut="4",
        skeleton=Skeleton(PERSON_POINTS, PERSON_EDGES),
    ),
    Label("tree", "#59a14f", LabelKind.POLYGON, shortcut="5"),
    Label("day", "#edc948", LabelKind.TAG, shortcut="6"),
    Label("night", "#b07aa1", LabelKind.TAG, shortcut="7"),
]

CAR_COLOURS = {
    "red": (200, 40, 40),
    "blue": (40, 80, 200),
    "white": (230, 230, 230),
    "black": (30, 30, 35),
    "other": (120, 160, 60),
}


@dataclass
class _Drawn:
    label: str
    geometry: Geometry
    attributes: dict[str, object]


def _scene(rng: random.Random, night: bool) -> tuple[PILImage.Image, list[_Drawn]]:
    sky = (20, 24, 48) if night else (120 + rng.randint(0, 60), 170, 225)
    ground = (35, 35, 40) if night else (95, 95, 100)
    horizon = rng.randint(180, 260)
    img = PILImage.new("RGB", (W, H), sky)
    d = ImageDraw.Draw(img)
    d.rectangle([0, horizon, W, H], fill=ground)
    drawn: list[_Drawn] = []
    # trees along the horizon (polygons)
    for _ in range(rng.randint(0, 3)):
        cx, base, hgt, half = (
            rng.randint(20, W - 20),
            horizon + 5,
            rng.randint(60, 140),
            rng.randint(18, 40),
        )
        pts = [(cx, base - hgt), (cx + half, base), (cx - half, base)]
        d.polygon(pts, fill=(30, 110 + rng.randint(0, 60), 40))
        drawn.append(
            _Drawn("tree", Polygon.from_points([(float(x), float(y)) for x, y in pts]), {})
        )
    # puddles (masks)
    for _ in range(rng.randint(0, 2)):
        cx, cy = rng.randint(60, W - 60), rng.randint(horizon + 40, H - 30)
        rx, ry = rng.randint(25, 60), rng.randint(8, 20)
        m = PILImage.new("L", (W, H), 0)
        ImageDraw.Draw(m).ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=1)
        arr = np.asarray(m, dtype=np.uint8)
        img.paste((70, 90, 130), mask=m.point(lambda v: 255 if v else 0))
        drawn.append(_Drawn("puddle", masks.encode(arr), {}))
    # cars (boxes)
    for _ in range(rng.randint(1, 4)):
        w, h = rng.randint(60, 130), rng.randint(30, 55)
        x, y = rng.randint(0, W - w), rng.randint(horizon - h // 2, H - h - 5)
        colour = rng.choice(list(CAR_COLOURS))
        d.rounded_rectangle([x, y, x + w, y + h], radius=8, fill=CAR_COLOURS[colour])
        d.rectangle([x + w * 0.2, y + 4, x + w * 0.8, y + h * 0.45], fill=(150, 190, 220))
        for wx in (x + w * 0.2, x + w * 0.8):
            d.ellipse([wx - 8, y + h - 8, wx + 8, y + h + 8], fill=(15, 15, 15))
        box = Box(float(x), float(y), float(w), float(h + 8))
        drawn.append(_Drawn("car", box, {"colour": colour, "occluded": False}))
    # signs (triangles on poles: polygons)
    for _ in range(rng.randint(0, 2)):
        cx, top, s = (
            rng.randint(30, W - 30),
            rng.randint(horizon - 120, horizon - 40),
            rng.randint(20, 34),
        )
        d.line([cx, top + s, cx, horizon + 30], fill=(160, 160, 160), width=4)
        pts = [(cx, top), (cx + s, top + s * 1.6), (cx - s, top + s * 1.6)]
        d.polygon(pts, fill=(240, 200, 30), outline=(200, 30, 30))
        drawn.append(
            _Drawn("sign", Polygon.from_points([(float(a), float(b)) for a, b in pts]), {})
        )
    # people (keypoints)
    for _ in range(rng.randint(0, 2)):
        x, y, s = rng.randint(40, W - 40), rng.randint(horizon - 10, H - 110), rng.uniform(0.7, 1.3)
        pts = [
            (x, y),
            (x, y + 18 * s),
            (x - 22 * s, y + 45 * s),
            (x + 22 * s, y + 45 * s),
            (x, y + 60 * s),
            (x - 15 * s, y + 100 * s),
            (x + 15 * s, y + 100 * s),
        ]
        col = (240, 220, 200) if not night else (200, 190, 170)
        for a, b in PERSON_EDGES:
            d.line([pts[a], pts[b]], fill=col, width=max(2, int(4 * s)))
        d.ellipse([x - 9 * s, y - 9 * s, x + 9 * s, y + 9 * s], fill=col)
        hidden = rng.random() < 0.2
        kp = tuple(
            (float(px), float(py), 1 if (hidden and i == 3) else 2)
            for i, (px, py) in enumerate(pts)
        )
        drawn.append(_Drawn("person", Keypoints(kp), {}))
    drawn.append(_Drawn("night" if night else "day", Tag(), {}))
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, (H, W, 3))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return PILImage.fromarray(arr), drawn


def build_demo(
    folder: Path, n_images: int = 240, state: JobState | None = None, seed: int = 7
) -> Project:
    """Create the demo project in ``folder`` (must not hold a project yet)."""
    state = state or JobState()
    folder = Path(folder).expanduser().resolve()
    project = Project.create(folder, name="Lightable demo")
    images_dir = folder / "images"
    rng = random.Random(seed)
    state.set_message("drawing demo images")
    state.set_total(n_images)
    scenes: dict[str, list[_Drawn]] = {}
    for i in range(n_images):
        night = rng.random() < 0.25
        img, drawn = _scene(rng, night)
        sub = images_dir / ("street_night" if night else "street_day") / f"block_{i // 60:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        name = f"scene_{i:04d}.jpg"
        img.save(sub / name, quality=88)
        scenes[(sub / name).relative_to(images_dir).as_posix()] = drawn
        state.advance()
    # A few broken files, so the browser's error tiles have something to show.
    (images_dir / "broken").mkdir(exist_ok=True)
    good = next(iter(scenes))
    data = (images_dir / good).read_bytes()
    (images_dir / "broken" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (images_dir / "broken" / "not_an_image.jpg").write_text("this is a text file\n")
    (images_dir / "broken" / "empty.png").write_bytes(b"")

    from lightable.jobs.indexing import index_folders

    state.set_message("indexing")
    index_folders(project, [images_dir])
    _annotate(project, scenes, rng)
    state.finish()
    return project


def _annotate(project: Project, scenes: dict[str, list[_Drawn]], rng: random.Random) -> None:
    users = UserRepo(project)
    alice = users.ensure("alice", Role.LABELER)
    lead = users.ensure("lead", Role.LEAD)
    labels = {lb.name: project.labels.add(lb) for lb in LABELS}
    root_id = next(iter(project.roots()))
    ids = {im.path: im.id for im in project.images.get_many(project.images.ordered_ids()).values()}
    anns: list[Annotation] = []
    done, in_progress = [], []
    preds: list[dict[str, object]] = []
    for k, (path, drawn) in enumerate(sorted(scenes.items())):
        image_id = ids.get(path)
        if image_id is None:
            continue
        # Labelled: the first 60 %; in progress: partially; the rest is new work.
        share = 1.0 if k % 10 < 6 else (0.5 if k % 10 < 8 else 0.0)
        if share == 1.0:
            done.append(image_id)
        elif share > 0:
            in_progress.append(image_id)
        for j, obj in enumerate(drawn):
            if j / max(1, len(drawn)) >= share:
                break
            anns.append(
                Annotation(
                    image_id=image_id,
                    label_id=labels[obj.label].id or 0,
                    geometry=obj.geometry,
                    attributes=dict(obj.attributes),
                    source=Source.HUMAN,
                    author_id=alice.id,
                    z=j,
                )
            )
        # A simulated detector: jittered car boxes, some misses, a false positive.
        for obj in drawn:
            if obj.label != "car" or rng.random() < 0.1:
                continue
            b = obj.geometry
            assert isinstance(b, Box)
            jit = Box(
                max(0.0, b.x + rng.uniform(-4, 4)),
                max(0.0, b.y + rng.uniform(-4, 4)),
                b.w * rng.uniform(0.92, 1.08),
                b.h * rng.uniform(0.92, 1.08),
            )
            preds.append(_pred_row(image_id, labels["car"].id, "car", jit, rng.uniform(0.45, 0.99)))
        if rng.random() < 0.3:
            fp = Box(rng.uniform(0, W - 80), rng.uniform(0, H - 60), 70.0, 40.0)
            preds.append(_pred_row(image_id, labels["car"].id, "car", fp, rng.uniform(0.3, 0.8)))
    project.annotations.insert_many(anns)
    project.images.set_status(done, ImageStatus.DONE)
    project.images.set_status(in_progress, ImageStatus.IN_PROGRESS)
    with project.engine.begin() as conn:
        run_id = conn.execute(
            schema.model_runs.insert().values(
                name="demo detector (simulated)",
                model="simulated",
                task="detection",
                params={"threshold": 0.3},
                device="cpu",
                status="done",
                images_done=len(ids),
                timings={},
            )
        ).inserted_primary_key[0]
        if preds:
            conn.execute(schema.predictions.insert(), [{**p, "run_id": run_id} for p in preds])
    esc = EscalationRepo(project)
    some = sorted(ids.values())
    e1 = esc.create(
        some[3],
        "Is a car behind the tree 'occluded' or not labelled at all?",
        created_by=alice.id,
        label_id=labels["car"].id,
    )
    esc.reply(
        e1, "Label it and set occluded=true when at least a wheel is visible.", author_id=lead.id
    )
    esc.resolve(e1, by=lead.id)
    e2 = esc.create(
        some[10],
        "The puddle touches the car: should the mask include the reflection?",
        created_by=alice.id,
        region=(100.0, 300.0, 120.0, 60.0),
        label_id=labels["puddle"].id,
    )
    esc.reply(e2, "No: only the water surface, never the reflection of objects.", author_id=lead.id)
    esc.create(
        some[20], "Night scene: I cannot tell whether this shape is a person.", created_by=alice.id
    )
    esc.create(
        some[33],
        "Sign is half outside the image: polygon to the border?",
        created_by=alice.id,
        label_id=labels["sign"].id,
    )
    project.set_meta("demo", {"seed": 7, "images": len(scenes), "root_id": root_id})
    project.notify(Change("annotations.changed"))


def _pred_row(
    image_id: int, label_id: int | None, name: str, box: Box, score: float
) -> dict[str, object]:
    return {
        "image_id": image_id,
        "label_id": label_id,
        "class_name": name,
        "kind": "box",
        "geometry": box.to_dict(),
        "score": round(score, 4),
        "attributes": {},
        "x": box.x,
        "y": box.y,
        "w": box.w,
        "h": box.h,
    }
