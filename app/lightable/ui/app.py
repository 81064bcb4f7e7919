"""Starting the window: ``lightable [PROJECT]``.

Start-up is kept light: no torch, no scan of the project before the first
paint (the browser reads one list of ids and the rows on screen), heavy
modules imported where they are used.

The window comes up with the browser first; the canvas and the editing panels
(numpy, pyqtgraph, the tools: about half a second) are built right after the
first thumbnails are painted.

For the start-up benchmark, ``LIGHTABLE_EXIT_AFTER_FIRST_THUMBNAILS=1`` makes
the app print ``FIRST_THUMBNAILS <unix time> tiles=<n> torch=<0|1>`` when the
browser first paints tiles with thumbnails, and quit; ``LIGHTABLE_EXIT_WHEN_READY=1``
prints ``READY <unix time>`` once the canvas is built too, and quits.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

EXIT_AFTER_FIRST_THUMBNAILS = "LIGHTABLE_EXIT_AFTER_FIRST_THUMBNAILS"
EXIT_WHEN_READY = "LIGHTABLE_EXIT_WHEN_READY"
SETUP_DEADLINE_MS = 1500  # build the canvas by then even if no thumbnail was painted


def run_app(project_arg: str | None) -> int:
    """Open the main window on PROJECT, else the last project, else the demo project."""
    from PySide6.QtWidgets import QApplication

    import lightable.ui  # noqa: F401  (the None fix before any Qt call)
    from lightable.ui import theme
    from lightable.ui.settings import APPLICATION, ORGANIZATION, Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Lightable")
    app.setDesktopFileName("lightable")
    settings = Settings()
    theme.apply_theme(app, settings.theme())

    from lightable.ui.main_window import MainWindow

    window = MainWindow(settings, lazy_editing=True)
    if os.environ.get(EXIT_AFTER_FIRST_THUMBNAILS):
        _exit_after_first_thumbnails(app, window)
    window.show()
    open_initial_project(window, settings, project_arg)
    _schedule_editing_setup(app, window)
    return int(app.exec())


def _schedule_editing_setup(app, window) -> None:
    """Build the canvas once the first thumbnails are on screen (or soon anyway)."""
    from PySide6.QtCore import QTimer

    def setup() -> None:
        if window.editing_ready:
            return
        window.setup_editing()
        freeze_startup_objects()
        if os.environ.get(EXIT_WHEN_READY):
            print(f"READY {time.time():.6f}", flush=True)
            QTimer.singleShot(0, window.close)
            QTimer.singleShot(0, app.quit)

    def painted(n: int) -> None:
        if n > 0:
            window.browser.grid.painted.disconnect(painted)
            QTimer.singleShot(0, setup)

    # The browser's ids arrive on a worker thread, so ask the store whether there is
    # anything to paint; waiting for the paint keeps pyqtgraph and the canvas off it.
    if window.project is None or window.project.images.count() == 0:
        QTimer.singleShot(0, setup)
        return
    window.browser.grid.painted.connect(painted)
    QTimer.singleShot(SETUP_DEADLINE_MS, setup)


def open_initial_project(window, settings, project_arg: str | None) -> None:
    """The project named on the command line, or the last one, or the demo."""
    if project_arg:
        if not window.open_project(project_arg):
            window.welcome.set_message(f"Could not open {project_arg}.")
        return
    last = settings.last_project()
    if last and _exists(last) and window.open_project(last):
        return
    demo = settings.demo_folder()
    if (demo / "project.db").is_file():
        window.open_project(str(demo))
        return
    try:
        import lightable.jobs.demo  # noqa: F401
    except ImportError:
        window.welcome.set_message(
            "No project yet. Use File › New project to create one, or File › Open project."
        )
        return
    window.welcome.set_message(
        f"No project yet: building the demo project in {demo} (Jobs panel shows progress). "
        "Or create your own with File › New project."
    )
    window.open_demo()


def freeze_startup_objects() -> None:
    """Move everything made during start-up out of the garbage collector's way.

    Qt wrappers, SQLAlchemy's compiled metadata and the modules live as long as
    the app; without this, every full collection walks them all (~100 ms on a
    busy 2-core machine: a visible hitch while scrolling).
    """
    import gc

    gc.freeze()


def _exists(target: str) -> bool:
    return "://" in target or (Path(target) / "project.db").is_file() or Path(target).is_file()


def _exit_after_first_thumbnails(app, window) -> None:
    from PySide6.QtCore import QTimer

    def painted(n: int) -> None:
        if n <= 0:
            return
        torch = int("torch" in sys.modules)
        print(f"FIRST_THUMBNAILS {time.time():.6f} tiles={n} torch={torch}", flush=True)
        window.browser.grid.painted.disconnect(painted)
        QTimer.singleShot(0, window.close)
        QTimer.singleShot(0, app.quit)

    window.browser.grid.painted.connect(painted)
