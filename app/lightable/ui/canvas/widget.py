"""CanvasWidget: shows one image with its annotations and routes input to tools.

Layers, bottom to top: the image (a cached widget-sized rendering of the
right mip level / pyramid tiles), the annotation overlay (cached tiles, see
overlay.py), the live layer (selection, handles, drag previews) and the active
tool's own preview. Navigation (wheel zoom about the cursor, space-drag and
middle-drag pan, Ctrl+0 / Ctrl+1) works whatever tool is active.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from lightable.ui.canvas.image_layer import Adjust, FlatImage, ImageLoader
from lightable.ui.canvas.overlay import Overlay
from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.view import (
    ViewTransform,
    clamp_zoom,
    fit_transform,
    zoom_about,
)

if TYPE_CHECKING:
    from lightable.core.document import DocumentEvent, ImageDocument

BACKGROUND = QColor("#1b1c1f")
WHEEL_STEP = 1.2  # zoom factor per wheel notch (120 units)


class CanvasWidget(QWidget):
    imageChanged = Signal(object)  # image id or None
    documentChanged = Signal(object)  # ImageDocument or None
    zoomChanged = Signal(float)
    toolChanged = Signal(str)
    imageLoaded = Signal(object)  # image id, once its pixels are on screen
    cursorMoved = Signal(object)  # QPointF in image coords, or None (status bar)
    message = Signal(str)  # a short note for the status bar ("Select a label first")
    _docEventQueued = Signal(object)
    _sourceChanged = Signal()  # emitted from worker threads when pyramid tiles arrive
    _storeChanged = Signal(object)  # project changes, from any thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMinimumSize(200, 150)
        self._project: Any = None
        self._session: Any = None
        self._doc: ImageDocument | None = None
        self._unsubscribe: Any = None
        self._image_id: int | None = None
        self._image_size: tuple[int, int] = (0, 0)
        self._source: Any = None  # FlatImage or PyramidSource
        self._error: str | None = None
        self._loading = False
        self._token = 0
        self._exact = ViewTransform()
        self._view = ViewTransform()
        self._fit_mode = True
        self._adjust = Adjust()
        self._base: QImage | None = None
        self._base_key: tuple[Any, ...] | None = None
        self._frame: QImage | None = None
        self._layers: list[Any] = []  # extra painters (predictions), see add_layer
        self._frame_key: tuple[Any, ...] | None = None
        self._space = False
        self._pan_from: QPointF | None = None
        self._pan_button: Qt.MouseButton | None = None
        self._tool_pressed = False
        self._active_label: int | None = None
        self._previous_image: int | None = None
        self.overlay = Overlay()
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self._gui_thread = threading.get_ident()
        self._docEventQueued.connect(self._on_doc_event, Qt.ConnectionType.QueuedConnection)
        self._sourceChanged.connect(self._on_source_changed, Qt.ConnectionType.QueuedConnection)
        self._storeChanged.connect(self._reload_if_needed, Qt.ConnectionType.QueuedConnection)
        self._store_unsubscribe: Any = None
        # Follow edits made elsewhere (another window, an import or prelabel job) by
        # reloading the open document; the window may switch this off if it does it itself.
        self.follow_store = True
        self.last_paint_complete = True  # False: tiles are still coming (another paint is queued)
        self._more = QTimer(self)
        self._more.setSingleShot(True)
        self._more.setInterval(0)
        self._more.timeout.connect(self.update)
        from lightable.ui.canvas.tools import build_tools

        self._tools: dict[str, Tool] = build_tools(self)
        self._tool: Tool = self._tools["select"] if "select" in self._tools else self._tools["hand"]
        self._tool.activate()
        self._tool_options: dict[str, QWidget] = {}  # see tool_options_widget
        self.setCursor(self._tool.cursor())
        self.destroyed.connect(self.loader.shutdown)
        from lightable.ui.canvas.proposals import Proposals

        # A model run's predictions as proposals to accept (see proposals.py).
        self.proposals = Proposals(self)
        self.add_layer(self.proposals.paint)
        self.imageChanged.connect(lambda _id: self.proposals.image_changed())
        self.toolChanged.connect(lambda _name: self.proposals.select(None))

    # -- project / image -----------------------------------------------------------
    def set_project(self, project: Any, session: Any) -> None:
        self.show_image(None)
        if self._store_unsubscribe is not None:
            self._store_unsubscribe()
            self._store_unsubscribe = None
        self._project = project
        self._session = session
        if project is not None:
            self._store_unsubscribe = project.subscribe(self._on_store_change)
        if project is not None:
            from lightable.ui.canvas.pyramid_view import open_source

            cache = project.cache_dir / "pyramids"
            self.loader.pyramid_factory = lambda path: open_source(path, cache)

    def _on_store_change(self, change: Any) -> None:
        # Any thread: only decide cheaply here, reload on the UI thread.
        if not self.follow_store or self._image_id is None:
            return
        if change.kind in ("predictions.added", "model_runs.changed"):
            if self.proposals.run_id is not None and (
                not change.image_ids or self._image_id in change.image_ids
            ):
                self._storeChanged.emit(change)
            return
        if change.kind not in ("annotations.changed", "labels.changed"):
            return
        if change.image_ids and self._image_id not in change.image_ids:
            return
        session = self._session
        if session is not None and session.is_own(change):
            return  # our own edit: the document already has it
        self._storeChanged.emit(change)

    def _reload_if_needed(self, change: Any) -> None:
        if change.kind in ("predictions.added", "model_runs.changed"):
            self.proposals.reload()
            return
        session = self._session
        doc = self._doc
        if session is None or doc is None or getattr(session, "document", None) is not doc:
            return
        self._tool.cancel()
        session.reload_document()

    def project(self) -> Any:
        return self._project

    def session(self) -> Any:
        return self._session

    def image_id(self) -> int | None:
        return self._image_id

    def show_image(self, image_id: int | None) -> None:
        if image_id == self._image_id and image_id is not None:
            return
        self._tool.cancel()
        if self._image_id is not None:
            self._previous_image = self._image_id
        self._set_document(None)
        self._image_id = image_id
        self._drop_source()
        self._error = None
        self._base = None
        self._base_key = None
        self._frame_key = None
        image = None
        if image_id is not None and self._project is not None:
            image = self._project.images.get(image_id)
            if image is None:
                self._error = f"image {image_id} is not in the project"
        if image is not None:
            self._image_size = (int(image.width), int(image.height))
            # Pixels first: the decode runs on its worker while the document loads here.
            try:
                path = Path(self._project.image_path(image.root_id, image.path))
            except Exception as exc:
                self._error = str(exc)
            else:
                cached = self.loader.cached(path)
                if cached is not None:
                    self._set_source(cached)
                else:
                    self._loading = True
                    self._token = self.loader.load(path, *self._image_size)
            if self._session is not None:
                from lightable.core.errors import LightableError

                try:
                    self._set_document(self._session.open_document(image_id))
                except LightableError as exc:
                    self._error = str(exc)
        else:
            self._image_size = (0, 0)
        self._fit_mode = True
        self._apply_fit()
        self.imageChanged.emit(image_id)
        self.documentChanged.emit(self._doc)
        if self._source is not None:
            self.imageLoaded.emit(image_id)
        self.update()

    def show_document(self, doc: ImageDocument | None, source: Any = None) -> None:
        """Show an already open document (tests, embedding): pixels from ``source``
        (a FlatImage, an RGB array) or nothing."""
        self._tool.cancel()
        self._set_document(doc)
        self._image_id = doc.image_id if doc is not None else None
        self._image_size = (doc.image.width, doc.image.height) if doc is not None else (0, 0)
        self._drop_source()
        self._base = None
        self._frame_key = None
        if isinstance(source, np.ndarray):
            source = FlatImage.from_rgb(source)
        if source is not None:
            self._set_source(source)
        self._fit_mode = True
        self._apply_fit()
        self.imageChanged.emit(self._image_id)
        self.documentChanged.emit(doc)
        self.update()

    def _set_document(self, doc: ImageDocument | None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._doc = doc
        self.overlay.set_document(doc)
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._doc_listener)

    def _doc_listener(self, ev: DocumentEvent) -> None:
        if threading.get_ident() == self._gui_thread:
            self._on_doc_event(ev)
        else:
            self._docEventQueued.emit(ev)

    def _on_doc_event(self, ev: DocumentEvent) -> None:
        self.overlay.on_event(ev)
        if ev.annotations_changed or ev.cause == "reload":
            self.proposals.document_changed()
        if ev.annotations_changed and self._tool is not None:
            notify = getattr(self._tool, "document_changed", None)
            if notify is not None:
                notify(ev)
        self.update()

    def _on_loaded(self, token: int, source: Any, error: Any) -> None:
        if token != self._token:
            if source is not None and getattr(source, "kind", "") == "pyramid":
                source.close()  # the user moved on while it was opening
            return
        self._loading = False
        if error is not None:
            self._error = str(error)
        else:
            self._set_source(source)
            self.imageLoaded.emit(self._image_id)
        self.update()

    def _set_source(self, source: Any) -> None:
        self._source = source
        self._loading = False
        if hasattr(source, "set_adjust"):
            source.set_adjust(self._adjust)
        if hasattr(source, "changed"):
            source.changed = self._sourceChanged.emit
        w, h = int(source.width), int(source.height)
        if (w, h) != self._image_size:
            self._image_size = (w, h)
            if self._fit_mode:
                self._apply_fit()
        self._base = None
        self._frame_key = None

    def _on_source_changed(self) -> None:
        self._frame_key = None
        self.update()

    def _drop_source(self) -> None:
        src = self._source
        self._source = None
        if src is not None and getattr(src, "kind", "") == "pyramid":
            src.close()

    def document(self) -> ImageDocument | None:
        return self._doc

    def image_source(self) -> Any:
        return self._source

    def image_size(self) -> tuple[int, int]:
        return self._image_size

    def image_array(self) -> np.ndarray | None:
        """RGB pixels (H x W x 3 uint8) of the current image, at full resolution.

        None while loading, and for huge images shown through the pyramid.
        """
        src = self._source
        if isinstance(src, FlatImage):
            return src.rgb_array()
        return None

    def is_loading(self) -> bool:
        return self._loading

    def error(self) -> str | None:
        return self._error

    def set_previous_image(self, image_id: int | None) -> None:
        """Which image "copy from previous" copies from (the window's navigation order)."""
        self._previous_image = image_id

    def previous_image(self) -> int | None:
        return self._previous_image

    # -- view ---------------------------------------------------------------------------
    def view(self) -> ViewTransform:
        return self._view

    def zoom(self) -> float:
        return self._view.zoom

    def _set_view(self, v: ViewTransform) -> None:
        old = self._view.zoom
        self._exact = v
        self._view = v.snapped()
        self.update()
        if abs(old - v.zoom) > 1e-12:
            self.zoomChanged.emit(v.zoom)

    def _apply_fit(self) -> None:
        w, h = self._image_size
        self._set_view(fit_transform(w, h, self.width(), self.height()))

    def zoom_fit(self) -> None:
        self._fit_mode = True
        self._apply_fit()

    def zoom_100(self) -> None:
        self.set_zoom(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_in(self) -> None:
        self.set_zoom(self._exact.zoom * WHEEL_STEP**2)

    def zoom_out(self) -> None:
        self.set_zoom(self._exact.zoom / WHEEL_STEP**2)

    def set_zoom(self, z: float, anchor_widget_pos: QPointF | None = None) -> None:
        if anchor_widget_pos is None:
            anchor_widget_pos = QPointF(self.width() / 2, self.height() / 2)
        self._fit_mode = False
        self._set_view(
            zoom_about(
                # Anchor on what is on screen (the snapped view), so the error never accumulates.
                ViewTransform(self._exact.zoom, self._view.ox, self._view.oy),
                clamp_zoom(z),
                anchor_widget_pos.x(),
                anchor_widget_pos.y(),
            )
        )

    def zoom_to_rect(self, image_rect: QRectF) -> None:
        r = image_rect.normalized()
        if r.width() < 1 or r.height() < 1:
            return
        z = clamp_zoom(min(self.width() / r.width(), self.height() / r.height()))
        c = r.center()
        self._fit_mode = False
        self._set_view(
            ViewTransform(z, self.width() / 2 - c.x() * z, self.height() / 2 - c.y() * z)
        )

    def pan_by(self, dx: float, dy: float) -> None:
        v = self._exact
        self._fit_mode = False
        self._set_view(ViewTransform(v.zoom, v.ox + dx, v.oy + dy))

    def center_on(self, image_point: QPointF) -> None:
        v = self._exact
        self._set_view(
            ViewTransform(
                v.zoom,
                self.width() / 2 - image_point.x() * v.zoom,
                self.height() / 2 - image_point.y() * v.zoom,
            )
        )

    def view_to_image(self, p: QPointF) -> QPointF:
        return self._view.point_to_image(p)

    def image_to_view(self, p: QPointF) -> QPointF:
        return self._view.point_to_view(p)

    def request_overlay_update(self, image_rect: QRectF | None = None) -> None:
        """Redraw (part of) the overlay: committed shapes changed outside a document event."""
        if image_rect is None:
            self.overlay.invalidate()
        else:
            r = image_rect.normalized()
            self.overlay.invalidate((r.left(), r.top(), r.right(), r.bottom()))
        self.update()

    def do(self, cmd: Any, merge: bool = True) -> Any:
        """Apply an edit to the open document; a refused edit becomes a status message."""
        doc = self._doc
        if doc is None:
            return None
        from lightable.core.errors import LightableError

        try:
            return doc.do(cmd, merge=merge)
        except LightableError as exc:
            self.message.emit(str(exc))
            return None

    def set_live_ids(self, ids: Any) -> None:
        """Stop drawing these annotations from the committed state (a tool draws them
        itself, e.g. the mask being painted or erased); ``set_live_ids(())`` ends it."""
        self.overlay.set_live(ids)
        self.update()

    def add_layer(self, paint: Any) -> None:
        """Draw something above the annotations every frame: ``paint(painter, view)``,
        painter in widget coordinates, ``view`` the ViewTransform (image -> widget).
        The hook for predictions and review overlays; keep it cheap or cache inside."""
        self._layers.append(paint)
        self.update()

    def remove_layer(self, paint: Any) -> None:
        if paint in self._layers:
            self._layers.remove(paint)
            self.update()

    # -- proposals (a model run's predictions) --------------------------------------------
    def set_prediction_run(self, run_id: int | None) -> None:
        """Show this model run's predictions as proposals (None: none)."""
        self.proposals.set_run(run_id)

    def set_proposal_threshold(self, t: float) -> None:
        """Show only proposals scoring at least ``t`` (0..1)."""
        self.proposals.set_threshold(t)

    def hand_press_to_tool(self, press: ToolEvent, now: ToolEvent) -> None:
        """Let the active tool take over a drag that started elsewhere (a proposal
        accepted by dragging it is then moved by the move tool)."""
        self._tool_pressed = True
        self._tool.press(press)
        self._tool.move(now)

    # -- display settings -------------------------------------------------------------
    def set_adjust(self, brightness: float | None = None, contrast: float | None = None) -> None:
        b = self._adjust.brightness if brightness is None else max(-1.0, min(1.0, brightness))
        c = self._adjust.contrast if contrast is None else max(0.1, min(5.0, contrast))
        self._adjust = Adjust(b, c)
        if self._source is not None and hasattr(self._source, "set_adjust"):
            self._source.set_adjust(self._adjust)
        self._base_key = None
        self._frame_key = None
        self.update()

    def adjust(self) -> Adjust:
        return self._adjust

    def set_fill_opacity(self, value: float) -> None:
        self.overlay.set_opacity(value)
        self.update()

    def fill_opacity(self) -> float:
        return self.overlay.opacity

    def set_annotations_visible(self, visible: bool) -> None:
        self.overlay.set_visible(visible)
        self.update()

    def annotations_visible(self) -> bool:
        return self.overlay.visible

    # -- labels / tools -----------------------------------------------------------------
    def set_active_label(self, label_id: int | None) -> None:
        """The label new shapes get. With the move tool active and objects selected,
        picking a label (keys 1-9 or a click in the labels panel) also relabels them."""
        self._active_label = label_id
        doc = self._doc
        if (
            label_id is not None
            and doc is not None
            and self._tool.name == "select"
            and doc.selected()
        ):
            self.relabel_selection(label_id)
        tool_hook = getattr(self._tool, "label_changed", None)
        if tool_hook is not None:
            tool_hook()
        self.update()

    def active_label_id(self) -> int | None:
        return self._active_label

    def label_for_new_shape(self, quiet: bool = False) -> int | None:
        """The active label, else the first label of the taxonomy (None: there are none)."""
        doc = self._doc
        if doc is None:
            return None
        if self._active_label is not None and self._active_label in doc.labels:
            return self._active_label
        if doc.labels:
            first = min(doc.labels.values(), key=lambda lb: (lb.position, lb.id or 0))
            return first.id
        if not quiet:
            self.message.emit("Add a label first (Labels panel)")
        return None

    def draft_color(self) -> QColor:
        """The colour of the shape being drawn (its label's)."""
        label_id = self.label_for_new_shape(quiet=True)
        return self.overlay.color(label_id if label_id is not None else -1)

    def relabel_selection(self, label_id: int | None = None) -> None:
        doc = self._doc
        label_id = self._active_label if label_id is None else label_id
        if doc is None or label_id is None:
            return
        ids = sorted(i for i in doc.selected() if doc.annotation(i).label_id != label_id)
        if ids:
            from lightable.core.commands import Relabel

            self.do(Relabel(ids, label_id, image_id=doc.image_id))

    def tools(self) -> dict[str, Tool]:
        return dict(self._tools)

    def tool(self) -> Tool:
        return self._tool

    def tool_options_widget(self) -> QWidget | None:
        """The active tool's options bar (brush size, wand tolerance, lasso output...),
        or None for tools without options.

        For the main window: on ``toolChanged`` it asks again and puts the widget in
        its tool-options toolbar, replacing the previous one. A tool's widget is made
        once and then reused (it follows the tool's settings, e.g. ``[`` / ``]``); the
        caller re-parents it, and may hide or remove it when another tool is picked,
        but should not delete it. One deleted anyway is made anew on the next call.
        """
        tool = self._tool
        make = getattr(tool, "options_widget", None)
        if make is None:
            return None
        w = self._tool_options.get(tool.name)
        if w is None or not shiboken6.isValid(w):
            w = make()
            self._tool_options[tool.name] = w
        elif hasattr(w, "sync"):
            w.sync()  # settings shared between tools (per-class mode) may have changed
        return w

    def set_tool(self, name: str) -> None:
        tool = self._tools.get(name)
        if tool is None:
            raise KeyError(f"no tool named {name!r}")
        if tool is self._tool:
            return
        self._tool.deactivate()
        self._tool = tool
        tool.activate()
        self._update_cursor()
        self.toolChanged.emit(name)
        self.update()

    def _update_cursor(self) -> None:
        if self._pan_from is not None:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(self._tool.cursor())

    def refresh_cursor(self) -> None:
        """Tools call this when their cursor depends on what is under the mouse."""
        self._update_cursor()

    def register_actions(self, registry: Any) -> None:
        from lightable.ui.canvas.actions import register_canvas_actions

        register_canvas_actions(self, registry)

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        complete = self._paint_frame(p)
        self.overlay.viewport = (self.width(), self.height())
        self.overlay.paint_live(p, self._view)
        for layer in self._layers:
            p.save()
            layer(p, self._view)
            p.restore()
        if self._tool is not None:
            p.save()
            self._tool.paint(p)
            p.restore()
        self._paint_status(p)
        p.end()
        self.last_paint_complete = complete and not (
            self._source is not None and getattr(self._source, "pending", False)
        )
        if not self.last_paint_complete:
            self._more.start()

    def _paint_frame(self, p: QPainter) -> bool:
        """Image plus committed shapes, from a widget-sized cache when nothing changed:
        a frame during a drag or a hover is then one opaque blit plus the live layer."""
        base_key = self._base_image_key()
        key = (base_key, self.overlay.revision, self.overlay.visible, id(self._doc))
        if self._frame is not None and self._frame_key == key and self._frame.size() == self.size():
            p.drawImage(0, 0, self._frame)
            return True
        self._paint_base(base_key)
        if self._frame is None or self._frame.size() != self.size():
            self._frame = QImage(self.size(), QImage.Format.Format_RGB32)
        fp = QPainter(self._frame)
        assert self._base is not None
        fp.drawImage(0, 0, self._base)
        complete = self.overlay.paint_tiles(fp, self._view, QRectF(self.rect()))
        fp.end()
        # An incomplete frame is drawn but not kept: the next paint renders more tiles.
        self._frame_key = key if complete else None
        p.drawImage(0, 0, self._frame)
        return complete

    def _base_image_key(self) -> tuple[Any, ...]:
        size = self.size()
        src = self._source
        return (
            self._view.zoom,
            self._view.ox,
            self._view.oy,
            size.width(),
            size.height(),
            id(src),
            self._image_size,
            self._adjust,
            getattr(src, "revision", 0),
        )

    def _paint_base(self, key: tuple[Any, ...]) -> None:
        size = self.size()
        src = self._source
        if self._base is None or self._base_key != key or self._base.size() != size:
            if self._base is None or self._base.size() != size:
                self._base = QImage(size, QImage.Format.Format_RGB32)
            self._base.fill(BACKGROUND)
            w, h = self._image_size
            if w and h:
                bp = QPainter(self._base)
                r = self._view.rect_to_view(QRectF(0, 0, w, h))
                if src is None:
                    bp.fillRect(r, QColor("#26282c"))
                else:
                    src.draw(bp, self._view, QRectF(0, 0, size.width(), size.height()))
                bp.end()
            self._base_key = key

    def _paint_status(self, p: QPainter) -> None:
        text = None
        if self._error:
            text = f"Cannot show this image: {self._error}"
        elif self._loading and self._source is None:
            text = "Loading…"
        elif self._image_id is None:
            text = "No image"
        if text:
            p.setPen(QColor("#c8c8c8") if not self._error else QColor("#ff8a80"))
            p.drawText(
                self.rect().adjusted(20, 20, -20, -20),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                text,
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self._apply_fit()
        else:
            # Keep the image point at the centre where it was.
            old = event.oldSize()
            if old.width() > 0 and old.height() > 0:
                v = self._exact
                dx = (self.width() - old.width()) / 2
                dy = (self.height() - old.height()) / 2
                self._set_view(ViewTransform(v.zoom, v.ox + dx, v.oy + dy))

    # -- input ------------------------------------------------------------------------------
    def _tool_event(self, e: QMouseEvent) -> ToolEvent:
        vp = e.position()
        return ToolEvent(self._view.point_to_image(vp), vp, e.button(), e.buttons(), e.modifiers())

    def _start_pan(self, e: QMouseEvent) -> None:
        self._pan_from = e.position()
        self._pan_button = e.button()
        self._update_cursor()

    def mousePressEvent(self, e: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self._pan_from is not None:
            return
        if e.button() == Qt.MouseButton.MiddleButton or (
            self._space and e.button() == Qt.MouseButton.LeftButton
        ):
            self._start_pan(e)
            return
        if self._tool.name == "select" and self.proposals.press(self._tool_event(e)):
            return
        self._tool_pressed = True
        self._tool.press(self._tool_event(e))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._pan_from is not None:
            d = e.position() - self._pan_from
            self._pan_from = e.position()
            self.pan_by(d.x(), d.y())
            return
        ev = self._tool_event(e)
        self.cursorMoved.emit(ev.pos)
        if self.proposals.pressed():
            self.proposals.move(ev)
            return
        if e.buttons() != Qt.MouseButton.NoButton and self._tool_pressed:
            self._tool.move(ev)
        else:
            self._tool.hover(ev)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if self._pan_from is not None:
            if e.button() == self._pan_button:
                self._pan_from = None
                self._pan_button = None
                self._update_cursor()
            return
        if self.proposals.pressed():
            self.proposals.release()
            return
        if self._tool_pressed and e.buttons() == Qt.MouseButton.NoButton:
            self._tool_pressed = False
        self._tool.release(self._tool_event(e))

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        if e.button() != Qt.MouseButton.LeftButton or self._space:
            self.mousePressEvent(e)
            return
        self._tool_pressed = True
        self._tool.double_click(self._tool_event(e))

    def wheelEvent(self, e: QWheelEvent) -> None:
        delta = e.angleDelta().y() or e.angleDelta().x()
        if delta == 0:
            pd = e.pixelDelta()
            if not pd.isNull():
                self.pan_by(pd.x(), pd.y())
            e.accept()
            return
        factor = WHEEL_STEP ** (delta / 120.0)
        self.set_zoom(self._exact.zoom * factor, e.position())
        e.accept()

    def leaveEvent(self, event: Any) -> None:
        self.cursorMoved.emit(None)
        if self.overlay.hover_id is not None:
            self.overlay.hover_id = None
            self.update()
        self._tool.leave()
        super().leaveEvent(event)

    def event(self, e: QEvent) -> bool:
        # Keys a tool needs right now (Backspace while drawing a polygon, arrows to
        # nudge a selection) win over window shortcuts bound to the same keys.
        if e.type() == QEvent.Type.ShortcutOverride:
            wants = getattr(self._tool, "wants_key", None)
            if isinstance(e, QKeyEvent) and (
                e.key() == Qt.Key.Key_Space or (wants is not None and wants(e))
            ):
                e.accept()
                return True
            # Enter belongs to the proposals (accept) only when there is one to accept;
            # otherwise the tool gets it (the brush's "finish the object").
            if (
                isinstance(e, QKeyEvent)
                and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not self.proposals.wants_enter(e)
            ):
                e.accept()
                return True
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Space:
            if not e.isAutoRepeat():
                self._space = True
                self._update_cursor()
            e.accept()
            return
        if self._tool.key_press(e):
            e.accept()
            return
        super().keyPressEvent(e)

    def keyReleaseEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Space:
            if not e.isAutoRepeat():
                self._space = False
                self._update_cursor()
            e.accept()
            return
        if self._tool.key_release(e):
            e.accept()
            return
        super().keyReleaseEvent(e)

    def focusOutEvent(self, event: Any) -> None:
        # A space released while another widget had focus must not leave us panning.
        self._space = False
        self._update_cursor()
        super().focusOutEvent(event)

    # -- hit testing (used by tools) -------------------------------------------------------
    def hit_test(
        self, image_pos: QPointF, tolerance_px: float = 4.0, include_locked: bool = False
    ) -> int | None:
        from lightable.ui.canvas.hittest import hit_test

        return hit_test(
            self, image_pos.x(), image_pos.y(), tolerance_px / self._view.zoom, include_locked
        )

    def ids_in_rect(self, image_rect: QRectF, contained: bool = True) -> list[int]:
        from lightable.ui.canvas.hittest import ids_in_rect

        return ids_in_rect(self, image_rect.normalized(), contained)

    def image_rect_visible(self) -> QRect:
        return self._view.rect_to_image(QRectF(self.rect())).toAlignedRect()

    def cursor_for(self, shape: Qt.CursorShape) -> QCursor:
        return QCursor(shape)
