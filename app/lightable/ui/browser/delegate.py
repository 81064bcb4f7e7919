"""How one tile of the browser is drawn: thumbnail, name, status badge, or an error tile."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from lightable.core.model import Image, ImageStatus
from lightable.ui import icons, theme

PAD = 6  # around the thumbnail inside a cell
TEXT_GAP = 4

_STATUS_COLORS = {
    ImageStatus.DONE: "ok",
    ImageStatus.REVIEW: "warn",
    ImageStatus.IN_PROGRESS: "accent",
}


class ThumbDelegate(QStyledItemDelegate):
    """Paints tiles from the model's image rows and the loader's tiles; never decodes."""

    def __init__(self, loader_getter, parent=None) -> None:
        super().__init__(parent)
        self._loader = loader_getter  # callable -> ThumbnailLoader | None
        self.thumb_size = 128
        self._font = QFont()
        self._small = QFont()
        self._small.setPointSizeF(max(6.5, self._small.pointSizeF() * 0.85))
        self._fm = QFontMetrics(self._font)
        self._names: dict[tuple[str, int], str] = {}  # elided file names

    def cell_size(self) -> QSize:
        line = QFontMetrics(self._font).height()
        return QSize(self.thumb_size + 2 * PAD, self.thumb_size + 2 * PAD + TEXT_GAP + line)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        model = index.model()
        image: Image | None = model.image_at(index.row()) if hasattr(model, "image_at") else None
        st = option.state
        self.paint_tile(
            painter,
            option.rect,
            image,
            selected=bool(st & QStyle.StateFlag.State_Selected),
            hover=bool(st & QStyle.StateFlag.State_MouseOver),
            current=bool(st & QStyle.StateFlag.State_HasFocus),
        )

    def paint_tile(
        self,
        p: QPainter,
        rect: QRect,
        image: Image | None,
        selected: bool = False,
        hover: bool = False,
        current: bool = False,
    ) -> None:
        """One tile; called for every visible tile on every paint, so kept lean."""
        cell = QRectF(rect).adjusted(2, 2, -2, -2)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, selected or hover or current)

        # Cell background and selection.
        if selected:
            bg = QColor(theme.color("accent"))
            bg.setAlpha(70)
            p.setPen(QPen(theme.color("accent"), 2))
            p.setBrush(bg)
            p.drawRoundedRect(cell, 5, 5)
        elif hover:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color("tile_hover"))
            p.drawRoundedRect(cell, 5, 5)
        if current and not selected:
            p.setPen(QPen(theme.color("accent"), 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(cell, 5, 5)

        s = self.thumb_size
        area = QRectF(rect.x() + (rect.width() - s) / 2, rect.y() + PAD, s, s)
        loader = self._loader()
        error = None
        if image is not None:
            error = image.error if image.status == ImageStatus.BROKEN else None
            if error is None and loader is not None:
                error = loader.error(image)
        if image is None:
            self._placeholder(p, area)
        elif error:
            self._error_tile(p, area, error)
        else:
            tile = loader.tile(image) if loader is not None else None
            if tile is None:
                self._placeholder(p, area)
            else:
                w, h = tile.width(), tile.height()
                target = QRectF(area.x() + (s - w) / 2, area.y() + (s - h) / 2, w, h)
                p.drawImage(target.topLeft().toPoint(), tile)
            self._badge(p, area, image.status)

        # File name under the tile.
        if image is not None:
            fm = self._fm
            text_rect = QRect(
                rect.x() + PAD, int(area.bottom()) + TEXT_GAP, rect.width() - 2 * PAD, fm.height()
            )
            p.setFont(self._font)
            p.setPen(theme.color("text"))  # the selection tint is light: keep the text colour
            p.drawText(
                text_rect,
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                self._elided(image.path, text_rect.width(), fm),
            )
        p.restore()

    def _elided(self, path: str, width: int, fm: QFontMetrics) -> str:
        key = (path, width)
        text = self._names.get(key)
        if text is None:
            if len(self._names) > 4096:
                self._names.clear()
            name = path.rpartition("/")[2]
            text = self._names[key] = fm.elidedText(name, Qt.TextElideMode.ElideMiddle, width)
        return text

    def _placeholder(self, p: QPainter, area: QRectF) -> None:
        p.fillRect(area.adjusted(8, 14, -8, -14), theme.color("tile"))

    def _error_tile(self, p: QPainter, area: QRectF, reason: str) -> None:
        box = area.adjusted(2, 2, -2, -2)
        p.setPen(QPen(theme.color("error"), 1))
        p.setBrush(theme.color("error_bg"))
        p.drawRoundedRect(box, 4, 4)
        icon_size = max(16, int(area.width() / 5))
        pm = icons.pixmap("warning", icon_size, theme.hex_color("error"))
        p.drawPixmap(
            int(box.center().x() - icon_size / 2), int(box.top() + box.height() * 0.12), pm
        )
        text_box = QRectF(
            box.x() + 6,
            box.top() + box.height() * 0.12 + icon_size + 4,
            box.width() - 12,
            box.bottom() - (box.top() + box.height() * 0.12 + icon_size + 4) - 4,
        )
        p.setFont(self._small)
        p.setPen(theme.color("error"))
        fm = QFontMetrics(self._small)
        lines = _wrap(
            reason, fm, int(text_box.width()), max(1, int(text_box.height() // fm.height()))
        )
        p.drawText(
            text_box,
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            "\n".join(lines),
        )

    def _badge(self, p: QPainter, area: QRectF, status: ImageStatus) -> None:
        role = _STATUS_COLORS.get(status)
        if role is None:
            return
        r = max(7, int(area.width() / 14))
        # Antialiased circles cost ~0.4 ms each in the raster engine: draw each badge once.
        pm = _badge_pixmap(status, r, theme.hex_color(role))
        p.drawPixmap(int(area.right() - 2 * r - 4), int(area.top() + 2), pm)


@lru_cache(maxsize=64)
def _badge_pixmap(status: ImageStatus, r: int, color: str) -> QPixmap:
    size = 2 * r + 2
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    c = QPointF(size / 2, size / 2)
    p.setPen(QPen(QColor(0, 0, 0, 140), 1.5))
    p.setBrush(QColor(color))
    p.drawEllipse(c, r, r)
    if status == ImageStatus.DONE:
        path = QPainterPath()
        path.moveTo(c.x() - r * 0.45, c.y() + r * 0.02)
        path.lineTo(c.x() - r * 0.1, c.y() + r * 0.38)
        path.lineTo(c.x() + r * 0.5, c.y() - r * 0.35)
        p.setPen(QPen(QColor("#ffffff"), max(1.6, r / 3.5), Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))  # fmt: skip
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
    elif status == ImageStatus.REVIEW:
        p.setPen(QPen(QColor("#1c1d20"), max(1.6, r / 3.5), Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap))  # fmt: skip
        p.drawLine(QPointF(c.x(), c.y() - r * 0.45), QPointF(c.x(), c.y() + r * 0.1))
        p.drawPoint(QPointF(c.x(), c.y() + r * 0.45))
    p.end()
    return pm


def _wrap(text: str, fm: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line is elided when the text does not fit."""
    words = text.split()
    lines: list[str] = []
    line = ""
    for w in words:
        candidate = f"{line} {w}".strip()
        if fm.horizontalAdvance(candidate) <= width - 4 or not line:
            line = candidate
        else:
            lines.append(line)
            line = w
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], fm.elidedText(rest, Qt.TextElideMode.ElideRight, width)]
    return [fm.elidedText(ln, Qt.TextElideMode.ElideRight, width) for ln in lines]
