"""A finger, not ``widget.click()``, finishes every shipped service: the real kiosk on an X server (Xvfb) at
1024×600 and 1920×1080, touched through real pointer events (xdotool: press, move, release at screen
coordinates, sent through the XTEST extension).

The kiosk runs as a child process (``tests/touch_app.py``: ``run_gui`` itself, full screen, Qt's xcb platform)
once per screen size, and walks all eight services from the home screen to the done page. The child only says
where the next key or button is (from ``mapToGlobal``); every touch goes in through the X server. On each
review the list is dragged with the finger — the drag starting on one of its "change" buttons, which must not
be pressed by it — until its last row is in view, and then confirmed. Each submission is then read back from
the store (its personal part opened with the local data key) and compared with the answers given.

Needs Xvfb, xdotool and the libraries of Qt's xcb platform plugin (``.ci/xvfb.sh`` installs them; CI runs it);
without them the test skips, saying which is missing.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import selectors
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import Settings
from kiosk.forms.answers import example_answers, mask_answers, personal_answers, validate_answers
from kiosk.forms.definition import SERVICES_DIR, load_definition
from kiosk.forms.protect import PersonalDataLock
from kiosk.forms.slots import FakeSlots

HERE = Path(__file__).parent
SIZES = ((1024, 600), (1920, 1080))
SERVICES = sorted(p.stem for p in SERVICES_DIR.glob("*.json") if p.name != "service.schema.json")
MAX_STEPS = 600  # touches for one service: the longest (the vehicle pass, typed in pinyin) needs ~150
ANSWER_TIMEOUT_S = 60.0


def _missing() -> str | None:
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/xvfb.sh installs it)"
    # Qt's xcb plugin refuses to load without libxcb-cursor (Qt 6.5 on); the others come with Xvfb.
    for library in ("xcb-cursor", "xcb-icccm", "xcb-keysyms", "xkbcommon-x11"):
        if ctypes.util.find_library(library) is None:
            return f"lib{library} (needed by Qt's xcb platform plugin) is not installed (.ci/xvfb.sh)"
    return None


pytestmark = [
    pytest.mark.skipif(_missing() is not None, reason=str(_missing())),
    # Eight services by touch at one size take 1–3 minutes on a busy 2-core machine; each answer the kiosk
    # owes has its own 60 s limit, so a hang still ends early.
    pytest.mark.timeout(900),
]


class Kiosk:
    """The kiosk child on its own X display, and the finger: xdotool on that display."""

    def __init__(self, data_dir: Path, size: tuple[int, int]) -> None:
        self.data_dir = data_dir
        read_fd, write_fd = os.pipe()
        self.xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{size[0]}x{size[1]}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as chosen:
            display = chosen.readline().strip()
        assert display, "Xvfb did not start"
        self.env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}
        self.env.pop("WAYLAND_DISPLAY", None)
        self.log = (data_dir / "kiosk-child.log").open("wb")
        self.child = subprocess.Popen(
            [sys.executable, str(HERE / "touch_app.py"), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=self.env,
            cwd=HERE.parent,
        )
        self.selector = selectors.DefaultSelector()
        assert self.child.stdout is not None
        self.selector.register(self.child.stdout, selectors.EVENT_READ)
        self.buffer = b""
        self.releases = 0

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
        self.child.stdin.flush()
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while b"\n" not in self.buffer:
            if time.monotonic() > deadline or self.child.poll() is not None:
                raise AssertionError(f"the kiosk did not answer {request}:\n{self.child_log()}")
            if self.selector.select(timeout=0.5):
                self.buffer += os.read(self.child.stdout.fileno(), 65536)
        line, self.buffer = self.buffer.split(b"\n", 1)
        answer = json.loads(line)
        assert answer.get("action") != "error", answer["error"]
        return answer

    def next(self) -> dict[str, Any]:
        return self.ask({"cmd": "next", "releases": self.releases})

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, timeout=30)
        self.releases += 1

    def tap(self, at: list[int]) -> None:
        x, y = map(str, at)
        # A finger rests ~50 ms on the glass.
        self.xdotool("mousemove", x, y, "mousedown", "1", "sleep", "0.05", "mouseup", "1")

    def drag(self, start: list[int], dy: int, steps: int = 12) -> None:
        """Press at ``start``, move ``dy`` pixels in ``steps`` moves ~16 ms apart (a finger), release."""
        x, y = start
        moves: list[str] = []
        for i in range(1, steps + 1):
            moves += ["mousemove", str(x), str(y + dy * i // steps), "sleep", "0.016"]
        self.xdotool("mousemove", str(x), str(y), "mousedown", "1", *moves, "mouseup", "1")

    def child_log(self) -> str:
        self.log.flush()
        return (self.data_dir / "kiosk-child.log").read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.child.poll() is None:
            assert self.child.stdin is not None
            self.child.stdin.close()  # the child quits on end of input
            try:
                self.child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.xvfb.terminate()
        self.xvfb.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module", params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def kiosk(request: Any, tmp_path_factory: Any) -> Iterator[Kiosk]:
    data_dir = tmp_path_factory.mktemp(f"touch-{request.param[0]}x{request.param[1]}")
    kiosk = Kiosk(data_dir, request.param)
    try:
        yield kiosk
    finally:
        kiosk.close()


def expected_answers(service_id: str) -> dict[str, Any]:
    """The example answers; an appointment gets the first slot of its day, as the finger takes it."""
    definition = load_definition(SERVICES_DIR / f"{service_id}.json")
    answers = example_answers(definition, date.today())
    for fdef in definition.fields:
        if fdef.type == "slot":
            day = date.fromisoformat(answers[fdef.day_field])
            answers[fdef.id] = FakeSlots().slots(answers[fdef.service_field], day)[0].answer()
    return answers


def stored(data_dir: Path, service_id: str) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Numbers of the ``service_id`` submissions; the clear and the opened personal answers of the last."""
    settings = Settings(data_dir=data_dir)
    with sqlite3.connect(f"file:{settings.store_path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT * FROM submissions WHERE service_id = ? ORDER BY rowid", (service_id,)
        ).fetchall()
    assert rows, f"no {service_id} submission stored"
    row = rows[-1]
    personal: dict[str, Any] = {}
    if row["sealed_personal"] is not None:
        opened = PersonalDataLock(settings.secrets_dir).open_local(row["sealed_personal"], row["id"])
        personal = json.loads(opened)
    return [r["number"] for r in rows], json.loads(row["clear"]), personal


