"""The live camera preview with a framing guide: corner marks showing where to hold the code."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

GUIDE_FRACTION = 0.7  # of the picture's shorter side
CORNER_FRACTION = 0.2  # of the guide's side


class PreviewWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # Small enough for the verdict panel to fit under it on a 600-pixel-high screen.
        self.setMinimumSize(240, 100)
        self._image: QImage | None = None
        self._waiting_text = ""

    @property
    def has_frame(self) -> bool:
        return self._image is not None

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def clear(self) -> None:
        """Forget the last frame: it may show a person's face or ID card."""
        self._image = None
        self.update()

    def set_waiting_text(self, text: str) -> None:
        self._waiting_text = text
        self.update()

    def picture_rect(self) -> QRectF:
        """Where the frame is drawn: as large as fits, aspect kept (16:9 until the first frame arrives)."""
        width, height = (self._image.width(), self._image.height()) if self._image else (16, 9)
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#111111"))
        target = self.picture_rect()
        if self._image is not None:
            painter.drawImage(target, self._image)
        elif self._waiting_text:
            painter.setPen(QColor("#DDDDDD"))
            bottom = target.adjusted(0, 0, 0, -16)
            align = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
            painter.drawText(bottom, align, self._waiting_text)
        self._draw_guide(painter, target)
        painter.end()

    def _draw_guide(self, painter: QPainter, target: QRectF) -> None:
        side = min(target.width(), target.height()) * GUIDE_FRACTION
        guide = QRectF(target.center().x() - side / 2, target.center().y() - side / 2, side, side)
        arm = side * CORNER_FRACTION
        # A dark stroke under a light one keeps the marks visible on bright and dark scenes alike.
        for colour, width in ((QColor(0, 0, 0, 160), 12.0), (QColor("#FFFFFF"), 6.0)):
            pen = QPen(colour, width)
            pen.setCapStyle(Qt.PenCapStyle.SquareCap)
            painter.setPen(pen)
            for x, y, dx, dy in (
                (guide.left(), guide.top(), 1, 1),
                (guide.right(), guide.top(), -1, 1),
                (guide.left(), guide.bottom(), 1, -1),
                (guide.right(), guide.bottom(), -1, -1),
            ):
                painter.drawLine(int(x), int(y), int(x + dx * arm), int(y))
                painter.drawLine(int(x), int(y), int(x), int(y + dy * arm))
