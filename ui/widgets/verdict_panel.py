"""The full-width verdict panel: colour, verdict word, reason, code kind, masked holder, duplicate note.

It holds the verdict for ``hold_ms`` and then emits ``finished`` so the screen can go back to its prompt.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from kiosk.checkpoint import Inspection
from kiosk.i18n import render, translate
from ui.widgets.style import set_style_state


class VerdictPanel(QFrame):
    finished = Signal()

    def __init__(self, hold_ms: int, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdictPanel")
        self.language = language
        self._inspection: Inspection | None = None
        self.word_label = self._label("verdictWord")
        self.reason_label = self._label("verdictReason")
        self.detail_label = self._label("verdictDetail")
        self.duplicate_label = self._label("verdictDuplicate")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 12, 32, 12)
        layout.setSpacing(4)
        for label in (self.word_label, self.reason_label, self.detail_label, self.duplicate_label):
            layout.addWidget(label)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.setInterval(hold_ms)
        self._hold.timeout.connect(self._on_hold_over)
        set_style_state(self, "verdict", "none")

    def _label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        return label

    @property
    def current_verdict(self) -> str | None:
        return self._inspection.result.verdict.value if self._inspection else None

    @property
    def inspection(self) -> Inspection | None:
        return self._inspection

    def texts(self) -> dict[str, str]:
        """What the panel says right now (for tests and screenshots)."""
        return {
            "word": self.word_label.text(),
            "reason": self.reason_label.text(),
            "detail": self.detail_label.text(),
            "duplicate": self.duplicate_label.text(),
        }

    def show_inspection(self, inspection: Inspection) -> None:
        """Show a verdict and (re)start the hold: a newer inspection replaces the one on screen."""
        self._inspection = inspection
        set_style_state(self, "verdict", inspection.result.verdict.value)
        self._fill()
        self._hold.start()

    def clear(self) -> None:
        self._hold.stop()
        self._inspection = None
        for label in (self.word_label, self.reason_label, self.detail_label, self.duplicate_label):
            label.clear()
        set_style_state(self, "verdict", "none")

    def retranslate(self, language: str) -> None:
        self.language = language
        self._fill()

    def _fill(self) -> None:
        if self._inspection is None:
            return
        lang = self.language
        result = self._inspection.result
        self.word_label.setText(translate(f"verdict.{result.verdict.value}", lang))
        self.reason_label.setText(render(result.reason, lang))
        details = [translate("panel.kind", lang, kind=translate(f"kind.{result.kind}", lang))]
        if result.holder:
            details.append(translate("panel.holder", lang, name=result.holder))
        if "id_number" in result.claims:
            details.append(translate("panel.id_number", lang, number=result.claims["id_number"]))
        self.detail_label.setText("　·　".join(details))
        already = self._inspection.already_inspected_at
        self.duplicate_label.setText(
            translate("duplicate.already", lang, time=already.strftime("%H:%M")) if already else ""
        )
        self.duplicate_label.setVisible(already is not None)

    def _on_hold_over(self) -> None:
        self.clear()
        self.finished.emit()
