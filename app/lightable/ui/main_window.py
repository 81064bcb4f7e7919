"""The main window: wires the canvas, the docks, the actions and the status bar.

No business logic lives here: the browser owns the order of images, the
navigator (ui/browser/navigation.py) walks it, commands change the store, jobs
run long work. The window creates them, connects their signals and registers
their actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lightable import __version__
from lightable.core.errors import LightableError
from lightable.core.model import ImageStatus
from lightable.ui import icons, theme
from lightable.ui.actions import ActionRegistry, build_menus
from lightable.ui.browser import BrowserWidget
from lightable.ui.browser.navigation import Navigator
from lightable.ui.inbox import FlagDialog, GuidanceBar, InboxPanel
from lightable.ui.jobs import Job, JobRunner, JobStatus
from lightable.ui.panels.jobs import JobsPanel, JobStatusWidget
from lightable.ui.panels.labels import LabelsPanel
from lightable.ui.settings import Settings
from lightable.ui.welcome import CanvasStandIn, WelcomePage

# Icons for the canvas's tool actions, by the tool part of their id.
TOOL_ICONS = {
    "select": "move", "move": "move", "rect": "rect", "rectangle": "rect", "polygon": "polygon",
    "brush": "brush", "eraser": "eraser", "wand": "wand", "lasso": "lasso",
    "keypoints": "keypoints", "hand": "hand", "zoom": "zoom",
}  # fmt: skip


_LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
_RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
_BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea

# The canvas team's panels: dock key, title, module in ui/panels, class, area.
DOC_PANELS = [
    ("layers", "Layers", "layers", "LayersPanel", _RIGHT),
    ("properties", "Properties", "properties", "PropertiesPanel", _RIGHT),
    ("tags", "Tags", "tags", "TagsPanel", _RIGHT),
    ("history", "History", "history", "HistoryPanel", _BOTTOM),
]


# The window's own actions: id, text, slot (method path on the window), icon, shortcut, tip.
# The group is the id's prefix. The canvas and panels register theirs themselves.
WINDOW_ACTIONS: list[tuple[str, str, str, str | None, Any, str]] = [
    ("file.new_project", "&New project…", "ask_new_project", "new", "Ctrl+Shift+N", ""),
    ("file.open_project", "&Open project…", "ask_open_project", "open", "Ctrl+O", ""),
    ("file.add_images", "&Add images folder…", "ask_add_images", "folder-add", "Ctrl+Shift+I",
     "Index a folder of images in place"),
    ("file.import", "&Import annotations…", "ask_import", None, "Ctrl+I",
     "Import annotations from COCO, YOLO, VOC, CVAT…"),
    ("file.export", "&Export data set…", "ask_export", None, "Ctrl+E",
     "Export annotations or predictions to another tool's format"),
    ("file.close_project", "&Close project", "close_project", None, "Ctrl+Shift+W", ""),
    ("file.quit", "&Quit", "close", None, "Ctrl+Q", ""),
    ("image.next", "&Next image", "navigator.next", "next", "D",
     "Next image in the browser's order"),
    ("image.previous", "&Previous image", "navigator.previous", "previous", "A",
     "Previous image in the browser's order"),
    ("image.next_unfinished", "Next &unfinished image", "navigator.next_unfinished",
     "next-unfinished", "Shift+D", "Next image that is new or in progress"),
    ("image.mark_done", "Mark &done", "navigator.mark_done", "done", "Ctrl+Return",
     "Mark the image (or the selected tiles) done"),
    ("image.next_in_queue", "Next in &queue", "next_in_queue", "next-unfinished", "Ctrl+Shift+D",
     "Next unfinished image in the model's queue (sorts by uncertainty if not sorted by a score)"),
    ("image.flag", "&Flag for a lead…", "flag_for_lead", "warning", "Ctrl+Shift+F",
     "Ask a lead about this image (or the selected object) and keep working"),
    ("image.mark_done_next", "Mark done and go to next unfinished",
     "navigator.mark_done_and_next", None, "Ctrl+Shift+Return", ""),
    ("view.focus_filter", "Filter images…", "focus_filter", "search", "Ctrl+F",
     "Filter the browser by path"),
    ("view.reset_layout", "Reset panel layout", "reset_layout", None, None, ""),
    ("help.shortcuts", "&Keyboard shortcuts", "show_shortcuts", "keyboard", ["Ctrl+/", "F1"],
     ""),
    ("help.about", "&About Lightable", "show_about", "info", None, ""),
]  # fmt: skip


def _resolve(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _make_canvas() -> QWidget:
    from lightable.ui.canvas import CanvasWidget

    return CanvasWidget()


def _make_panel(module: str, cls: str) -> QWidget:
    """One of the canvas team's panels (imported when editing is set up)."""
    import importlib

    return getattr(importlib.import_module(f"lightable.ui.panels.{module}"), cls)()


