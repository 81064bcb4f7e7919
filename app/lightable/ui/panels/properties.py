"""Properties panel: what the selection is, and its attributes typed by the label's schema.

Shows the object id, label (a combo box: changing it relabels, one command),
kind, area, bounding box, source (human / import / prediction, with the
prediction id) and version; then one editor per attribute of the label's
attribute schema. With several objects selected, edits apply to all of them
in one undo step.

Attribute schema (``Label.attributes``), a JSON object, name -> spec::

    {
      "occluded":  {"type": "bool", "default": false},
      "color":     {"type": "enum", "values": ["red", "green", "blue"]},
      "count":     {"type": "int", "min": 0, "max": 50},
      "score":     {"type": "float", "min": 0, "max": 1, "step": 0.05},
      "note":      {"type": "text", "help": "anything unusual"}
    }

- ``type``: bool, enum, int, float or text (also "str"/"string"); unknown types
  are edited as text.
- Shorthands: a bare type name (``"occluded": "bool"``) or a list of values
  (``"color": ["red", "green"]``, an enum).
- Optional: ``default`` (shown when the object has no value; not written
  until edited), ``label`` (display name), ``help`` (tool tip), ``min``/``max``/
  ``step`` for numbers.
- Names starting with "_" are display settings (``_opacity``), hidden here.
- Attributes an object has that its label's schema does not declare are shown
  too, as text (editable when they are strings), so nothing is invisible.

Edits go through ``SetAttributes`` (or ``Relabel``): the store has them at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lightable.core.commands import Batch, Relabel, SetAttributes
from lightable.core.errors import LightableError
from lightable.core.geometry import GeometryKind
from lightable.ui.panels.layers import swatch

TYPES = ("bool", "enum", "int", "float", "text")


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    type: str
    values: tuple[Any, ...] = ()
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    title: str = ""
    help: str = ""


def parse_schema(schema: Any) -> list[AttributeSpec]:
    """The label's attribute schema as specs, in declaration order; bad entries become text."""
    out: list[AttributeSpec] = []
    if not isinstance(schema, dict):
        return out
    for name, raw in schema.items():
        name = str(name)
        if name.startswith("_"):
            continue
        spec: dict[str, Any]
        if isinstance(raw, str):
            spec = {"type": raw}
        elif isinstance(raw, list | tuple):
            spec = {"type": "enum", "values": list(raw)}
        elif isinstance(raw, dict):
            spec = raw
        else:
            spec = {"type": "text"}
        t = str(spec.get("type", "text")).lower()
        t = {"str": "text", "string": "text", "boolean": "bool", "integer": "int", "number": "float",
             "select": "enum", "choice": "enum"}.get(t, t)  # fmt: skip
        values = tuple(spec.get("values") or spec.get("options") or ())
        if t not in TYPES or (t == "enum" and not values):
            t = "text"
        out.append(
            AttributeSpec(
                name=name,
                type=t,
                values=values,
                default=spec.get("default"),
                minimum=_num(spec.get("min")),
                maximum=_num(spec.get("max")),
                step=_num(spec.get("step")),
                title=str(spec.get("label") or name),
                help=str(spec.get("help") or spec.get("description") or ""),
            )
        )
    return out


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


