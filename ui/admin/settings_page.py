"""The settings page: the settings a site changes, edited on touch (an on-screen keyboard for Latin text and
digits, the pinyin keyboard while the site name has focus, buttons for choices), validated by
``kiosk.config`` on save, with the field at fault marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.admin.settings import EDITABLE
from kiosk.config import MODES, Settings
from kiosk.i18n import LANGUAGES, translate
from ui.admin.keyboard import OnScreenKeyboard
from ui.widgets.orientation import follow_orientation
from ui.widgets.pinyin_keyboard import PinyinKeyboard
from ui.widgets.style import set_style_state
from ui.widgets.touch_scroll import make_touch_scrollable

# Settings edited with buttons: (value, catalogue key of its label).
CHOICES: dict[str, tuple[tuple[Any, str], ...]] = {
    "mode": tuple((mode, f"admin.mode.{mode}") for mode in MODES),
    "language": tuple((lang, f"admin.language.{lang}") for lang in LANGUAGES),
    "sound": ((True, "admin.on"), (False, "admin.off")),
}


class ChoiceRow(QWidget):
    def __init__(self, options: tuple[tuple[Any, str], ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.group = QButtonGroup(self)
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for index, _ in enumerate(options):
            button = QPushButton()
            button.setObjectName("choiceButton")
            button.setCheckable(True)
            self.group.addButton(button, index)
            row.addWidget(button)
            self.buttons.append(button)

    @property
    def value(self) -> Any:
        index = self.group.checkedId()
        return self.options[index][0] if index >= 0 else None

    def set_value(self, value: Any) -> None:
        for button, (option, _) in zip(self.buttons, self.options, strict=True):
            button.setChecked(option == value)

    def choose(self, value: Any) -> None:
        """Press the button of ``value`` (tests, screenshots)."""
        for button, (option, _) in zip(self.buttons, self.options, strict=True):
            if option == value:
                button.click()

    def retranslate(self, language: str) -> None:
        for button, (_, key) in zip(self.buttons, self.options, strict=True):
            button.setText(translate(key, language))


class SettingsPage(QWidget):
    save_requested = Signal(dict)  # {key: raw value} of the fields that differ from the running settings
    enrol_requested = Signal(str, str)  # central URL, one-time code
    restart_requested = Signal()

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminSettingsPage")
        self.language = language
        self._loaded: dict[str, Any] = {}
        self.captions: dict[str, QLabel] = {}
        self.editors: dict[str, QLineEdit | ChoiceRow] = {}

        form = QGridLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        for row, key in enumerate(EDITABLE):
            caption = QLabel()
            caption.setObjectName("settingCaption")
            caption.setWordWrap(True)
            editor: QLineEdit | ChoiceRow
            if key in CHOICES:
                editor = ChoiceRow(CHOICES[key])
            else:
                editor = QLineEdit()
                editor.setObjectName("settingLine")
            form.addWidget(caption, row, 0)
            form.addWidget(editor, row, 1)
            self.captions[key], self.editors[key] = caption, editor
        row = len(EDITABLE)
        self.enrol_caption = QLabel()
        self.enrol_caption.setObjectName("settingCaption")
        self.enrol_code = QLineEdit()
        self.enrol_code.setObjectName("settingLine")
        self.enrol_button = QPushButton()
        self.enrol_button.setObjectName("secondaryButton")
        self.enrol_button.clicked.connect(self._enrol)
        enrol_row = QHBoxLayout()
        enrol_row.addWidget(self.enrol_code, 1)
        enrol_row.addWidget(self.enrol_button)
        form.addWidget(self.enrol_caption, row, 0)
        form.addLayout(enrol_row, row, 1)
        self.hint = QLabel()
        self.hint.setObjectName("settingHint")
        self.hint.setWordWrap(True)
        form.addWidget(self.hint, row + 1, 0, 1, 2)
        form.setColumnStretch(1, 1)
        form_box = QWidget()
        form_box.setObjectName("settingsForm")
        form_box.setLayout(form)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("settingsScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(form_box)
        make_touch_scrollable(self.scroll_area)

        self.keyboard = OnScreenKeyboard(language)
        # The site name is usually Chinese: while it has focus, the pinyin keyboard takes the Latin one's
        # place (the other fields keep the Latin keys, with the ``:`` ``/`` ``.`` of a URL).
        site_name = self.editors["site_name"]
        assert isinstance(site_name, QLineEdit)
        self.site_name = site_name
        self.pinyin = PinyinKeyboard(site_name, language)
        # Its keys flow into fewer columns on a narrow side; it must not ask the scroll area for the width
        # of eleven.
        self.pinyin.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pinyin.hide()
        site_name.installEventFilter(self)
        self.message = QLabel()
        self.message.setObjectName("adminMessage")
        self.message.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("adminDetail")
        self.detail.setWordWrap(True)
        self.save_button = QPushButton()
        self.save_button.setObjectName("primaryButton")
        self.save_button.clicked.connect(self._save)
        self.restart_button = QPushButton()
        self.restart_button.setObjectName("warningButton")
        self.restart_button.clicked.connect(self.restart_requested)
        self.restart_button.hide()
        actions = QHBoxLayout()
        actions.addWidget(self.restart_button)
        actions.addStretch(1)
        actions.addWidget(self.save_button)
        # The keyboard's rows of 64 px keys can be taller than a small screen leaves: they scroll, under
        # them the message and the save button stay in view.
        keys_box = QWidget()
        keys_box.setObjectName("settingsKeys")
        keys_layout = QVBoxLayout(keys_box)
        keys_layout.setContentsMargins(0, 0, 0, 0)
        keys_layout.addWidget(self.keyboard)
        keys_layout.addWidget(self.pinyin)
        keys_layout.addStretch(1)
        self.keys_scroll = QScrollArea()
        self.keys_scroll.setObjectName("settingsKeysScroll")
        self.keys_scroll.setWidgetResizable(True)
        self.keys_scroll.setWidget(keys_box)
        make_touch_scrollable(self.keys_scroll)
        # It gives up its height first: the message, a long English error and the save button under it must
        # stay on a 1024×600 screen, while the keys scroll by finger in what is left.
        self.keys_scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        # A touch on a key leaves the focus in the field: not even the scroll area around the keys takes it.
        self.keys_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        side = QVBoxLayout()
        side.setSpacing(8)
        side.addWidget(self.keys_scroll, 1)
        side.addWidget(self.message)
        side.addWidget(self.detail)
        side.addLayout(actions)
        # Side by side in landscape; in portrait the form goes above the keyboard, which then has the
        # whole width for its keys.
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.columns.setContentsMargins(24, 12, 24, 12)
        self.columns.setSpacing(24)
        self.columns.addWidget(self.scroll_area, 11)
        self.columns.addLayout(side, 10)
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        follow_orientation(self.columns, event.size())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Keys take no focus, so typing keeps the pinyin keyboard up; focus on any other field brings the
        # Latin keys back. A window losing the focus (a dialog, another window) changes nothing.
        if watched is self.site_name and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            assert isinstance(event, QFocusEvent)
            if event.reason() not in (
                Qt.FocusReason.ActiveWindowFocusReason,
                Qt.FocusReason.PopupFocusReason,
            ):
                self._show_pinyin(event.type() == QEvent.Type.FocusIn)
        return super().eventFilter(watched, event)

    def _show_pinyin(self, on: bool) -> None:
        if not on:
            self.pinyin.reset()  # letters with no character chosen are dropped
        self.keyboard.setVisible(not on)
        self.pinyin.setVisible(on)

    # --- values --------------------------------------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        """Fill the fields from the running settings and forget any earlier message."""
        self._loaded = {key: getattr(settings, key) for key in EDITABLE}
        for key, editor in self.editors.items():
            value = self._loaded[key]
            if isinstance(editor, ChoiceRow):
                editor.set_value(value)
            else:
                editor.setText("" if value is None else str(value))
        self.enrol_code.clear()
        self.pinyin.reset()
        self._mark(None)
        self.message.clear()
        self.detail.clear()

    def values(self) -> dict[str, Any]:
        return {
            key: editor.value if isinstance(editor, ChoiceRow) else editor.text().strip()
            for key, editor in self.editors.items()
        }

    def changes(self) -> dict[str, Any]:
        def same(key: str, value: Any) -> bool:
            loaded = self._loaded.get(key)
            return value == loaded or str(value) == ("" if loaded is None else str(loaded))

        return {key: value for key, value in self.values().items() if not same(key, value)}

    def set_field(self, key: str, value: Any) -> None:
        """Set a field as if typed or pressed (tests, screenshots)."""
        editor = self.editors[key]
        if isinstance(editor, ChoiceRow):
            editor.choose(value)
        else:
            editor.setText(str(value))

    # --- outcomes ------------------------------------------------------------------------------------------

    def show_error(self, key: str | None, detail: str) -> None:
        self._mark(key)
        field = translate(f"admin.setting.{key}", self.language) if key in self.editors else None
        text = translate("admin.settings.invalid", self.language, field=field) if field else None
        self._message(text or translate("admin.settings.refused", self.language), "error")
        self.detail.setText(detail)
        if key in self.editors:
            self.scroll_area.ensureWidgetVisible(self.editors[key])

    def show_saved(self, changed: tuple[str, ...], needs_restart: tuple[str, ...]) -> None:
        self._mark(None)
        self.detail.clear()
        if not changed:
            self._message(translate("admin.settings.unchanged", self.language), "info")
        elif needs_restart:
            names = "、".join(translate(f"admin.setting.{k}", self.language) for k in needs_restart)
            self._message(translate("admin.settings.restart", self.language, fields=names), "warn")
            self.restart_button.show()
        else:
            self._message(translate("admin.settings.applied", self.language), "ok")

    def show_enrolment(self, ok: bool, detail: str) -> None:
        self._message(
            translate("admin.enrol.ok" if ok else "admin.enrol.failed", self.language),
            "ok" if ok else "error",
        )
        self.detail.setText(detail)
        if ok:
            self.enrol_code.clear()
            self.restart_button.show()

    def _message(self, text: str, severity: str) -> None:
        self.message.setText(text)
        set_style_state(self.message, "severity", severity)

    def _mark(self, key: str | None) -> None:
        for name, editor in self.editors.items():
            set_style_state(editor, "error", "true" if name == key else "false")

    def _save(self) -> None:
        self.save_requested.emit(self.changes())

    def _enrol(self) -> None:
        self.enrol_requested.emit(self.values()["central_url"] or "", self.enrol_code.text().strip())

    def clear_personal_data(self) -> None:
        """No personal data here; the one-time code is a credential, so it goes too."""
        self.enrol_code.clear()

    def retranslate(self, language: str) -> None:
        self.language = language
        self.keyboard.set_language(language)
        for key, caption in self.captions.items():
            caption.setText(translate(f"admin.setting.{key}", language))
        for editor in self.editors.values():
            if isinstance(editor, ChoiceRow):
                editor.retranslate(language)
        self.enrol_caption.setText(translate("admin.setting.enrol_code", language))
        self.enrol_button.setText(translate("admin.enrol", language))
        self.hint.setText(translate("admin.settings.hint", language))
        self.pinyin.set_language(language)
        self.save_button.setText(translate("admin.save", language))
        self.restart_button.setText(translate("admin.restart", language))