def finish_service(kiosk: Kiosk, service_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Touch through ``service_id`` from the home screen to its done page; what the walk saw."""
    assert kiosk.ask({"cmd": "goal", "service": service_id, "answers": answers})["ok"]
    seen: dict[str, Any] = {"taps": 0, "drags": 0, "scrolled": False}
    for _ in range(MAX_STEPS):
        state = kiosk.next()
        seen["window"], seen["screen"] = state["window"], state["screen"]
        action = state["action"]
        if action == "tap":
            kiosk.tap(state["at"])
            seen["taps"] += 1
        elif action == "wait":
            time.sleep(0.1)
        elif action == "drag":  # what is to be touched next lies beyond the edge of a list: scroll to it
            kiosk.drag(state["from"], state["dy"])
            seen["drags_to_reveal"] = seen.get("drags_to_reveal", 0) + 1
        elif action == "review":
            if seen["drags"] and state["last_row_in_view"]:
                kiosk.tap(state["confirm"])
                continue
            assert seen["drags"] < 8, f"{service_id}: eight drags did not bring the last row into view"
            before, most = state["scroll"]
            top = state["area"][3]
            kiosk.drag(state["drag_from"], -int(top * 0.6))
            seen["drags"] += 1
            after = kiosk.next()
            # The drag began on a "change" button: it scrolled, and did not open that answer's page.
            assert after["action"] == "review", f"{service_id}: the drag pressed the button under it"
            if most > 0:
                assert after["scroll"][0] > before or before == most, f"{service_id}: the drag did not scroll"
                seen["scrolled"] = True
        elif action == "done":
            seen["number"] = state["number"]
            kiosk.tap(state["finish"])
            return seen
    raise AssertionError(f"{service_id}: not done after {MAX_STEPS} touches")


def test_a_finger_finishes_every_service(kiosk: Kiosk) -> None:
    scrolled = []
    for service_id in SERVICES:
        answers = expected_answers(service_id)
        seen = finish_service(kiosk, service_id, answers)
        assert seen["window"] == seen["screen"], "the kiosk window does not fill the screen"
        numbers, clear, personal = stored(kiosk.data_dir, service_id)
        definition = load_definition(SERVICES_DIR / f"{service_id}.json")
        assert len(numbers) == 1, numbers  # one walk, one submission
        # The done page shows the submission's number, or the queue number where the service gives one.
        assert numbers[0] in seen["number"] or definition.ticket_field is not None, seen["number"]
        checked = validate_answers(definition, answers, date.today())
        assert clear == mask_answers(definition.fields, checked), service_id
        assert personal == personal_answers(definition.fields, checked), service_id
        if seen["scrolled"]:
            scrolled.append(service_id)
    # Back on the home screen, ready for the next person.
    assert kiosk.next()["action"] == "tap"
    if kiosk.xvfb.args[4].startswith("1024x"):
        # On the small panel the vehicle pass's review is taller than the screen: the finger scrolled it.
        assert "vehicle-pass" in scrolled, scrolled
