"""What the window remembers between runs: recent projects, layout, theme.

One INI file per user (QSettings, user scope). Tests point QSettings at a
temporary folder with ``QSettings.setPath`` so nothing leaks into the real one.
A value that comes back malformed (a hand-edited file) is treated as missing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "Lightable"
APPLICATION = "Lightable"
MAX_RECENT = 10


class Settings:
    """Typed access to the few keys the UI keeps."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
        )

    # -- projects ------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self.q.value("projects/recent", [])
        if isinstance(value, str):  # QSettings returns a lone string for a 1-item list
            value = [value]
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v][:MAX_RECENT]

    def add_recent_project(self, target: str) -> None:
        items = [p for p in self.recent_projects() if p != target]
        items.insert(0, target)
        self.q.setValue("projects/recent", items[:MAX_RECENT])
        self.q.setValue("projects/last", target)
        self.q.sync()

    def remove_recent_project(self, target: str) -> None:
        self.q.setValue("projects/recent", [p for p in self.recent_projects() if p != target])
        if self.last_project() == target:
            self.q.remove("projects/last")
        self.q.sync()

    def clear_recent_projects(self) -> None:
        self.q.remove("projects/recent")
        self.q.sync()

    def last_project(self) -> str | None:
        v = self.q.value("projects/last")
        return v if isinstance(v, str) and v else None

    # -- window --------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)
        self.q.sync()

    # -- appearance and browser ---------------------------------------------------------
    def theme(self) -> str:
        v = self.q.value("ui/theme", "dark")
        return v if v in ("dark", "light") else "dark"

    def set_theme(self, name: str) -> None:
        self.q.setValue("ui/theme", name)
        self.q.sync()

    def thumb_size(self) -> int:
        try:
            v = int(self.q.value("browser/thumb_size", 128))
        except (TypeError, ValueError):
            return 128
        return min(256, max(64, v))

    def set_thumb_size(self, size: int) -> None:
        self.q.setValue("browser/thumb_size", int(size))

    def demo_folder(self) -> Path:
        """Where the demo project is built when no project was ever opened.

        ``LIGHTABLE_DEMO_DIR`` overrides it (tests, kiosks, read-only homes).
        """
        import os

        override = os.environ.get("LIGHTABLE_DEMO_DIR")
        if override:
            return Path(override)
        from PySide6.QtCore import QStandardPaths

        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        if not base:
            base = str(Path.home() / ".local" / "share" / "lightable")
        return Path(base) / "demo"