class MainWindow(QMainWindow):
    """Lightable's window. ``set_project`` shows a project; ``open_project`` opens one by path."""

    projectChanged = Signal(object)

    def __init__(
        self,
        settings: Settings | None = None,
        runner: JobRunner | None = None,
        lazy_editing: bool = False,
    ) -> None:
        """``lazy_editing``: build the canvas and the editing panels after the first paint.

        The canvas brings numpy, pyqtgraph and the tools (about half a second);
        the app start-up defers them so the browser's thumbnails come first.
        """
        super().__init__()
        self.settings = settings or Settings()
        self.registry = ActionRegistry(self)
        self.runner = runner or JobRunner(self)
        self.project: Any = None
        self.session: Any = None
        self.editing_ready = False
        self._reopen_pending = False
        self._queue_pending = False
        self._icon_names: dict[str, str] = {}
        self.setWindowTitle("Lightable")
        self.setWindowIcon(icons.icon("lightable"))
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )

        # -- central: welcome page or canvas (a stand-in until the canvas is built) --
        self.canvas: Any = CanvasStandIn()
        self.welcome = WelcomePage(self)
        self.guidance = GuidanceBar()
        # The leads' answers sit above the canvas, in one page of the stack.
        self.canvas_page = QWidget()
        page = QVBoxLayout(self.canvas_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addWidget(self.guidance)
        page.addWidget(self.canvas, 1)
        self.central = QStackedWidget()
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.canvas_page)
        self.setCentralWidget(self.central)
        self.options_bar = QToolBar("Tool options", self)
        self.options_bar.setObjectName("toolbar_tool_options")
        self.options_bar.setMovable(False)
        self._option_actions: dict[int, QAction] = {}  # id(widget) -> its toolbar action

        # -- docks: every dock exists from the start (so the saved layout applies);
        # the editing panels fill theirs when editing is set up --
        self.browser = BrowserWidget(self.settings)
        self.labels_panel = LabelsPanel()
        self.jobs_panel = JobsPanel(self.runner)
        # Built with the editing panels: pyqtgraph's import (~0.3 s) stays off the first paint.
        self.dashboard: Any = None
        self.inbox = InboxPanel()
        self.doc_panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        # Side panels run the full height; the bottom area sits under the canvas only.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("browser", "Browser", self.browser, _LEFT)
        self._add_dock("labels", "Labels", self.labels_panel, _RIGHT)
        for key, title, _module, _cls, area in DOC_PANELS:
            self._add_dock(key, title, QWidget(), area)
        self._add_dock("jobs", "Jobs", self.jobs_panel, _BOTTOM)
        # In a scroll area: its own minimum height would otherwise set the window's.
        self._add_dock("dashboard", "Dashboard", QWidget(), _RIGHT)
        self._add_dock("predictions", "Predictions", QWidget(), _RIGHT)
        self.predictions_panel: Any = None  # built with the canvas (it drives the canvas)
        self._add_dock("inbox", "Inbox", _scrolled(self.inbox), _BOTTOM)
        self.tabifyDockWidget(self.docks["properties"], self.docks["tags"])
        self.tabifyDockWidget(self.docks["properties"], self.docks["dashboard"])
        self.tabifyDockWidget(self.docks["properties"], self.docks["predictions"])
        self.docks["properties"].raise_()
        self.tabifyDockWidget(self.docks["history"], self.docks["jobs"])
        self.tabifyDockWidget(self.docks["history"], self.docks["inbox"])
        self.docks["history"].raise_()
        self._layout_pending = True  # default dock sizes, applied once the window has its size

        self.navigator = Navigator(self.browser, self.canvas, self)

        # -- status bar --
        self.status_image = QLabel()
        self.status_size = QLabel()
        self.status_zoom = QLabel()
        self.status_pos = QLabel()
        self.status_pos.setMinimumWidth(110)
        self.job_status = JobStatusWidget(self.runner)
        sb = self.statusBar()
        sb.addWidget(self.status_image)
        sb.addWidget(self.status_size)
        sb.addPermanentWidget(self.job_status)
        sb.addPermanentWidget(self.status_pos)
        sb.addPermanentWidget(self.status_zoom)

        self._register_actions()
        self._build_menus_and_toolbars()
        self._connect()
        self._default_state = self.saveState()
        self._restore_layout()
        if not lazy_editing:
            self.setup_editing()
        self._show_page()

    def setup_editing(self) -> None:
        """Build the canvas and the editing panels, register their actions, attach the session."""
        if self.editing_ready:
            return
        self.editing_ready = True
        stand_in = self.canvas
        self.canvas = _make_canvas()
        self.canvas_page.layout().replaceWidget(stand_in, self.canvas)
        stand_in.setParent(None)
        stand_in.deleteLater()
        self.navigator.canvas = self.canvas
        for key, _title, module, cls, _area in DOC_PANELS:
            panel = _make_panel(module, cls)
            self.doc_panels[key] = panel
            self.docks[key].setWidget(panel)
        from lightable.ui.dashboard import DashboardPanel
        from lightable.ui.panels.predictions import PredictionsPanel

        self.dashboard = DashboardPanel()
        self.dashboard.imagesRequested.connect(self.show_images)
        self.docks["dashboard"].setWidget(self.dashboard)
        self.dashboard.set_project(self.project)

        self.predictions_panel = PredictionsPanel(self.canvas)
        self.predictions_panel.prelabelRequested.connect(self.start_prelabel)
        self.docks["predictions"].setWidget(self.predictions_panel)
        self.canvas.register_actions(self.registry)
        for panel in self.doc_panels.values():
            if hasattr(panel, "register_actions"):  # not every panel has actions
                panel.register_actions(self.registry)
        self._decorate_editing_actions()
        self._build_menus_and_toolbars()
        c = self.canvas
        c.imageChanged.connect(self._image_changed)
        c.documentChanged.connect(self._document_changed)
        c.zoomChanged.connect(self._zoom_changed)
        c.cursorMoved.connect(self._cursor_moved)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        c.toolChanged.connect(self._tool_changed)
        self._tool_changed()
        if self.project is not None:
            self._attach_session()
            if stand_in.pending is not None:
                self.navigator.open(stand_in.pending)
        self._show_page()

    # -- construction ------------------------------------------------------------------------
    def _add_dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    def _act(self, id: str, text: str, cb: Any, icon: str | None = None, **kw: Any) -> QAction:
        if icon:
            self._icon_names[id] = icon
            kw["icon"] = icons.icon(icon)
        return self.registry.add(id, text, cb, **kw)

    def _register_actions(self) -> None:
        r = self.registry
        for id, text, slot, icon, shortcut, tip in WINDOW_ACTIONS:
            group = id.split(".", 1)[0].title()
            self._act(id, text, _resolve(self, slot), icon, shortcut=shortcut, group=group,
                      tip=tip)  # fmt: skip
        for status in (ImageStatus.IN_PROGRESS, ImageStatus.REVIEW, ImageStatus.NEW):
            name = str(status)
            text = {"new": "Mark as new", "review": "Mark for review"}.get(name, "Mark in progress")
            self._act(f"image.mark_{name}", text,
                      lambda s=status: self.navigator.set_status(s), group="Image")  # fmt: skip
        self._act("view.full_screen", "Full screen", self._toggle_full_screen, group="View",
                  shortcut="F11", checkable=True)  # fmt: skip
        self._panel_actions: list[QAction] = []
        for key, dock in self.docks.items():
            act = dock.toggleViewAction()
            act.setText(dock.windowTitle())
            r.adopt(f"view.panel.{key}", act, group="Panels")
            self._panel_actions.append(act)
        self._theme_group = QActionGroup(self)
        for name in ("dark", "light"):
            # ``triggered``, not ``toggled``: checking the current theme must not re-apply it.
            act = self._act(f"view.theme_{name}", f"{name.title()} theme", None, group="View",
                            checkable=True)  # fmt: skip
            act.setChecked(theme.current() == name)
            act.triggered.connect(lambda _checked=False, name=name: self.set_theme(name))
            self._theme_group.addAction(act)
        self.labels_panel.register_actions(r)

    def _decorate_editing_actions(self) -> None:
        """Icons for the canvas's actions that came without one."""
        r = self.registry
        named = [(i, TOOL_ICONS.get(i.split(".", 1)[1])) for i in r.ids() if i.startswith("tool.")]
        named += [("edit.undo", "undo"), ("edit.redo", "redo"), ("view.zoom_fit", "zoom-fit"),
                  ("view.zoom_100", "zoom-100")]  # fmt: skip
        for id, icon in named:
            if icon and r.has(id) and r.action(id).icon().isNull():
                self._icon_names[id] = icon
                r.action(id).setIcon(icons.icon(icon))

    def _build_menus_and_toolbars(self) -> None:
        """(Re)build menus and toolbars from the registry."""
        r = self.registry
        self.menuBar().clear()
        for bar in self.findChildren(QToolBar):
            self.removeToolBar(bar)
            if bar is not self.options_bar:  # it keeps the tools' option widgets
                bar.deleteLater()
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        panels = QMenu("&Panels", self)
        panels.addActions(self._panel_actions)
        themes = QMenu("&Theme", self)
        themes.addActions(self._theme_group.actions())
        self.menus = build_menus(
            self.menuBar(), r, {"recent": self.recent_menu, "panels": panels, "theme": themes}
        )

        top = QToolBar("Main toolbar", self)
        top.setObjectName("toolbar_main")
        top.setMovable(False)
        top.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for id in ("file.open_project", "file.add_images", "-", "edit.undo", "edit.redo", "-",
                   "view.zoom_fit", "view.zoom_100", "-", "image.previous", "image.next",
                   "image.next_unfinished", "image.mark_done"):  # fmt: skip
            if id == "-":
                top.addSeparator()
            elif r.has(id):
                top.addAction(r.action(id))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, top)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.options_bar)
        self.options_bar.setVisible(bool(self._option_actions))
        tools = [r.action(i) for i in r.ids() if i.startswith("tool.")]
        tools = [t for t in tools if not t.icon().isNull()]
        if tools:
            bar = QToolBar("Tools", self)
            bar.setObjectName("toolbar_tools")
            bar.setMovable(False)
            for t in tools:
                bar.addAction(t)
            self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)

    def _connect(self) -> None:
        self.browser.imageActivated.connect(self._open_from_browser)
        self.navigator.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.labels_panel.labelActivated.connect(self._label_activated)
        self.runner.jobEnded.connect(self._job_ended)
        self.browser.model.loaded.connect(self._ids_loaded)
        self.inbox.imageRequested.connect(self._open_from_browser)

    # -- projects ----------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Show ``project`` (None closes the current one)."""
        old = self.project
        if old is not None:
            self._remember_image()
        self.project = project
        self.browser.set_project(project)
        if self.dashboard is not None:
            self.dashboard.set_project(project)
        self.inbox.set_project(project)
        self.guidance.show_for(None, None, [])
        if self.editing_ready:
            self._attach_session()
        if old is not None and old is not project:
            old.close()
        if project is not None:
            target = str(project.folder) if project.folder is not None else project.url
            self.settings.add_recent_project(target)
            self.setWindowTitle(f"{project.name} — Lightable")
            self._reopen_pending = True  # once the browser has the ids
        else:
            self.setWindowTitle("Lightable")
        self._show_page()
        self._update_status_image(None)
        self.projectChanged.emit(project)

    def _attach_session(self) -> None:
        """A fresh edit session on the project for the canvas, labels and navigation."""
        from lightable.store.edits import EditSession

        project = self.project
        self.session = EditSession(project) if project is not None else None
        self.canvas.set_project(project, self.session)
        self.labels_panel.set_session(self.session)
        self.navigator.set_session(self.session)
        for panel in self.doc_panels.values():
            panel.set_document(None)
        if self.predictions_panel is not None:
            self.predictions_panel.set_project(project)

    def open_project(self, target: str) -> bool:
        from lightable.store.project import Project

        try:
            project = Project.open(target)
        except LightableError as exc:
            self.show_error("Cannot open project", str(exc))
            if "not a Lightable project" in str(exc):
                self.settings.remove_recent_project(target)
            return False
        self.set_project(project)
        return True

    def close_project(self) -> None:
        self.set_project(None)

    def open_demo(self) -> None:
        """Open the demo project, building it first (as a job) if it is not there yet."""
        folder = self.settings.demo_folder()
        if (folder / "project.db").is_file():
            self.open_project(str(folder))
            return
        try:
            from lightable.jobs.demo import build_demo
        except ImportError:
            self.show_error("No demo", "This installation has no demo project builder.")
            return
        self.welcome.set_message(f"Building the demo project in {folder}…")
        job = self.runner.start("Building the demo project", _build_demo_job, build_demo, folder)
        job.succeeded.connect(lambda _r: self.open_project(str(folder)))

    def add_images_folder(self, folder: str | Path) -> Job | None:
        """Index ``folder`` in place as a job; thumbnails are made afterwards, also as a job."""
        if self.project is None:
            return None
        from lightable.jobs.indexing import index_folders

        project = self.project
        job = self.runner.start(
            f"Adding {Path(folder).name}", index_folders, project, [str(folder)]
        )

        def done(report: Any) -> None:
            summary = report.summary() if hasattr(report, "summary") else "done"
            self.statusBar().showMessage(f"Indexed {folder}: {summary}", 8000)
            if project is self.project:
                self.browser.refresh()
                self.build_thumbnails()

        job.succeeded.connect(done)
        return job

    def start_prelabel(self, params: dict[str, Any]) -> Job | None:
        """Pre-label the browser's selection (or, with none, its filtered images) as a job."""
        if self.project is None:
            return None
        from lightable.jobs.prelabel import prelabel
        from lightable.ml.registry import ModelSpec

        ids = self.browser.selected_ids()
        if len(ids) < 2:  # one selected image is just the current one: run on the whole view
            ids = self.browser.ids()
        spec = ModelSpec(params["model"], params.get("weights"))
        job = self.runner.start(
            f"Pre-labeling with {params['model']}",
            prelabel,
            self.project,
            spec,
            ids,
            device=params.get("device", "auto"),
            batch_size=int(params.get("batch_size", 4)),
            threshold=params.get("threshold"),
        )
        return job

    def build_thumbnails(self) -> Job | None:
        if self.project is None:
            return None
        from lightable.jobs.thumbnails import build_thumbnails

        return self.runner.start("Building thumbnails", build_thumbnails, self.project)

    # -- dialogs -------------------------------------------------------------------------
    def ask_new_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "New project: choose an empty folder for the project's database"
        )
        if not folder:
            return
        from lightable.store.project import Project

        try:
            project = Project.create(folder)
        except LightableError as exc:
            self.show_error("Cannot create project", str(exc))
            return
        self.set_project(project)
        self.ask_add_images()

    def ask_open_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_project(folder)

    def ask_add_images(self) -> None:
        if self.project is None:
            self.show_error("No project", "Open or create a project first.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Add images folder (indexed in place)")
        if folder:
            self.add_images_folder(folder)

    def ask_import(self) -> None:
        if self.project is None:
            self.show_error("No project", "Open or create a project first.")
            return
        from lightable.ui.dialogs.import_export import ImportDialog

        self.import_dialog = ImportDialog(self.project, self.runner, self)
        self.import_dialog.finished_job.connect(lambda _s: self.browser.refresh())
        self.import_dialog.show()

    def ask_export(self) -> None:
        if self.project is None:
            self.show_error("No project", "Open or create a project first.")
            return
        from lightable.ui.dialogs.import_export import ExportDialog

        self.export_dialog = ExportDialog(self.project, self.runner, self)
        self.export_dialog.show()

    def flag_for_lead(self) -> FlagDialog | None:
        """Ask about the shown image, or its selected object; stored when the dialog is accepted."""
        image_id = self.canvas.image_id() if self.editing_ready else None
        if self.project is None or image_id is None:
            self.statusBar().showMessage("Open an image to flag it", 4000)
            return None
        doc = self.canvas.document()
        ann = None
        if doc is not None and doc.image_id == image_id and doc.selected():
            ann = doc.annotation(min(doc.selected()))
        about = None
        if ann is not None:
            label = self.project.labels.get(ann.label_id) if ann.label_id is not None else None
            about = f"{label.name if label else 'object'} #{ann.id}"
        dialog = FlagDialog(self.project.labels.all(), about, self)
        if ann is not None and ann.label_id is not None:
            dialog.label.setCurrentIndex(max(0, dialog.label.findData(ann.label_id)))
        dialog.accepted.connect(lambda: self._store_flag(dialog, image_id, ann))
        self.flag_dialog = dialog
        dialog.open()
        return dialog

    def _store_flag(self, dialog: FlagDialog, image_id: int, ann: Any) -> None:
        from lightable.store.escalations import EscalationRepo

        question, label_id = dialog.values()
        user = self.inbox.user()
        region = tuple(ann.geometry.bbox()) if ann is not None else None
        EscalationRepo(self.project).create(
            image_id,
            question,
            created_by=user.id if user is not None else None,
            annotation_id=ann.id if ann is not None else None,
            region=region,
            label_id=label_id,
        )
        self.inbox.refresh()
        self.statusBar().showMessage("Flagged for a lead", 4000)

    def show_images(self, query: Any) -> None:
        """Filter the browser to exactly ``query`` (a dashboard bar's images)."""
        self.docks["browser"].show()
        self.docks["browser"].raise_()
        self.browser.set_query(query)

    def next_in_queue(self) -> int | None:
        """The next unfinished image in the browser's order, which is the model's queue.

        Not sorted by a score yet: sort by the newest run's uncertainty first (once
        the ids arrive, the top of the queue opens).
        """
        import dataclasses

        from lightable.store.images import SCORE_SORTS, SortKey

        if self.project is None:
            return None
        q = self.browser.query()
        if q.sort not in SCORE_SORTS:
            runs = [self.browser.run.itemData(i) for i in range(self.browser.run.count())]
            runs = [r for r in runs if r is not None]
            if not runs:
                self.statusBar().showMessage("No model run has scored images yet", 5000)
                return None
            q = dataclasses.replace(q, sort=SortKey.UNCERTAINTY, score_run=runs[0],
                                    descending=False)  # fmt: skip
            self._queue_pending = True
            self.browser.set_query(q)
            return None
        return self._open_next_unfinished_after(self.navigator.current_id())

    def _open_next_unfinished_after(self, current: int | None) -> int | None:
        """Walk the browser's order (the queue) from ``current``, a chunk of ids at a time."""
        from lightable.ui.browser.navigation import UNFINISHED

        ids = self.browser.ids()
        row = self.browser.model.row_of(current) if current is not None else None
        rest = ids[(row + 1 if row is not None else 0) :]
        for start in range(0, len(rest), 256):
            chunk = rest[start : start + 256]
            status = {i: im.status for i, im in self.project.images.get_many(chunk).items()}
            for image_id in chunk:
                if status.get(image_id) in UNFINISHED:
                    self.navigator.open(image_id)
                    return image_id
        self.statusBar().showMessage("End of the queue: no unfinished image after this one", 5000)
        return None

    def _open_queue_top(self) -> None:
        """The first unfinished image of the (just sorted) queue."""
        self._open_next_unfinished_after(None)

    def show_shortcuts(self) -> None:
        from lightable.ui.shortcuts_dialog import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self.registry, self)
        self.shortcuts_dialog.show()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Lightable",
            f"<h3>Lightable {__version__}</h3><p>A desktop annotation IDE for computer-vision "
            "data sets: browse, label, correct the model, escalate what is unclear.</p>",
        )

    def show_error(self, title: str, text: str) -> None:
        """Tell the user; tests replace this to collect messages instead of a modal box."""
        self.statusBar().showMessage(text, 10000)
        QMessageBox.warning(self, title, text)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_projects()
        for target in items:
            act = self.recent_menu.addAction(target)
            act.triggered.connect(lambda _=False, t=target: self.open_project(t))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        else:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.clear_recent_projects()
        self.welcome.refresh()

    # -- view ----------------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.docks["browser"].show()
        self.docks["browser"].raise_()
        self.browser.search.setFocus()
        self.browser.search.selectAll()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        self._default_dock_sizes()

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if app is not None:
            theme.apply_theme(app, name)
        icons.clear_cache()
        for id, icon in self._icon_names.items():
            if self.registry.has(id):
                self.registry.action(id).setIcon(icons.icon(icon))
        self.settings.set_theme(name)
        self.browser.grid.viewport().update()

    def _toggle_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def _show_page(self) -> None:
        if self.project is None:
            self.welcome.refresh()
            self.central.setCurrentWidget(self.welcome)
        else:
            self.central.setCurrentWidget(self.canvas_page)
        has = self.project is not None
        for id in ("file.add_images", "file.close_project", "image.next", "image.previous",
                   "image.next_unfinished", "image.mark_done", "image.mark_done_next",
                   "file.import", "file.export", "image.flag", "image.next_in_queue"):  # fmt: skip
            if self.registry.has(id):
                self.registry.action(id).setEnabled(has)

    # -- reactions -------------------------------------------------------------------------
    def _open_from_browser(self, image_id: int) -> None:
        self.navigator.open(image_id)
        self.canvas.setFocus()

    def _image_changed(self, image_id: Any) -> None:
        if image_id is not None and self.browser.current_id() != image_id:
            self.browser.select_image(image_id)
        self._update_status_image(image_id)

    def _update_status_image(self, image_id: int | None) -> None:
        im = None
        if image_id is not None:
            row = self.browser.model.row_of(image_id, self.browser.current_row())
            im = self.browser.model.image_at(row) if row is not None else None
            if im is None and self.project is not None:
                im = self.project.images.get(image_id)
        if im is None:
            self.status_image.setText("")
            self.status_size.setText("")
            return
        self.status_image.setText(im.path)
        self.status_size.setText(f"{im.width} × {im.height}" if im.width else "")

    def _document_changed(self, doc: Any) -> None:
        for panel in self.doc_panels.values():
            panel.set_document(doc)
        self._update_guidance(doc)

    def _update_guidance(self, doc: Any) -> None:
        if doc is None:
            self.guidance.show_for(None, None, [])
            return
        label_ids = sorted({a.label_id for a in doc.annotations() if a.label_id is not None})
        self.guidance.show_for(self.project, doc.image_id, label_ids)

    def _tool_changed(self, *_: Any) -> None:
        """Show the active tool's options bar; the others are hidden, never deleted."""
        widget = self.canvas.tool_options_widget()
        for act in self._option_actions.values():
            act.setVisible(False)
        if widget is not None:
            act = self._option_actions.get(id(widget))
            if act is None:
                act = self.options_bar.addWidget(widget)
                self._option_actions[id(widget)] = act
            act.setVisible(True)
        self.options_bar.setVisible(widget is not None)

    def _zoom_changed(self, zoom: float) -> None:
        self.status_zoom.setText(f"{zoom * 100:.0f}%")

    def _cursor_moved(self, pos: Any) -> None:
        self.status_pos.setText("" if pos is None else f"{pos.x():.0f}, {pos.y():.0f}")

    def _label_activated(self, label_id: int) -> None:
        if self.editing_ready:
            self.canvas.set_active_label(label_id)

    def _job_ended(self, job: Job) -> None:
        if job.status == JobStatus.FAILED:
            self.statusBar().showMessage(f"{job.title} failed: {job.error}", 15000)
            self.docks["jobs"].show()
            self.docks["jobs"].raise_()
        elif job.status == JobStatus.CANCELLED:
            self.statusBar().showMessage(f"{job.title}: cancelled", 5000)

    # -- persistence -----------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = self.settings.window_state()
        if state is not None and self.restoreState(state):
            self._layout_pending = False

    def _default_dock_sizes(self) -> None:
        # Room for two columns of thumbnails; the right column for the panels.
        self.resizeDocks([self.docks["browser"]], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["labels"]], [290], Qt.Orientation.Horizontal)
        bottom = self.docks.get("history", self.docks["jobs"])
        self.resizeDocks([bottom], [230], Qt.Orientation.Vertical)
        if "layers" in self.docks:
            self.resizeDocks(
                [self.docks["labels"], self.docks["layers"]], [220, 300], Qt.Orientation.Vertical
            )

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._layout_pending:
            self._layout_pending = False
            self._default_dock_sizes()
            self._default_state = self.saveState()

    def _project_key(self) -> str | None:
        if self.project is None:
            return None
        target = str(self.project.folder) if self.project.folder is not None else self.project.url
        return "last_image/" + QByteArray(target.encode()).toBase64().data().decode()

    def _remember_image(self) -> None:
        key = self._project_key()
        current = self.navigator.current_id()
        if key is not None and current is not None:
            self.settings.q.setValue(key, int(current))

    def _ids_loaded(self, _query: Any) -> None:
        if self._queue_pending:
            self._queue_pending = False
            self._open_queue_top()
        if self._reopen_pending:
            self._reopen_pending = False
            self._reopen_last_image()

    def _reopen_last_image(self) -> None:
        key = self._project_key()
        if key is None or self.canvas.image_id() is not None:
            return  # the user (or a test) already opened something
        try:
            last = int(self.settings.q.value(key, -1))
        except (TypeError, ValueError):
            last = -1
        if last >= 0 and self.browser.model.row_of(last) is not None:
            self.navigator.open(last)
        elif self.browser.ids():
            self.navigator.open(self.browser.ids()[0])

    def closeEvent(self, event: QCloseEvent) -> None:
        self._remember_image()
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.runner.shutdown(3000)
        self.browser.set_project(None)
        if self.project is not None:
            self.project.close()
            self.project = None
        super().closeEvent(event)


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _build_demo_job(build_demo: Any, folder: Path, state: Any) -> Path:
    project = build_demo(folder, state=state)
    project.close()
    return folder
