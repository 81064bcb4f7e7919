"""The escalation inbox: questions from labelers, answers from leads.

A labeler flags an image (or the selected object) with a question and keeps
working; a lead answers in the thread and resolves; a resolved answer becomes
guidance shown to whoever opens an image of the same label.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lightable.core.model import Role
from lightable.store.escalations import EscalationRepo
from lightable.store.users import UserRepo, current_user_name

STATUS_TEXT = {"open": "● open", "answered": "◐ answered", "resolved": "✓ resolved"}


class InboxPanel(QWidget):
    imageRequested = Signal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._project: Any = None
        self._repo: EscalationRepo | None = None
        self._user: Any = None
        self._unsub: Any = None
        self._timer = QTimer(self, singleShot=True, interval=300)
        self._timer.timeout.connect(self.refresh)

        self.status = QComboBox()
        self.status.addItem("Open and answered", "active")
        for s in ("open", "answered", "resolved"):
            self.status.addItem(s.capitalize(), s)
        self.status.addItem("All", None)
        self.status.currentIndexChanged.connect(self.refresh)
        self.count = QLabel()

        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Status", "Question", "Image", "By"])
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.itemSelectionChanged.connect(self._show_selected)
        self.list.itemDoubleClicked.connect(lambda *_: self._open_image())

        self.thread = QTextBrowser()
        self.thread.setOpenLinks(False)
        self.reply_edit = QPlainTextEdit()
        self.reply_edit.setPlaceholderText("Write an answer or a follow-up question…")
        self.reply_edit.setMaximumHeight(80)
        self.reply_button = QPushButton("Reply")
        self.resolve_button = QPushButton("Resolve")
        self.reopen_button = QPushButton("Reopen")
        self.open_button = QPushButton("Open image")
        self.reply_button.clicked.connect(self._reply)
        self.resolve_button.clicked.connect(self._resolve)
        self.reopen_button.clicked.connect(self._reopen)
        self.open_button.clicked.connect(self._open_image)

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.count)
        buttons = QHBoxLayout()
        for b in (self.reply_button, self.resolve_button, self.reopen_button, self.open_button):
            buttons.addWidget(b)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.thread, 1)
        dl.addWidget(self.reply_edit)
        dl.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(detail)
        split.setSizes([200, 260])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._update_buttons()

    # -- wiring ----------------------------------------------------------------------
    def set_project(self, project: Any, user_name: str | None = None) -> None:
        if self._unsub:
            self._unsub()
            self._unsub = None
        self._project = project
        self._repo = EscalationRepo(project) if project is not None else None
        self._user = UserRepo(project).ensure(user_name or current_user_name()) if project else None
        if project is not None:
            self._unsub = project.subscribe(self._on_change)
        self.refresh()

    def user(self) -> Any:
        return self._user

    def _on_change(self, change: Any) -> None:
        if change.kind.startswith("escalations"):
            QTimer.singleShot(0, self._timer.start)  # listeners may run on other threads

    def refresh(self) -> None:
        keep = self.selected_id()
        self.list.clear()
        if self._repo is None:
            self.count.setText("")
            return
        status = self.status.currentData()
        rows = self._repo.list(status=None if status in (None, "active") else status)
        if status == "active":
            rows = [r for r in rows if r["status"] != "resolved"]
        for r in rows:
            it = QTreeWidgetItem(
                [
                    STATUS_TEXT.get(r["status"], r["status"]),
                    r["question"],
                    r["image_path"],
                    r["author"] or "",
                ]
            )
            it.setData(0, Qt.ItemDataRole.UserRole, r)
            it.setToolTip(1, r["question"])
            self.list.addTopLevelItem(it)
            if r["id"] == keep:
                it.setSelected(True)
        for c in range(4):
            self.list.resizeColumnToContents(c)
        self.count.setText(f"{len(rows)}")
        self._show_selected()

    def selected(self) -> dict[str, Any] | None:
        items = self.list.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def selected_id(self) -> int | None:
        s = self.selected()
        return int(s["id"]) if s else None

    def _show_selected(self) -> None:
        row = self.selected()
        if row is None or self._repo is None:
            self.thread.setHtml("<i>Select an escalation to read its thread.</i>")
        else:
            parts = [f"<h3>{html.escape(row['question'])}</h3>",
                     f"<p style='color:#9aa'>{html.escape(row['image_path'])} · {row['status']}</p>"]  # fmt: skip
            for m in self._repo.messages(row["id"]):
                who = html.escape(m["author"] or "someone")
                parts.append(f"<p><b>{who}</b> <span style='color:#889'>{m['created_at']:%Y-%m-%d %H:%M}</span>"
                             f"<br>{html.escape(m['body'])}</p>")  # fmt: skip
            if row.get("answer"):
                parts.append(
                    f"<p style='color:#8fd18f'><b>Answer:</b> {html.escape(row['answer'])}</p>"
                )
            self.thread.setHtml("".join(parts))
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.selected()
        has = row is not None
        self.reply_button.setEnabled(has)
        self.open_button.setEnabled(has)
        self.resolve_button.setEnabled(has and row["status"] != "resolved")  # type: ignore[index]
        self.reopen_button.setEnabled(has and row["status"] == "resolved")  # type: ignore[index]

    # -- actions ---------------------------------------------------------------------
    def _reply(self) -> None:
        eid, text = self.selected_id(), self.reply_edit.toPlainText().strip()
        if eid is None or not text or self._repo is None:
            return
        self._repo.reply(eid, text, author_id=self._user.id if self._user else None)
        self.reply_edit.clear()
        self.refresh()

    def _resolve(self) -> None:
        eid = self.selected_id()
        if eid is None or self._repo is None:
            return
        text = self.reply_edit.toPlainText().strip() or None
        self._repo.resolve(eid, by=self._user.id if self._user else None, answer=text)
        self.reply_edit.clear()
        self.refresh()

    def _reopen(self) -> None:
        eid = self.selected_id()
        if eid is not None and self._repo is not None:
            self._repo.reopen(eid, by=self._user.id if self._user else None)
            self.refresh()

    def _open_image(self) -> None:
        row = self.selected()
        if row is not None:
            self.imageRequested.emit(int(row["image_id"]))


class FlagDialog(QDialog):
    """Ask a question about the current image (or the selected object) and keep working."""

    def __init__(
        self, labels: list[Any], about_object: str | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flag for a lead")
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText("What are you unsure about?")
        self.label = QComboBox()
        self.label.addItem("(no label)", None)
        for lb in labels:
            self.label.addItem(lb.name, lb.id)
        form = QFormLayout(self)
        if about_object:
            form.addRow("About", QLabel(about_object))
        form.addRow("Question", self.question)
        form.addRow("Label", self.label)
        bb = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        bb.button(QDialogButtonBox.StandardButton.Ok).setText("Flag")
        bb.accepted.connect(self._accept)
        bb.rejected.connect(self.reject)
        form.addRow(bb)

    def _accept(self) -> None:
        if self.question.toPlainText().strip():
            self.accept()

    def values(self) -> tuple[str, int | None]:
        return self.question.toPlainText().strip(), self.label.currentData()


class GuidanceBar(QLabel):
    """A strip above the canvas with the leads' answers that apply to this image."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("guidanceBar")
        self.setStyleSheet(
            "#guidanceBar{background:#2d3a2d;color:#d6ecd6;border-bottom:1px solid #4b6b4b;padding:4px 8px;}"
        )
        self.hide()
        self.items: list[dict[str, Any]] = []

    def show_for(self, project: Any, image_id: int | None, label_ids: list[int]) -> None:
        if project is None or image_id is None:
            self.items = []
        else:
            self.items = EscalationRepo(project).guidance(image_id, label_ids)[:3]
        if not self.items:
            self.hide()
            return
        lines = [
            f"Guidance: <b>{html.escape(g['question'])}</b> — {html.escape(g['answer'])}"
            for g in self.items
        ]
        self.setText("<br>".join(lines))
        self.show()


def is_lead(user: Any) -> bool:
    return user is not None and user.role in (Role.LEAD, Role.ADMIN)
