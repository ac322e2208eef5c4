"""Problem icons for the top bar: one small pictogram per problem (camera, printer, disk…), drawn with
QPainter so they need no icon font or image files, each with its name as tooltip and accessible name."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.admin.health import Problem
from kiosk.i18n import translate

ICON_PX = 40
GAP_PX = 6
# Red for what stops the kiosk serving people; amber for what needs looking at soon.
_SEVERE = frozenset({Problem.CAMERA, Problem.DECODER, Problem.PRINTER, Problem.DISK_LOW})


class ProblemIcons(QWidget):
    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemIcons")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.problems: tuple[Problem, ...] = ()
        self.language = language
        self.setVisible(False)

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        self._describe()
        self.setVisible(bool(self.problems))
        self.updateGeometry()
        self.update()

    def retranslate(self, language: str) -> None:
        self.language = language
        self._describe()

    def _describe(self) -> None:
        text = "\n".join(translate(f"admin.problem.{p.value}", self.language) for p in self.problems)
        self.setToolTip(text)
        self.setAccessibleName(text)

    def sizeHint(self) -> QSize:
        n = len(self.problems)
        return QSize(max(0, n * ICON_PX + (n - 1) * GAP_PX), ICON_PX)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i, problem in enumerate(self.problems):
            box = QRectF(i * (ICON_PX + GAP_PX), 0, ICON_PX, ICON_PX)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#C62828" if problem in _SEVERE else "#F9A825"))
            painter.drawRoundedRect(box, 8, 8)
            ink = QColor("#FFFFFF" if problem in _SEVERE else "#1A1A1A")
            painter.setPen(QPen(ink, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            _draw(painter, problem, box.adjusted(8, 8, -8, -8), ink)
        painter.end()


def _draw(p: QPainter, problem: Problem, r: QRectF, ink: QColor) -> None:
    """A pictogram in ``r`` (24 × 24 px)."""
    x, y, w, h = r.x(), r.y(), r.width(), r.height()
    if problem is Problem.CAMERA:
        p.drawRoundedRect(QRectF(x, y + h * 0.25, w, h * 0.6), 3, 3)
        p.drawEllipse(QPointF(x + w / 2, y + h * 0.55), w * 0.18, w * 0.18)
        p.drawLine(QPointF(x + w * 0.3, y + h * 0.25), QPointF(x + w * 0.38, y + h * 0.1))
        p.drawLine(QPointF(x + w * 0.38, y + h * 0.1), QPointF(x + w * 0.62, y + h * 0.1))
        p.drawLine(QPointF(x + w * 0.62, y + h * 0.1), QPointF(x + w * 0.7, y + h * 0.25))
    elif problem is Problem.DECODER:  # a QR finder pattern
        for dx, dy in ((0, 0), (0.6, 0), (0, 0.6)):
            p.drawRect(QRectF(x + w * dx, y + h * dy, w * 0.4, h * 0.4))
        p.fillRect(QRectF(x + w * 0.65, y + h * 0.65, w * 0.3, h * 0.3), ink)
    elif problem is Problem.OCR:  # an ID card
        p.drawRoundedRect(QRectF(x, y + h * 0.15, w, h * 0.7), 3, 3)
        p.drawEllipse(QRectF(x + w * 0.6, y + h * 0.3, w * 0.25, h * 0.3))
        for row in (0.35, 0.5, 0.65):
            p.drawLine(QPointF(x + w * 0.12, y + h * row), QPointF(x + w * 0.48, y + h * row))
    elif problem is Problem.ID_READER:  # a card over a reader's slot, struck through
        p.drawRoundedRect(QRectF(x + w * 0.15, y, w * 0.7, h * 0.45), 2, 2)
        p.drawRect(QRectF(x, y + h * 0.6, w, h * 0.4))
        p.drawLine(QPointF(x, y + h), QPointF(x + w, y))
    elif problem is Problem.PRINTER:
        p.drawRect(QRectF(x + w * 0.25, y, w * 0.5, h * 0.3))
        p.drawRoundedRect(QRectF(x, y + h * 0.3, w, h * 0.4), 3, 3)
        p.drawRect(QRectF(x + w * 0.25, y + h * 0.6, w * 0.5, h * 0.4))
    elif problem is Problem.DISK_LOW:  # a cylinder, nearly empty
        p.drawEllipse(QRectF(x + w * 0.1, y, w * 0.8, h * 0.25))
        p.drawLine(QPointF(x + w * 0.1, y + h * 0.125), QPointF(x + w * 0.1, y + h * 0.875))
        p.drawLine(QPointF(x + w * 0.9, y + h * 0.125), QPointF(x + w * 0.9, y + h * 0.875))
        p.drawArc(QRectF(x + w * 0.1, y + h * 0.75, w * 0.8, h * 0.25), 180 * 16, 180 * 16)
    elif problem is Problem.STORE:  # a cylinder with an exclamation mark
        p.drawEllipse(QRectF(x + w * 0.1, y, w * 0.8, h * 0.25))
        p.drawLine(QPointF(x + w * 0.1, y + h * 0.125), QPointF(x + w * 0.1, y + h * 0.875))
        p.drawLine(QPointF(x + w * 0.9, y + h * 0.125), QPointF(x + w * 0.9, y + h * 0.875))
        p.drawArc(QRectF(x + w * 0.1, y + h * 0.75, w * 0.8, h * 0.25), 180 * 16, 180 * 16)
        p.drawLine(QPointF(x + w / 2, y + h * 0.4), QPointF(x + w / 2, y + h * 0.65))
        p.drawPoint(QPointF(x + w / 2, y + h * 0.8))
    elif problem is Problem.SYNC_STALE:  # a cloud with a slash
        cloud = QPainterPath()
        cloud.addEllipse(QRectF(x, y + h * 0.4, w * 0.5, h * 0.45))
        cloud.addEllipse(QRectF(x + w * 0.25, y + h * 0.15, w * 0.5, h * 0.55))
        cloud.addEllipse(QRectF(x + w * 0.5, y + h * 0.4, w * 0.5, h * 0.45))
        p.drawPath(cloud.simplified())
        p.drawLine(QPointF(x, y), QPointF(x + w, y + h))
    elif problem is Problem.TRUST_STALE:  # a shield
        shield = QPainterPath(QPointF(x + w / 2, y))
        shield.lineTo(x + w * 0.95, y + h * 0.15)
        shield.quadTo(x + w * 0.95, y + h * 0.8, x + w / 2, y + h)
        shield.quadTo(x + w * 0.05, y + h * 0.8, x + w * 0.05, y + h * 0.15)
        shield.closeSubpath()
        p.drawPath(shield)
        p.drawLine(QPointF(x + w / 2, y + h * 0.3), QPointF(x + w / 2, y + h * 0.6))
        p.drawPoint(QPointF(x + w / 2, y + h * 0.75))
    else:  # Problem.QUARANTINE: a tray with a cross
        p.drawLine(QPointF(x, y + h * 0.6), QPointF(x, y + h))
        p.drawLine(QPointF(x, y + h), QPointF(x + w, y + h))
        p.drawLine(QPointF(x + w, y + h), QPointF(x + w, y + h * 0.6))
        p.drawLine(QPointF(x + w * 0.3, y + h * 0.1), QPointF(x + w * 0.7, y + h * 0.5))
        p.drawLine(QPointF(x + w * 0.7, y + h * 0.1), QPointF(x + w * 0.3, y + h * 0.5))
