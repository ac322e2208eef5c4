"""The live preview for ID-card capture: a card-shaped guide (85.6 × 54 mm), the scene around it dimmed."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from ui.widgets.preview import PreviewWidget

CARD_ASPECT = 85.6 / 54.0  # ISO/IEC 7810 ID-1, the resident ID card's format
# The guide's share of the picture width: a card held to fill it is well above the reader's minimum size
# (devices.idcard.MIN_AREA_FRACTION) and still leaves a margin, so the card does not touch the frame edge.
GUIDE_WIDTH_FRACTION = 0.62
MAX_HEIGHT_FRACTION = 0.86
CORNER_RADIUS_FRACTION = 0.035  # the card's ~3 mm corner radius, as a share of its width
# Where the portrait sits on the front (card fractions x0, y0, x1, y1): outlined so people turn the card
# the right way up before the reader has to turn it for them.
PORTRAIT_BOX = (0.64, 0.10, 0.96, 0.72)
GUIDE_COLOURS = {"searching": "#FFFFFF", "reading": "#FFB74D", "done": "#66BB6A"}


class CardGuidePreview(PreviewWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardPreview")
        self.guide_state = "searching"
        self.side = "front"

    def set_guide_state(self, state: str) -> None:
        """ "searching", "reading" or "done": the outline's colour follows the reader."""
        self.guide_state = state if state in GUIDE_COLOURS else "searching"
        self.update()

    def set_side(self, side: str) -> None:
        self.side = side
        self.update()

    def guide_rect(self, picture: QRectF | None = None) -> QRectF:
        target = picture if picture is not None else self.picture_rect()
        width = min(
            target.width() * GUIDE_WIDTH_FRACTION, target.height() * MAX_HEIGHT_FRACTION * CARD_ASPECT
        )
        height = width / CARD_ASPECT
        centre = target.center()
        return QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)

    def _draw_guide(self, painter: QPainter, target: QRectF) -> None:
        guide = self.guide_rect(target)
        radius = guide.width() * CORNER_RADIUS_FRACTION
        card = QPainterPath()
        card.addRoundedRect(guide, radius, radius)
        outside = QPainterPath()
        outside.addRect(target)
        # Dimming what lies outside says "put it here" more plainly than an outline alone.
        painter.fillPath(outside.subtracted(card), QColor(0, 0, 0, 110))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # A dark stroke under a light one keeps the outline visible on bright and dark scenes alike.
        for colour, width in ((QColor(0, 0, 0, 160), 10.0), (QColor(GUIDE_COLOURS[self.guide_state]), 5.0)):
            painter.setPen(QPen(colour, width))
            painter.drawRoundedRect(guide, radius, radius)
        if self.side == "front":
            x0, y0, x1, y1 = PORTRAIT_BOX
            photo = QRectF(
                guide.left() + x0 * guide.width(),
                guide.top() + y0 * guide.height(),
                (x1 - x0) * guide.width(),
                (y1 - y0) * guide.height(),
            )
            pen = QPen(QColor(255, 255, 255, 150), 3.0, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRoundedRect(photo, radius, radius)
