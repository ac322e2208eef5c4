"""An on-screen pinyin keyboard for a line edit: how a citizen types Chinese on a kiosk with no keyboard.

Letters typed in 中 mode collect in the composition strip (left of the candidate row); the candidates are the
characters read that way (:func:`kiosk.pinyin.candidates`), the most common first, as many as fit, paged with
‹ ›. Touching one inserts it at the line edit's cursor and clears the letters. ⌫ takes back a typed letter
first, then the character before the cursor. In 英 mode letters go straight into the field; 123 swaps the
letters for digits and ``-`` (house numbers). The keys never take the focus: the line edit keeps its cursor,
and a physical keyboard types into it as before.

Compact: a candidate row and three rows of eleven keys (4 × 64 px and spacing) where the width allows; on a
narrow screen the same keys flow into fewer columns and more rows, so that no key gets under 64 px wide.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk import pinyin
from kiosk.i18n import translate

# Rows of the letters page: QWERTY, ⌫ and clear at the ends of the top rows, space and the switches below.
_LETTER_ROWS = (
    (*"qwertyuiop", "back"),
    (*"asdfghjkl", "-", "clear"),
    (*"zxcvbnm", "space", "digits", "mode"),
)
_DIGIT_ROWS = (
    (*"1234567890", "back"),
    ("-", "space", "clear", "digits", "mode"),
)
_KEYS = tuple(dict.fromkeys(key for row in (*_LETTER_ROWS, *_DIGIT_ROWS) for key in row))
_MAX_COLUMNS = 11
_SPANS = {"space": 2}
MIN_KEY = 64
_SPACING = 6
_ROW_SPACING = 4  # rows a little closer: a 1024×600 screen has no height to spare
# Only letters that begin some reading are taken (only single characters are offered), so the strip is never
# wider than the longest readings.
_WIDEST = ("zhuang", "shuang", "chuang", "niang", "xiong")


def _key_button(name: str) -> QPushButton:
    button = QPushButton()
    button.setObjectName(name)
    # The line edit being typed into must keep the focus (and its cursor) while keys are pressed.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    button.setMinimumSize(MIN_KEY, MIN_KEY)
    return button


class PinyinKeyboard(QWidget):
    letters_changed = Signal(str)

    def __init__(self, target: QLineEdit, language: str = "zh-CN", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pinyinKeyboard")
        self.target = target
        self.language = language
        self.letters = ""
        self.chinese = True
        self.digits = False
        self.candidates: list[str] = []
        self.first = 0  # the index of the first candidate shown
        self.columns = 0
        self.lines = 0
        self._page_size = 1
        self.buttons: dict[str, QPushButton] = {}

        self.composition = QLabel()
        self.composition.setObjectName("pinyinLetters")
        self.composition.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.previous_button = self._control("previous", "‹")
        self.next_button = self._control("next", "›")
        self.candidate_buttons: list[QPushButton] = []
        self.candidate_row = QWidget()
        self.candidate_row.setObjectName("pinyinCandidates")
        self.candidate_row.setMinimumHeight(MIN_KEY)
        # Its width comes from where it is put (under the line edit, or beside it on a short screen); the
        # number of candidates shown follows that width.
        self.candidate_row.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.candidate_row.installEventFilter(self)
        self.candidate_box = QHBoxLayout(self.candidate_row)
        self.candidate_box.setContentsMargins(0, 0, 0, 0)
        self.candidate_box.setSpacing(_SPACING)
        self.candidate_box.addWidget(self.composition)
        self.candidate_box.addWidget(self.previous_button)
        self.candidate_box.addStretch(1)
        self.candidate_box.addWidget(self.next_button)

        self.keys = QWidget()
        self.grid = QGridLayout(self.keys)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(_SPACING)
        self.grid.setVerticalSpacing(_ROW_SPACING)
        for key in _KEYS:
            button = _key_button("pinyinKey")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            self.buttons[key] = button
            if key in ("back", "clear", "space", "digits", "mode"):
                button.setObjectName("pinyinControl")
        self._layout = QVBoxLayout(self)  # kept: the candidate row is taken out of it and put back
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(_ROW_SPACING)
        self._layout.addWidget(self.candidate_row)
        self._layout.addWidget(self.keys)
        self._label_keys()
        self._flow(_MAX_COLUMNS, force=True)
        self._show_candidates()

    # --- layout ----------------------------------------------------------------------------------------

    def _control(self, key: str, label: str) -> QPushButton:
        button = _key_button("pinyinControl")
        button.setText(label)
        button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        button.setFixedWidth(MIN_KEY)
        button.clicked.connect(lambda _=False, k=key: self.press(k))
        self.buttons[key] = button
        return button

    def _label_keys(self) -> None:
        lang = self.language
        labels = {
            "back": "⌫",
            "clear": translate("pinyin.clear", lang),
            "space": translate("pinyin.space", lang),
            "digits": translate("pinyin.letters", lang) if self.digits else translate("pinyin.digits", lang),
            "mode": translate("pinyin.chinese", lang) if self.chinese else translate("pinyin.english", lang),
        }
        for key, button in self.buttons.items():
            if key in labels:
                button.setText(labels[key])
            elif key not in ("previous", "next"):
                button.setText(key)

    @property
    def shown_rows(self) -> tuple[tuple[str, ...], ...]:
        return _DIGIT_ROWS if self.digits else _LETTER_ROWS

    @staticmethod
    def _columns_for(width: int) -> int:
        # At least two: the space bar is two keys wide.
        return max(2, min(_MAX_COLUMNS, (width + _SPACING) // (MIN_KEY + _SPACING)))

    def _placement(self, columns: int) -> tuple[list[tuple[str, int, int, int]], int]:
        """Where the page's keys go ``columns`` keys wide: (key, line, column, span) each; the columns used.

        A row too long for the width is split into even parts (q–y over u–⌫ with seven columns), so that
        each part still reads as the keyboard row it comes from.
        """
        # Split rows fill the width: eleven keys on seven columns are parts of six and five, six wide.
        widths = []
        for keys in self.shown_rows:
            total = sum(_SPANS.get(k, 1) for k in keys)
            widths.append(-(-total // -(-total // columns)))
        places = []
        line = 0
        for keys, width in zip(self.shown_rows, widths, strict=True):
            column = 0
            for key in keys:
                span = _SPANS.get(key, 1)
                if column + span > width and column:
                    line, column = line + 1, 0
                places.append((key, line, column, span))
                column += span
            line += 1
        return places, max(widths)

    def _flow(self, columns: int, force: bool = False) -> None:
        """Lays the page's rows out ``columns`` keys wide (:meth:`_placement`); the other page's keys are
        hidden."""
        if columns == self.columns and not force:
            return
        self.columns = columns
        places, used = self._placement(columns)
        for column in range(max(used, self.grid.columnCount(), _MAX_COLUMNS)):
            self.grid.setColumnStretch(column, 1 if column < used else 0)
        for key in _KEYS:
            self.grid.removeWidget(self.buttons[key])
            self.buttons[key].hide()
        for key, line, column, span in places:
            self.grid.addWidget(self.buttons[key], line, column, 1, span)
            self.buttons[key].show()
        self.lines = places[-1][1] + 1

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._flow(self._columns_for(event.size().width()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.candidate_row and event.type() == QEvent.Type.Resize:
            self._show_candidates()
        return super().eventFilter(watched, event)

    def full_height(self, width: int | None = None) -> int:
        """The height of the candidate row and the key rows one under the other, at the current columns (or
        at those of a keyboard ``width`` wide)."""
        lines = self.lines if width is None else self._placement(self._columns_for(width))[0][-1][1] + 1
        return (lines + 1) * MIN_KEY + lines * _ROW_SPACING

    def take_candidate_row(self) -> QWidget:
        """The candidate row, to be put elsewhere (beside the line edit); :meth:`restore_candidate_row`."""
        self._layout.removeWidget(self.candidate_row)
        return self.candidate_row

    def restore_candidate_row(self) -> None:
        self._layout.insertWidget(0, self.candidate_row)

    def _fit_candidates(self) -> int:
        """How many candidate buttons fit beside the composition strip and the paging buttons."""
        self.composition.ensurePolished()  # the style sheet's font, not the default one
        metrics = self.composition.fontMetrics()
        strip = max(metrics.horizontalAdvance(s) for s in _WIDEST) + 16
        self.composition.setFixedWidth(strip)
        free = self.candidate_row.width() - strip - 2 * (MIN_KEY + _SPACING) - _SPACING
        return max(1, free // (MIN_KEY + _SPACING))

    def set_language(self, language: str) -> None:
        self.language = language
        self._label_keys()

    def reset(self) -> None:
        """A fresh start for the next person: no letters waiting, the Chinese letters page."""
        self.chinese = True
        if self.digits:
            self.digits = False
            self._flow(self.columns, force=True)
        self._set_letters("")
        self._label_keys()
        self._show_candidates()

    # --- typing ----------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        if key == "previous":
            self.first = max(0, self.first - self._page_size)
        elif key == "next":
            if self.first + self._page_size < len(self.candidates):
                self.first += self._page_size
        elif key == "mode":
            self.chinese = not self.chinese
            self._set_letters("")
            self._label_keys()
        elif key == "digits":
            self.digits = not self.digits
            self._label_keys()
            self._flow(self.columns, force=True)
        elif key == "back":
            if self.letters:
                self._set_letters(self.letters[:-1])
            else:
                self.target.backspace()
        elif key == "clear":
            self._set_letters("")
            self.target.clear()
        elif key == "space":
            self._commit_letters()
            self.target.insert(" ")
        elif key.isalpha() and key.isascii() and self.chinese:
            if pinyin.candidates(self.letters + key):  # no reading goes on that way: the key does nothing
                self._set_letters(self.letters + key)
        else:
            self._commit_letters()
            self.target.insert(key)
        self._show_candidates()

    def choose(self, index: int) -> None:
        """Touching the candidate at ``index`` (of all candidates): it goes in at the cursor."""
        self.target.insert(self.candidates[index])
        self._set_letters("")
        self._show_candidates()

    def _commit_letters(self) -> None:
        """A digit or a space while letters wait: they are dropped, as no character was chosen."""
        if self.letters:
            self._set_letters("")

    def _set_letters(self, letters: str) -> None:
        self.letters = letters
        self.candidates = pinyin.candidates(letters)
        self.first = 0
        self.composition.setText(letters)
        self.letters_changed.emit(letters)

    def _show_candidates(self) -> None:
        page = self._fit_candidates()
        self._page_size = page
        while len(self.candidate_buttons) < page:
            button = _key_button("pinyinCandidate")
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.setFixedWidth(MIN_KEY)
            position = len(self.candidate_buttons)
            button.clicked.connect(lambda _=False, n=position: self.choose(self.first + n))
            # After the strip and ‹, before the stretch and ›.
            self.candidate_box.insertWidget(2 + position, button)
            self.candidate_buttons.append(button)
        shown = self.candidates[self.first : self.first + page]
        for i, button in enumerate(self.candidate_buttons):
            if i < len(shown):
                button.setText(shown[i])
                button.show()
            else:
                button.hide()
        paging = len(self.candidates) > page
        self.previous_button.setVisible(paging)
        self.next_button.setVisible(paging)
        self.previous_button.setEnabled(self.first > 0)
        self.next_button.setEnabled(self.first + page < len(self.candidates))

    def visible_candidates(self) -> list[str]:
        return [b.text() for b in self.candidate_buttons if not b.isHidden()]

    def candidate_button(self, text: str) -> QPushButton | None:
        """The shown candidate button with ``text`` on it (tests, screenshots)."""
        return next((b for b in self.candidate_buttons if not b.isHidden() and b.text() == text), None)
