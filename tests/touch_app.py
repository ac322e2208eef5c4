"""Child process of tests/test_touch_walk.py: the real kiosk (``run_gui``, full screen, on the X display the
test started) plus a line-based control channel on stdin/stdout that tells the test *where* to touch next.

The channel never touches a widget: it reads the screen's state and answers with screen coordinates (from
``mapToGlobal``) of the key, button or list to touch; the test then presses and releases the X pointer there
with xdotool, so every answer goes in through the X server, Qt's xcb platform and the touch scroller, as a
finger's would.

Requests (one JSON object a line): ``{"cmd": "goal", "service": ID, "answers": {...}}`` sets the service to
complete and the answers to give; ``{"cmd": "next", "releases": N}`` waits until the window has seen N pointer
releases (the taps sent so far) and everything has settled, then answers ``{"action": ...}``: ``tap`` with
``at``, ``review`` (the list's rectangle, a drag start on one of its buttons, whether the last row is in
view, the confirm button), ``done`` (the number) or ``wait``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin
from PySide6.QtCore import QEvent, QObject, QPoint, QSocketNotifier, QTimer
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QPushButton, QScroller, QWidget

import ui.app
from devices.camera.fake import FakeCamera
from kiosk.config import Settings
from kiosk.forms.slots import FakeSlots
from ui.screens.service import GroupEditor, ServiceScreen
from ui.widgets.field_editors import ButtonsEditor, PadEditor, PlateEditor, SlotEditor, TextEditor
from ui.widgets.pinyin_keyboard import PinyinKeyboard
from ui.widgets.touch_scroll import touch_scroll_of


def _scroll_areas(widget: QWidget) -> list[QAbstractScrollArea]:
    """The scroll areas ``widget`` is in, innermost first."""
    found = []
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            found.append(parent)
        parent = parent.parentWidget()
    return found


def _reading(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL, v_to_u=False)[0].replace("ü", "v")


class Finger(QObject):
    """Answers the test's requests; see the module's docstring."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.releases = 0
        self.goal: dict[str, Any] = {}
        self.pending: dict[str, Any] | None = None
        self.quiet = 0
        self.buffer = b""
        self.notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._read)
        self.timer = QTimer(self)
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        window.windowHandle().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease:
            self.releases += 1
        return False

    def _read(self) -> None:
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            QApplication.quit()
            return
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            request = json.loads(line)
            if request["cmd"] == "goal":
                self.goal = request
                self._send({"ok": True})
            else:
                self.pending = request
                self.quiet = 0
                self.timer.start()

    def _poll(self) -> None:
        """Answers once the taps sent have arrived and nothing moves (no scroll, no page change) for 60 ms."""
        assert self.pending is not None
        busy = self.releases < self.pending["releases"] or any(
            s.state() != QScroller.State.Inactive for s in QScroller.activeScrollers()
        )
        self.quiet = 0 if busy else self.quiet + 1
        if self.quiet < 3:
            return
        self.timer.stop()
        self.pending = None
        try:
            answer = self.next_action()
        except Exception as err:  # the test shows it and fails
            answer = {"action": "error", "error": f"{type(err).__name__}: {err}"}
        answer["releases"] = self.releases
        self._send(answer)

    def _send(self, answer: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    # --- where to touch ----------------------------------------------------------------------------------

    def tap(self, widget: QWidget, what: str) -> dict[str, Any]:
        """The centre of ``widget`` on the screen, checked to be where a finger would reach it; or, where it
        lies beyond the edge of a scroll area, a drag of that area towards it."""
        if not widget.isVisible() or not widget.isEnabled():
            raise AssertionError(f"{what}: not visible or not enabled")
        area = next((a for a in _scroll_areas(widget) if touch_scroll_of(a) is not None), None)
        if area is not None:
            viewport = area.viewport()
            top = widget.mapTo(viewport, QPoint(0, 0)).y()
            beyond = max(0, top + widget.height() - viewport.height()) or min(0, top)
            if beyond:
                # Up by what is hidden (and a little more), at most 60 % of the list at a time.
                limit = viewport.height() * 6 // 10
                dy = -max(-limit, min(limit, beyond + (24 if beyond > 0 else -24)))
                start = viewport.mapToGlobal(viewport.rect().center())
                return {"action": "drag", "from": [start.x(), start.y()], "dy": dy, "what": what}
        at = widget.mapToGlobal(widget.rect().center())
        found = QApplication.widgetAt(at)
        if found is not widget and not widget.isAncestorOf(found):
            raise AssertionError(f"{what}: at {at.x()},{at.y()} a finger would touch {found!r}")
        return {"action": "tap", "at": [at.x(), at.y()], "what": what}

    def next_action(self) -> dict[str, Any]:
        window = self.window
        geometry = window.geometry()
        screen = window.screen().geometry()
        base = {"window": geometry.getRect(), "screen": screen.getRect()}
        service = window.self_service.screen
        assert isinstance(service, ServiceScreen)
        if window.stack.currentWidget() is window.home:
            return base | self.tap(window.home.service_buttons[self.goal["service"]], "service button")
        if service.on_done:
            number = service.done_number.text()
            finish = service.done_page.findChild(QPushButton, "primaryButton")
            return base | {"action": "done", "number": number, "finish": self.tap(finish, "finish")["at"]}
        if service.busy:  # confirmed: being stored off the GUI thread
            return base | {"action": "wait"}
        if service.on_review:
            return base | self.review(service)
        if service.body.currentWidget() is service.id_step:
            return base | self.id_step(service)
        return base | self.field(service)

    def review(self, service: ServiceScreen) -> dict[str, Any]:
        scroll = service.body.currentWidget()
        viewport = scroll.viewport()
        top_left = viewport.mapToGlobal(QPoint(0, 0))
        area = [top_left.x(), top_left.y(), viewport.width(), viewport.height()]
        buttons = [b for b in scroll.widget().findChildren(QPushButton) if b.isVisible()]
        last = max(buttons, key=lambda b: b.mapTo(scroll.widget(), QPoint(0, 0)).y())
        last_top = last.mapTo(viewport, QPoint(0, 0)).y()
        in_view = [
            b for b in buttons if b.mapTo(viewport, QPoint(0, 0)).y() + b.height() <= viewport.height()
        ]
        # The drag starts on a "change" button low in the list: a finger lands on whatever is there.
        start = max(in_view, key=lambda b: b.mapTo(viewport, QPoint(0, 0)).y())
        bar = scroll.verticalScrollBar()
        return {
            "action": "review",
            "area": area,
            "drag_from": self.tap(start, "a change button").get("at"),
            "last_row_in_view": last_top >= 0 and last_top + last.height() <= viewport.height(),
            "scroll": [bar.value(), bar.maximum()],
            "confirm": self.tap(service.next_button, "confirm")["at"],
        }

    def id_step(self, service: ServiceScreen) -> dict[str, Any]:
        step = service.id_step
        camera = getattr(step, "camera", None)
        if camera is not None and step.pages.currentWidget() is camera:
            return self.tap(camera.manual_button, "type it in")
        manual = step.manual if camera is not None else step
        answers = self.goal["answers"]
        page = service.page
        if service._group_item:
            assert isinstance(service.editor, GroupEditor) and page.fdef is not None
            item = answers[page.fdef.id][len(service.editor.items)]
            card = {f.from_card: item[f.id] for f in page.fdef.fields if f.from_card}
        else:
            card = {f.from_card: answers[f.id] for f in page.step.fields if f.from_card}
        if manual.stage == manual.NAME and manual.name_edit.text() != card["name"]:
            return self.type_text(manual.keyboard, manual.name_edit.text(), card["name"])
        if manual.stage == manual.NUMBER and manual.digits != card["id_number"]:
            return self.pad(manual.pad.buttons, manual.digits, card["id_number"])
        return self.tap(manual.ok_button, "next / confirm")

    def field(self, service: ServiceScreen) -> dict[str, Any]:
        fdef, editor = service.page.fdef, service.editor
        assert fdef is not None
        value = self.goal["answers"].get(fdef.id)
        if isinstance(editor, GroupEditor):
            if len(editor.items) < len(value or []):
                return self.tap(editor.add_button, "add a person")
        elif isinstance(editor, TextEditor):
            if editor.line.text() != value:
                return self.type_text(editor.keyboard, editor.line.text(), str(value))
        elif isinstance(editor, PadEditor):
            if editor.text != str(value):
                return self.pad(editor.pad.buttons, editor.text, str(value))
        elif isinstance(editor, PlateEditor):
            typed = editor.keyboard.text
            if typed != value:
                key = value[len(typed)] if value.startswith(typed) else "back"
                return self.tap(editor.keyboard.buttons[key], f"plate key {key}")
        elif isinstance(editor, SlotEditor):
            if editor.choices is None:
                return {"action": "wait"}
            return self.tap(editor.choices.buttons[0], "the first free slot")
        elif isinstance(editor, ButtonsEditor):
            return self.tap(editor.choices.button_for(value), f"choice {value}")
        return self.tap(service.next_button, "next")

    def pad(self, buttons: dict[str, QPushButton], typed: str, wanted: str) -> dict[str, Any]:
        key = wanted[len(typed)] if wanted.startswith(typed) else "back"
        return self.tap(buttons[key], f"pad key {key}")

    def type_text(self, keyboard: PinyinKeyboard, typed: str, wanted: str) -> dict[str, Any]:
        """The next key of ``wanted`` on the pinyin keyboard: letters, then the candidate (paging › to it)."""
        if not wanted.startswith(typed):
            return self.tap(keyboard.buttons["back"], "⌫")
        ch = wanted[len(typed)]
        if ch.isdigit() or ch == "-":
            if not keyboard.digits:
                return self.tap(keyboard.buttons["digits"], "123")
            return self.tap(keyboard.buttons[ch], f"key {ch}")
        if keyboard.digits:
            return self.tap(keyboard.buttons["digits"], "letters")
        reading = _reading(ch)
        if keyboard.letters != reading:
            if not reading.startswith(keyboard.letters):
                return self.tap(keyboard.buttons["back"], "⌫")
            letter = reading[len(keyboard.letters)]
            return self.tap(keyboard.buttons[letter], f"letter {letter}")
        button = keyboard.candidate_button(ch)
        if button is None:
            return self.tap(keyboard.next_button, f"› towards {ch}")
        return self.tap(button, f"candidate {ch}")


def main(data_dir: Path) -> int:
    settings = Settings(data_dir=data_dir, mode="self-service", sound=False, voice=False, fullscreen=True)
    build = ui.app.build_main_window

    def build_with_finger(core: Any, *args: Any, **kwargs: Any) -> Any:
        # The real window from the real start-up, with a camera showing nothing (the ID step is typed in),
        # no OCR models to load, and slots from memory (no central server here).
        kwargs.update(
            camera_factory=lambda: FakeCamera([], fps=30.0), ocr_loader_factory=None, slots=FakeSlots()
        )
        window = build(core, *args, **kwargs)
        QTimer.singleShot(0, lambda: setattr(window, "finger", Finger(window)))
        return window

    ui.app.build_main_window = build_with_finger
    return ui.app.run_gui(settings)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
