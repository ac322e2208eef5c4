"""A push button whose text wraps onto a second line instead of being cut off.

A QPushButton sizes itself to one line of text; a long service title in English, or any title in large
text, is wider than a portrait screen. Here the text is a word-wrapped label inside the button, transparent
to touches, and the button asks its layout for the height the wrapped text needs.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget


class WrapButton(QPushButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setObjectName("buttonText")
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # Kept: the size hints below ask it, and self.layout() is typed as possibly None.
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(16, 8, 16, 8)
        self._layout.addWidget(self.label)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # The button's own text stays empty (it would be painted on one line); these read and write the label's.
    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:
        self.label.setText(text)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        hint = self._layout.sizeHint()
        return QSize(hint.width(), max(hint.height(), self.minimumHeight()))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), max(self._layout.minimumSize().height(), self.minimumHeight()))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return max(self._layout.totalHeightForWidth(width), self.minimumHeight())
