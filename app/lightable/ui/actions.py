"""One registry of every user action: menus, toolbars and the shortcuts window read it.

Actions are identified by dotted ids (``file.open``, ``tool.rect``, ``edit.undo``).
The main window owns one registry and hands it to the canvas and panels, which
add their own actions; the Help > Keyboard shortcuts window lists ``groups()``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

ShortcutSpec = str | QKeySequence | QKeySequence.StandardKey | list | tuple | None


def _sequences(spec: ShortcutSpec) -> list[QKeySequence]:
    if spec is None:
        return []
    if isinstance(spec, list | tuple):
        out: list[QKeySequence] = []
        for s in spec:
            out.extend(_sequences(s))
        return out
    if isinstance(spec, QKeySequence.StandardKey):
        return list(QKeySequence.keyBindings(spec))
    seq = spec if isinstance(spec, QKeySequence) else QKeySequence(spec)
    return [] if seq.isEmpty() else [seq]


class ActionRegistry(QObject):
    """Actions by id, grouped for menus and the shortcuts window.

    ``attach(widget)`` adds every action (present and future) to a widget so that
    its shortcut works anywhere in that widget's window.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._actions: dict[str, QAction] = {}
        self._groups: dict[str, list[QAction]] = {}
        self._widgets: list[QWidget] = []
        if isinstance(parent, QWidget):
            self._widgets.append(parent)

    def add(
        self,
        id: str,
        text: str,
        callback: Callable[[], object] | None = None,
        *,
        shortcut: ShortcutSpec = None,
        group: str = "General",
        checkable: bool = False,
        tip: str = "",
        icon: QIcon | None = None,
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    ) -> QAction:
        """Register a new action; ids are unique (a second ``add`` of one id is a bug)."""
        if id in self._actions:
            raise KeyError(f"action {id!r} is already registered")
        action = QAction(text, self)
        action.setObjectName(id)
        action.setProperty("action_id", id)
        action.setCheckable(checkable)
        action.setShortcutContext(context)
        seqs = _sequences(shortcut)
        if seqs:
            action.setShortcuts(seqs)
        if icon is not None:
            action.setIcon(icon)
        status = tip or text.replace("&", "")
        action.setStatusTip(status)
        action.setToolTip(_tooltip(text, tip, seqs))
        if callback is not None:
            if checkable:
                action.toggled.connect(lambda checked, cb=callback: _call_checked(cb, checked))
            else:
                action.triggered.connect(lambda _checked=False, cb=callback: cb())
        self._actions[id] = action
        self._groups.setdefault(group, []).append(action)
        for w in self._widgets:
            w.addAction(action)
        return action

    def adopt(self, id: str, action: QAction, *, group: str = "General") -> QAction:
        """Register an action Qt made (a dock's toggle action, say) under ``id``."""
        if id in self._actions:
            raise KeyError(f"action {id!r} is already registered")
        action.setObjectName(id)
        action.setProperty("action_id", id)
        self._actions[id] = action
        self._groups.setdefault(group, []).append(action)
        for w in self._widgets:
            w.addAction(action)
        return action

    def action(self, id: str) -> QAction:
        try:
            return self._actions[id]
        except KeyError:
            raise KeyError(f"no action {id!r} is registered") from None

    def get(self, id: str) -> QAction | None:
        return self._actions.get(id)

    def has(self, id: str) -> bool:
        return id in self._actions

    def trigger(self, id: str) -> None:
        self.action(id).trigger()

    def ids(self) -> list[str]:
        return list(self._actions)

    def actions(self) -> list[QAction]:
        """Every action, in registration order."""
        return list(self._actions.values())

    def groups(self) -> dict[str, list[QAction]]:
        return {g: list(a) for g, a in self._groups.items()}

    def group_of(self, id: str) -> str | None:
        action = self._actions.get(id)
        for g, actions in self._groups.items():
            if action in actions:
                return g
        return None

    def attach(self, widget: QWidget) -> None:
        """Make every shortcut work in ``widget``'s window (present and later actions)."""
        if widget in self._widgets:
            return
        self._widgets.append(widget)
        widget.addActions(list(self._actions.values()))

    def conflicts(self) -> dict[str, list[str]]:
        """Shortcuts bound to more than one action, as text -> action ids (should be empty)."""
        seen: dict[str, list[str]] = {}
        for id, action in self._actions.items():
            for seq in action.shortcuts():
                seen.setdefault(seq.toString(), []).append(id)
        return {k: v for k, v in seen.items() if len(v) > 1}


