"""The checkpoint screen end to end: generated camera frames → real decoder → core → verdict panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devices.camera.fake import FakeCamera
from kiosk.i18n import Message, render, translate
from tools.synth_frames import POSES, code_frame, scene, valid_id_number, wrong_check_digit

URL = "https://health.example.gov.cn/pass?token=abc123"
PLAIN = "TICKET-20251126-0042"

CASES = [
    # text, pose, verdict, reason, kind
    (valid_id_number(), "rotated", "green", Message("id.valid"), "id-number"),
    (wrong_check_digit(), "tilted", "red", Message("id.bad_checksum"), "id-number"),
    (URL, "small", "yellow", Message("url.unverified", {"host": "health.example.gov.cn"}), "url"),
    (PLAIN, "blurred", "yellow", Message("code.unrecognised"), "text"),
]


def _frames(*segments: tuple[str | None, int]) -> list[Any]:
    """Frames for (text or None for an empty desk, count) segments; 30 frames last about a second."""
    background = scene()
    cache: dict[str | None, Any] = {None: background}
    out = []
    for text, count in segments:
        if text not in cache:
            cache[text] = code_frame(text, POSES["rotated"], background=background)
        out += [cache[text]] * count
    return out


def _rows(window: Any) -> list[Any]:
    return window.core.store.query("SELECT * FROM inspections ORDER BY at")


def _stored_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize(("text", "pose", "verdict", "reason", "kind"), CASES, ids=[c[1] for c in CASES])
def test_a_code_in_view_shows_its_verdict_counts_and_is_stored_only_as_a_hash(
    make_window: Any,
    verdicts: Any,
    qtbot: Any,
    ui_data_dir: Path,
    text: str,
    pose: str,
    verdict: str,
    reason: Message,
    kind: str,
) -> None:
    background = scene()
    frame = code_frame(text, POSES[pose], background=background)
    window = make_window([background] * 3 + [frame] * 12 + [background] * 30)
    seen = verdicts(window)

    qtbot.waitUntil(lambda: len(seen) == 1, timeout=5000)
    shown = seen[0]
    assert shown["verdict"] == verdict
    assert shown["texts"]["word"] == translate(f"verdict.{verdict}", "zh-CN")
    assert shown["texts"]["reason"] == render(reason, "zh-CN")
    assert translate(f"kind.{kind}", "zh-CN") in shown["texts"]["detail"]
    assert shown["texts"]["duplicate"] == ""
    assert window.checkpoint_screen.showing_verdict
    assert window.speaker.cues == [verdict]
    expected = {"inspections": "1", "persons": "1", "green": "0", "yellow": "0", "red": "0"} | {verdict: "1"}
    assert window.counters_bar.values() == expected

    rows = _rows(window)
    assert [(r["verdict"], r["kind"], r["source"]) for r in rows] == [(verdict, kind, "camera")]
    assert rows[0]["code_hash"] == window.core.checkpoint.keyed_hash(text)
    assert text.encode() not in _stored_bytes(ui_data_dir)
    qtbot.waitUntil(lambda: window.top_bar.pending_label.text() == translate("pending.count", "zh-CN", n=1))

    # The code stayed in view for 12 frames: inspected once. After the hold the prompt is back.
    qtbot.waitUntil(lambda: not window.checkpoint_screen.showing_verdict, timeout=3000)
    assert window.checkpoint_screen.verdict_panel.current_verdict is None
    assert len(seen) == 1


def test_a_code_held_in_view_is_inspected_once(make_window: Any, verdicts: Any, qtbot: Any) -> None:
    # 60 frames = 2 s, far longer than the 0.6 s hold: still a single inspection.
    camera = FakeCamera(_frames((None, 2), (valid_id_number(), 60), (None, 3)))
    window = make_window(camera_factory=lambda: camera)
    seen = verdicts(window)
    qtbot.waitUntil(lambda: camera.served == len(camera.frames), timeout=6000)
    qtbot.wait(300)
    assert len(seen) == 1
    assert len(_rows(window)) == 1


def test_the_same_code_again_says_when_it_was_inspected_and_is_not_counted_twice(
    make_window: Any, verdicts: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    code = valid_id_number()
    # Shown, taken away for ~1.3 s (longer than the hold), shown again.
    window = make_window(_frames((None, 2), (code, 8), (None, 40), (code, 8), (None, 10)))
    seen = verdicts(window)

    qtbot.waitUntil(lambda: len(seen) == 2, timeout=6000)
    first, second = seen
    assert first["texts"]["duplicate"] == ""
    assert not first["inspection"].duplicate
    assert second["verdict"] == "green"
    assert second["inspection"].duplicate
    hhmm = first["inspection"].at.strftime("%H:%M")
    assert second["texts"]["duplicate"] == translate("duplicate.already", "zh-CN", time=hhmm)
    assert "已于" in second["texts"]["duplicate"]
    assert window.counters_bar.values() == {
        "inspections": "1",
        "persons": "1",
        "green": "1",
        "yellow": "0",
        "red": "0",
    }
    assert len(_rows(window)) == 1


def test_counters_are_read_from_the_store_at_start_up(
    make_window: Any, verdicts: Any, qtbot: Any, ui_data_dir: Path
) -> None:
    first = make_window(_frames((None, 2), (valid_id_number(), 8), (URL, 8), (None, 5)))
    seen = verdicts(first)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    first.close()

    again = make_window([], data_dir=ui_data_dir, screen="home")
    expected = {"inspections": "2", "persons": "2", "green": "1", "yellow": "1", "red": "0"}
    qtbot.waitUntil(lambda: again.counters_bar.values() == expected, timeout=3000)
    assert again.top_bar.pending_label.text() == translate("pending.count", "zh-CN", n=2)


def test_codes_are_not_inspected_away_from_the_checkpoint_screen(
    make_window: Any, verdicts: Any, qtbot: Any
) -> None:
    window = make_window(_frames((valid_id_number(), 30)), screen="home")
    seen = verdicts(window)
    qtbot.waitUntil(lambda: window.checkpoint_screen.preview.has_frame, timeout=3000)
    qtbot.wait(1200)
    assert seen == []
    assert _rows(window) == []
