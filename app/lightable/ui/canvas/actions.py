"""The canvas's entries in the action registry (menus, shortcuts, Help window).

Keys, chosen to match Photoshop where it has one:
  V M P B E W L K H Z          tools (raster tools appear when their modules exist)
  Ctrl+0 / Ctrl+1              fit / 100 %;  Ctrl+= / Ctrl+-  zoom in / out
  Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y undo / redo
  Delete, Backspace            delete the selection
  Ctrl+A / Ctrl+D              select all / deselect
  Ctrl+C / Ctrl+V              copy / paste objects (also across images)
  Ctrl+Shift+V                 copy all objects of the previous image
  Ctrl+] / Ctrl+[              bring forward / send backward (Shift: to front / back)
  Ctrl+H                       hide / show all annotations
  Alt+] / Alt+[                fill opacity up / down
  Alt+Up / Alt+Down            image brightness;  Alt+Right / Alt+Left  contrast;  Alt+0 reset
  Ctrl+L                       relabel the selection with the active label (picking a label
                               with the move tool active does the same)
  Ctrl+Shift+P / Ctrl+Shift+M  convert mask to polygon / polygon to mask
  Enter / Shift+Enter          accept the selected proposal / all visible proposals
                               (Delete rejects a selected proposal: see delete_selection)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QActionGroup

from lightable.core.commands import AddAnnotation, Batch, DeleteAnnotations, Reorder
from lightable.core.errors import LightableError
from lightable.core.geometry import Mask

if TYPE_CHECKING:
    from lightable.ui.canvas.widget import CanvasWidget

OPACITY_STEP = 0.1
BRIGHTNESS_STEP = 0.08
CONTRAST_STEP = 1.15

_clipboard: list[Any] = []  # copied annotations, shared by every canvas of the process


def register_canvas_actions(canvas: CanvasWidget, registry: Any) -> None:
    group = QActionGroup(canvas)
    group.setExclusive(True)
    tool_actions = {}
    for name, tool in canvas.tools().items():
        act = registry.add(
            f"tool.{name}",
            tool.label,
            lambda checked, n=name: canvas.set_tool(n) if checked else None,
            shortcut=tool.key or None,
            group="Tools",
            checkable=True,
            tip=tool.tip,
        )
        group.addAction(act)
        tool_actions[name] = act
    current = tool_actions.get(canvas.tool().name)
    if current is not None:
        current.setChecked(True)

    def on_tool(name: str) -> None:
        act = tool_actions.get(name)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    canvas.toolChanged.connect(on_tool)

    add = registry.add
    register_prediction_actions(canvas, registry)
    add("view.zoom_fit", "Zoom to &fit", canvas.zoom_fit, shortcut="Ctrl+0", group="View")
    add("view.zoom_100", "Actual &pixels (100%)", canvas.zoom_100, shortcut="Ctrl+1", group="View")
    add("view.zoom_in", "Zoom &in", canvas.zoom_in, shortcut=["Ctrl+=", "Ctrl++"], group="View")
    add("view.zoom_out", "Zoom &out", canvas.zoom_out, shortcut="Ctrl+-", group="View")
    hide = add(
        "view.toggle_annotations",
        "Show &annotations",
        canvas.set_annotations_visible,
        shortcut="Ctrl+H",
        group="View",
        checkable=True,
        tip="Hide or show every annotation (to look at the image underneath)",
    )
    hide.setChecked(canvas.annotations_visible())
    add(
        "view.opacity_up",
        "Fill opacity up",
        lambda: canvas.set_fill_opacity(canvas.fill_opacity() + OPACITY_STEP),
        shortcut="Alt+]",
        group="View",
    )
    add(
        "view.opacity_down",
        "Fill opacity down",
        lambda: canvas.set_fill_opacity(canvas.fill_opacity() - OPACITY_STEP),
        shortcut="Alt+[",
        group="View",
    )
    add(
        "view.brightness_up",
        "Brighter image",
        lambda: canvas.set_adjust(brightness=canvas.adjust().brightness + BRIGHTNESS_STEP),
        shortcut="Alt+Up",
        group="View",
        tip="Brighten the displayed image (does not change the file)",
    )
    add(
        "view.brightness_down",
        "Darker image",
        lambda: canvas.set_adjust(brightness=canvas.adjust().brightness - BRIGHTNESS_STEP),
        shortcut="Alt+Down",
        group="View",
    )
    add(
        "view.contrast_up",
        "More contrast",
        lambda: canvas.set_adjust(contrast=canvas.adjust().contrast * CONTRAST_STEP),
        shortcut="Alt+Right",
        group="View",
    )
    add(
        "view.contrast_down",
        "Less contrast",
        lambda: canvas.set_adjust(contrast=canvas.adjust().contrast / CONTRAST_STEP),
        shortcut="Alt+Left",
        group="View",
    )
    add(
        "view.adjust_reset",
        "Reset brightness/contrast",
        lambda: canvas.set_adjust(0.0, 1.0),
        shortcut="Alt+0",
        group="View",
    )

    add("edit.undo", "&Undo", lambda: _undo(canvas), shortcut="Ctrl+Z", group="Edit")
    add(
        "edit.redo",
        "&Redo",
        lambda: _redo(canvas),
        shortcut=["Ctrl+Shift+Z", "Ctrl+Y"],
        group="Edit",
    )
    add(
        "edit.delete",
        "&Delete objects",
        lambda: delete_selection(canvas),
        shortcut=["Delete", "Backspace"],
        group="Edit",
    )
    add(
        "edit.select_all",
        "Select &all objects",
        lambda: _select_all(canvas),
        shortcut="Ctrl+A",
        group="Edit",
    )
    add("edit.deselect", "D&eselect", lambda: _deselect(canvas), shortcut="Ctrl+D", group="Edit")
    add(
        "edit.copy",
        "&Copy objects",
        lambda: copy_selection(canvas),
        shortcut="Ctrl+C",
        group="Edit",
    )
    add("edit.paste", "&Paste objects", lambda: paste(canvas), shortcut="Ctrl+V", group="Edit")
    add(
        "edit.copy_previous",
        "Copy objects from previous image",
        lambda: copy_from_image(canvas, canvas.previous_image()),
        shortcut="Ctrl+Shift+V",
        group="Edit",
        tip="Add every object of the previously shown image to this one (one undo step)",
    )
    add(
        "edit.relabel",
        "Relabel selection",
        canvas.relabel_selection,
        shortcut="Ctrl+L",
        group="Edit",
        tip="Give the selected objects the active label",
    )
    for id_, text, direction, key in (
        ("edit.bring_forward", "Bring forward", "up", "Ctrl+]"),
        ("edit.send_backward", "Send backward", "down", "Ctrl+["),
        ("edit.bring_front", "Bring to front", "front", "Ctrl+Shift+]"),
        ("edit.send_back", "Send to back", "back", "Ctrl+Shift+["),
    ):
        add(id_, text, lambda d=direction: reorder(canvas, d), shortcut=key, group="Edit")
    add(
        "edit.mask_to_polygon",
        "Convert mask to polygon",
        lambda: convert(canvas, to_polygon=True),
        shortcut="Ctrl+Shift+P",
        group="Edit",
    )
    add(
        "edit.polygon_to_mask",
        "Convert polygon to mask",
        lambda: convert(canvas, to_polygon=False),
        shortcut="Ctrl+Shift+M",
        group="Edit",
    )


# -- the actions' work (plain functions: tests call them too) -------------------------


def _undo(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    tool = canvas.tool()
    if tool.busy():
        # While drawing, Ctrl+Z takes back the last vertex/point (as Photoshop's pen does),
        # or drops the draft; the history is not touched.
        undo_draft = getattr(tool, "undo_draft", None)
        if undo_draft is None or not undo_draft():
            tool.cancel()
        canvas.update()
    elif doc is not None:
        _guard(canvas, doc.undo)


def _redo(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    if doc is not None:
        canvas.tool().cancel()
        _guard(canvas, doc.redo)


def _guard(canvas: CanvasWidget, fn: Any) -> Any:
    try:
        return fn()
    except LightableError as exc:
        canvas.message.emit(str(exc))
        return None


def _select_all(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    if doc is not None:
        doc.select(
            a.id for a in doc.annotations() if not a.hidden and not a.locked and a.id is not None
        )


def _deselect(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    if doc is not None:
        doc.clear_selection()


def delete_selection(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    if doc is None:
        return
    # A selected proposal is rejected: one key for "get rid of this", as for objects.
    if canvas.proposals.selected is not None:
        canvas.proposals.reject()
        return
    ids = sorted(i for i in doc.selected() if not doc.annotation(i).locked)
    if ids:
        canvas.do(DeleteAnnotations(ids, image_id=doc.image_id))


def copy_selection(canvas: CanvasWidget) -> None:
    doc = canvas.document()
    if doc is None or not doc.selected():
        return
    _clipboard[:] = [dataclasses.replace(doc.annotation(i)) for i in sorted(doc.selected())]
    canvas.message.emit(f"Copied {len(_clipboard)} object(s)")


def paste(canvas: CanvasWidget) -> None:
    _add_copies(canvas, list(_clipboard), "Paste")


def copy_from_image(canvas: CanvasWidget, image_id: int | None) -> None:
    """Add copies of every annotation of ``image_id`` to the current image (one undo step)."""
    project = canvas.project()
    doc = canvas.document()
    if project is None or doc is None:
        return
    if image_id is None or image_id == doc.image_id:
        canvas.message.emit("No previous image to copy from")
        return
    anns = project.annotations.for_image(image_id)
    if not anns:
        canvas.message.emit("The previous image has no objects")
        return
    _add_copies(canvas, anns, "Copy from previous image")


def _add_copies(canvas: CanvasWidget, anns: list[Any], text: str) -> None:
    doc = canvas.document()
    if doc is None or not anns:
        return
    w, h = doc.image.width, doc.image.height
    z = doc.top_z()
    cmds = []
    skipped = 0
    for k, a in enumerate(anns):
        g = a.geometry
        if isinstance(g, Mask) and (g.width != w or g.height != h):
            skipped += 1  # a mask only fits an image of its own size
            continue
        if a.label_id not in doc.labels:
            skipped += 1
            continue
        copy = dataclasses.replace(
            a,
            id=None,
            image_id=doc.image_id,
            z=z + k,
            version=1,
            hidden=False,
            locked=False,
            prediction_id=None,
        )
        cmds.append(AddAnnotation(copy))
    if not cmds:
        canvas.message.emit("Nothing to copy here")
        return
    ev = canvas.do(Batch(cmds, f"{text} ({len(cmds)} objects)", image_id=doc.image_id))
    if ev is not None and ev.added:
        doc.select(ev.added)
    if skipped:
        canvas.message.emit(f"{skipped} object(s) could not be copied (mask size or label missing)")


def reorder(canvas: CanvasWidget, direction: str) -> None:
    doc = canvas.document()
    if doc is None or not doc.selected():
        return
    canvas.do(Reorder(sorted(doc.selected()), direction, image_id=doc.image_id))  # type: ignore[arg-type]


def convert(canvas: CanvasWidget, to_polygon: bool) -> None:
    doc = canvas.document()
    if doc is None or not doc.selected():
        return
    try:
        from lightable.imaging import maskops
    except ImportError:
        canvas.message.emit("Mask conversion is not available")
        return
    cmds = []
    for i in sorted(doc.selected()):
        kind = str(doc.annotation(i).geometry.kind)
        try:
            if to_polygon and kind == "mask":
                cmds.append(maskops.mask_to_polygon_command(doc, i))
            elif not to_polygon and kind in ("polygon", "box"):
                cmds.append(maskops.polygon_to_mask_command(doc, i))
        except LightableError as exc:
            canvas.message.emit(str(exc))
    if cmds:
        label = "Convert mask to polygon" if to_polygon else "Convert polygon to mask"
        canvas.do(Batch(cmds, label, image_id=doc.image_id))


def register_prediction_actions(canvas: CanvasWidget, registry: Any) -> None:
    """Proposals (a model run's predictions): accept, accept all, reject.

    Enter and Shift+Enter work while the canvas has the focus only (WidgetShortcut on
    the canvas), so Enter in a search field or a dialog keeps its meaning.
    "predictions.reject" has no shortcut of its own: Delete (edit.delete) rejects a
    selected proposal, so the two never compete for the key."""
    from PySide6.QtCore import Qt

    only_canvas = Qt.ShortcutContext.WidgetShortcut
    accept = registry.add(
        "predictions.accept",
        "&Accept proposal",
        canvas.proposals.accept,
        shortcut=["Return", "Enter"],
        group="Predictions",
        tip="Turn the selected proposal into an annotation (undoable)",
        context=only_canvas,
    )
    accept_all = registry.add(
        "predictions.accept_all",
        "Accept all above &threshold",
        canvas.proposals.accept_all,
        shortcut=["Shift+Return", "Shift+Enter"],
        group="Predictions",
        tip="Accept every proposal shown on this image, as one undo step",
        context=only_canvas,
    )
    canvas.addActions([accept, accept_all])
    registry.add(
        "predictions.reject",
        "&Reject proposal",
        canvas.proposals.reject,
        group="Predictions",
        tip="Hide the selected proposal for this session (Delete)",
    )