def _call_checked(cb: Callable[..., object], checked: bool) -> None:
    # A checkable action's callback may take the new state or nothing.
    if _takes_argument(cb):
        cb(checked)
    else:
        cb()


def _takes_argument(cb: Callable[..., object]) -> bool:
    try:
        params = inspect.signature(cb).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def _tooltip(text: str, tip: str, seqs: list[QKeySequence]) -> str:
    label = tip or text.replace("&", "")
    if seqs:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs)
        return f"{label}  ({keys})"
    return label


def shortcut_text(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


# Menus: (title, id prefix, ordered ids). Listed ids come first, in this order, with
# "-" for separators; then every other registered action whose id starts with the
# prefix (so the canvas's and panels' actions find their menu without the window
# knowing them). Ids that are not registered are skipped.
MENU_LAYOUT: list[tuple[str, str, list[str]]] = [
    ("&File", "file.", ["file.new_project", "file.open_project", "@recent", "-",
                        "file.add_images", "file.import", "file.export", "-",
                        "file.close_project", "-", "file.quit"]),
    ("&Edit", "edit.", ["edit.undo", "edit.redo", "-"]),
    ("&View", "view.", ["view.zoom_fit", "view.zoom_100", "view.zoom_in", "view.zoom_out", "-",
                        "@panels", "view.focus_filter", "view.reset_layout", "-", "@theme", "-"]),
    ("&Image", "image.", ["image.next", "image.previous", "image.next_unfinished",
                          "image.next_in_queue", "-", "image.flag", "-",
                          "image.mark_done", "image.mark_done_next", "image.mark_in_progress",
                          "image.mark_review", "image.mark_new", "-"]),
    ("&Tools", "tool.", []),
    ("&Labels", "label.", ["label.add", "-"]),
    ("&Help", "help.", ["help.shortcuts", "-", "help.about"]),
]  # fmt: skip


def build_menus(menubar, registry: ActionRegistry, submenus: dict | None = None) -> dict:
    """Fill ``menubar`` from the registry; ``@name`` entries insert ``submenus[name]``.

    Actions whose prefix matches no menu go to Tools under their group's name.
    Returns the menus by title (without '&').
    """
    submenus = submenus or {}
    menus: dict[str, object] = {}
    placed: set[str] = set()
    prefixes = [prefix for _, prefix, _ in MENU_LAYOUT]
    for title, prefix, ids in MENU_LAYOUT:
        menu = menubar.addMenu(title)
        menus[title.replace("&", "")] = menu
        for id in ids:
            if id == "-":
                if menu.actions() and not menu.actions()[-1].isSeparator():
                    menu.addSeparator()
            elif id.startswith("@"):
                sub = submenus.get(id[1:])
                if sub is not None:
                    menu.addMenu(sub)
            elif registry.has(id):
                menu.addAction(registry.action(id))
                placed.add(id)
        for a in registry.actions():
            if _id(a).startswith(prefix) and _id(a) not in placed:
                menu.addAction(a)
                placed.add(_id(a))
        if prefix == "tool.":
            for group, actions in registry.groups().items():
                rest = [
                    a
                    for a in actions
                    if _id(a) not in placed and not any(_id(a).startswith(p) for p in prefixes)
                ]
                if rest:
                    sub = menu.addMenu(group)
                    for a in rest:
                        sub.addAction(a)
                        placed.add(_id(a))
        if menu.actions() and menu.actions()[-1].isSeparator():
            menu.removeAction(menu.actions()[-1])
        if not menu.actions():
            menu.menuAction().setVisible(False)
    return menus


def _id(action: QAction) -> str:
    return str(action.property("action_id") or "")
