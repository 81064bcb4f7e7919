"""The pieces the window shows before a project or the canvas is there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lightable.ui import icons, theme

if TYPE_CHECKING:
    from lightable.ui.main_window import MainWindow


class CanvasStandIn(QWidget):
    """Takes the canvas's place for the half second before it is built."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: int | None = None

    def image_id(self) -> int | None:
        return None

    def show_image(self, image_id: int | None) -> None:
        self.pending = image_id


class WelcomePage(QWidget):
    """Shown in place of the canvas while no project is open."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        logo = QLabel()
        logo.setPixmap(icons.pixmap("lightable", 72, theme.hex_color("accent")))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("<h2>Lightable</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setObjectName("dim")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for label, action_id in (("New project…", "file.new_project"),
                                 ("Open project…", "file.open_project")):  # fmt: skip
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, a=action_id: window.registry.trigger(a))
            buttons.addWidget(b)
        self.demo_button = QPushButton("Open the demo project")
        self.demo_button.clicked.connect(window.open_demo)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        self.recent = QListWidget()
        self.recent.setMaximumWidth(520)
        self.recent.itemActivated.connect(lambda item: window.open_project(item.text()))
        self.recent_title = QLabel("Recent projects")
        self.recent_title.setObjectName("dim")
        col = QVBoxLayout()
        col.addStretch(2)
        col.addWidget(logo)
        col.addWidget(title)
        col.addWidget(self.text)
        col.addSpacing(12)
        col.addLayout(buttons)
        col.addSpacing(18)
        col.addWidget(self.recent_title, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.recent, 1, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(3)
        self.setLayout(col)
        self.set_message("No project is open. Create one, open one, or look around the demo.")

    def set_message(self, text: str) -> None:
        self.text.setText(text)

    def refresh(self) -> None:
        self.recent.clear()
        items = self.window_.settings.recent_projects()
        for p in items:
            QListWidgetItem(p, self.recent)
        self.recent.setVisible(bool(items))
        self.recent_title.setVisible(bool(items))