class PropertiesPanel(QWidget):
    """Attributes of the selected objects."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PropertiesPanel")
        self.doc: Any = None
        self._unsubscribe: Any = None
        self._ids: list[int] = []
        self._specs: list[AttributeSpec] = []
        self.editors: dict[str, QWidget] = {}
        self._loading = False

        self.title = QLabel("Nothing selected")
        self.title.setStyleSheet("font-weight: bold;")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("Change the label of the selection")
        self.label_combo.activated.connect(self._relabel)
        self.kind = QLabel()
        self.area = QLabel()
        self.bbox = QLabel()
        self.source = QLabel()
        self.source.setWordWrap(True)
        for w in (self.kind, self.area, self.bbox, self.source):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info = QFormLayout()
        info.setContentsMargins(0, 0, 0, 0)
        info.addRow("Label", self.label_combo)
        info.addRow("Kind", self.kind)
        info.addRow("Area", self.area)
        info.addRow("Box", self.bbox)
        info.addRow("Source", self.source)
        self.info = QWidget()
        self.info.setLayout(info)

        self.attr_title = QLabel("Attributes")
        self.attr_title.setStyleSheet("font-weight: bold; margin-top: 6px;")
        self.attr_box = QWidget()
        self.attr_form = QFormLayout(self.attr_box)
        self.attr_form.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #e5534b;")
        self.status.hide()

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.info)
        lay.addWidget(self.attr_title)
        lay.addWidget(self.attr_box)
        lay.addWidget(self.status)
        lay.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._rebuild()

    # -- document -------------------------------------------------------------------------
    def set_document(self, doc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_event)
        self._rebuild()

    def _on_event(self, ev: Any) -> None:
        if self.doc is None:
            return
        ids = self._selection()
        if ids != self._ids or ev.labels_changed or ev.cause == "reload":
            self._rebuild()
        elif set(ids) & (ev.changed | ev.removed):
            if self._schema_for(ids) != self._specs:
                self._rebuild()  # relabelled: another schema
            else:
                self._load()

    def _selection(self) -> list[int]:
        if self.doc is None:
            return []
        return [a.id for a in self.doc.annotations() if a.id in self.doc.selected()]

    def _schema_for(self, ids: list[int]) -> list[AttributeSpec]:
        specs: dict[str, AttributeSpec] = {}
        for i in ids:
            lb = self.doc.label_for(i)
            for s in parse_schema(lb.attributes if lb is not None else {}):
                specs.setdefault(s.name, s)
        # Attributes present on the objects but not declared: shown as text.
        for i in ids:
            for k, v in self.doc.annotation(i).attributes.items():
                if not str(k).startswith("_") and k not in specs:
                    specs[k] = AttributeSpec(str(k), "text" if isinstance(v, str) else "other")
        return list(specs.values())

    # -- building the form ----------------------------------------------------------------
    def _rebuild(self) -> None:
        self._ids = self._selection()
        self._specs = self._schema_for(self._ids) if self._ids else []
        while self.attr_form.rowCount():
            self.attr_form.removeRow(0)
        self.editors = {}
        for spec in self._specs:
            editor = self._make_editor(spec)
            if spec.help:
                editor.setToolTip(spec.help)
            self.editors[spec.name] = editor
            if isinstance(editor, QCheckBox):
                editor.setText(spec.title or spec.name)  # the text is clickable too
                editor.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
                self.attr_form.addRow(editor)
                continue
            title = QLabel(spec.title or spec.name)
            title.setToolTip(spec.help)
            self.attr_form.addRow(title, editor)
        self.info.setVisible(bool(self._ids))
        self.attr_title.setVisible(bool(self._specs))
        self.attr_box.setVisible(bool(self._specs))
        self._load()

    def _make_editor(self, spec: AttributeSpec) -> QWidget:
        name = spec.name
        if spec.type == "bool":
            w: Any = QCheckBox()
            w.clicked.connect(lambda checked, n=name: self.set_attribute(n, bool(checked)))
        elif spec.type == "enum":
            w = QComboBox()
            w.addItem("—", None)
            for v in spec.values:
                w.addItem(str(v), v)
            w.activated.connect(lambda i, n=name, box=w: self.set_attribute(n, box.itemData(i)))
        elif spec.type == "int":
            w = QSpinBox()
            w.setRange(int(spec.minimum if spec.minimum is not None else -(10**9)),
                       int(spec.maximum if spec.maximum is not None else 10**9))  # fmt: skip
            if spec.step:
                w.setSingleStep(max(1, int(spec.step)))
            w.editingFinished.connect(lambda n=name, box=w: self.set_attribute(n, int(box.value())))
        elif spec.type == "float":
            w = QDoubleSpinBox()
            w.setDecimals(4)
            w.setRange(spec.minimum if spec.minimum is not None else -1e12,
                       spec.maximum if spec.maximum is not None else 1e12)  # fmt: skip
            w.setSingleStep(spec.step or 0.1)
            w.editingFinished.connect(
                lambda n=name, box=w: self.set_attribute(n, float(box.value()))
            )
        elif spec.type == "text":
            w = QLineEdit()
            w.setClearButtonEnabled(True)
            w.editingFinished.connect(lambda n=name, box=w: self._text_done(n, box))
        else:
            w = QLabel()
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        w.setObjectName(f"attr_{name}")
        return w

    # -- showing values -------------------------------------------------------------------
    def _load(self) -> None:
        self._loading = True
        try:
            self._load_info()
            for spec in self._specs:
                self._load_editor(spec)
        finally:
            self._loading = False

    def _load_info(self) -> None:
        ids = self._ids
        doc = self.doc
        if not ids:
            self.title.setText("Nothing selected" if doc is not None else "No image")
            return
        anns = [doc.annotation(i) for i in ids]
        a = anns[0]
        self.title.setText(f"Object #{a.id}" if len(ids) == 1 else f"{len(ids)} objects selected")
        self.label_combo.clear()
        labels = sorted(doc.labels.values(), key=lambda lb: (lb.position, lb.id or 0))
        for lb in labels:
            self.label_combo.addItem(swatch(lb.color), lb.name, lb.id)
        common = {x.label_id for x in anns}
        if len(common) == 1:
            self.label_combo.setCurrentIndex(self.label_combo.findData(a.label_id))
        else:
            self.label_combo.insertItem(0, "(several)", None)
            self.label_combo.setCurrentIndex(0)
        kinds = sorted({str(x.kind) for x in anns})
        self.kind.setText(", ".join(kinds))
        area = sum(x.geometry.area() for x in anns)
        self.area.setText(
            f"{_fmt(area)} px²" if any(x.kind != GeometryKind.TAG for x in anns) else "—"
        )
        if len(ids) == 1:
            x, y, w, h = a.geometry.bbox()
            self.bbox.setText(f"x {_fmt(x)}, y {_fmt(y)}, {_fmt(w)} × {_fmt(h)}")
            src = str(a.source)
            if a.prediction_id is not None:
                src += f" (prediction #{a.prediction_id})"
            self.source.setText(f"{src} · version {a.version}")
        else:
            self.bbox.setText("—")
            self.source.setText(", ".join(sorted({str(x.source) for x in anns})))

    def _values(self, name: str) -> list[Any]:
        return [self.doc.annotation(i).attributes.get(name) for i in self._ids]

    def _load_editor(self, spec: AttributeSpec) -> None:
        w = self.editors.get(spec.name)
        if w is None or w.hasFocus():
            return  # never overwrite what the user is typing
        values = self._values(spec.name)
        mixed = len({repr(v) for v in values}) > 1
        value = values[0] if values else None
        if value is None and not mixed:
            value = spec.default
        w.blockSignals(True)
        try:
            if isinstance(w, QCheckBox):
                w.setTristate(mixed)
                w.setCheckState(Qt.CheckState.PartiallyChecked if mixed else
                                (Qt.CheckState.Checked if value else Qt.CheckState.Unchecked))  # fmt: skip
            elif isinstance(w, QComboBox):
                i = w.findData(value) if not mixed and value is not None else 0
                w.setCurrentIndex(max(0, i))
            elif isinstance(w, QSpinBox | QDoubleSpinBox):
                try:
                    w.setValue(value if value is not None else 0)  # type: ignore[arg-type]
                except TypeError:
                    w.setValue(0)
            elif isinstance(w, QLineEdit):
                w.setText("" if mixed or value is None else str(value))
                w.setPlaceholderText("(several values)" if mixed else "")
            elif isinstance(w, QLabel):
                w.setText("(several values)" if mixed else repr(value))
        finally:
            w.blockSignals(False)

    # -- editing --------------------------------------------------------------------------
    def _text_done(self, name: str, box: QLineEdit) -> None:
        text = box.text()
        values = self._values(name)
        if text == "" and len({repr(v) for v in values}) > 1:
            return  # left a mixed field empty: nothing typed
        self.set_attribute(name, text if text != "" else None)

    def set_attribute(self, name: str, value: Any) -> None:
        """Set (or with None, remove) attribute ``name`` on every selected object: one step."""
        if self._loading or self.doc is None or not self._ids:
            return
        label = f"Set {name}" if value is not None else f"Clear {name}"
        cmds = []
        for i in self._ids:
            a = self.doc.annotation(i)
            attrs = dict(a.attributes)
            if value is None:
                attrs.pop(name, None)
            else:
                attrs[name] = value
            if attrs != a.attributes:
                cmds.append(SetAttributes(i, attrs, label=label, image_id=self.doc.image_id))
        if not cmds:
            return
        self._do(cmds[0] if len(cmds) == 1 else Batch(cmds, label, self.doc.image_id))

    def _relabel(self, index: int) -> None:
        label_id = self.label_combo.itemData(index)
        if self._loading or self.doc is None or label_id is None or not self._ids:
            return
        ids = [i for i in self._ids if self.doc.annotation(i).label_id != label_id]
        if ids:
            self._do(Relabel(ids, int(label_id), image_id=self.doc.image_id))

    def _do(self, cmd: Any) -> None:
        try:
            self.doc.do(cmd)
            self.status.hide()
        except LightableError as exc:
            self.status.setText(str(exc))
            self.status.show()
            self._load()
