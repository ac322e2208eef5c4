"""Voice guidance: the shipped clips (one per spoken key and language, matching today's catalogue texts), and
the player thread: queued, non-blocking, interruptible, muted by the setting."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.voice import MANIFEST_PATH, VOICE_KEYS, VoiceGuide, load_manifest
from kiosk.i18n import LANGUAGES, catalogue
from tools.synth_frames import wrong_check_digit


def _decode_au(path: Path) -> tuple[int, np.ndarray]:
    """Sample rate and samples of a µ-law .au clip (G.711 decoding)."""
    data = path.read_bytes()
    magic, offset, size, encoding, rate, channels = struct.unpack(">4sIIIII", data[:24])
    assert (magic, encoding, channels) == (b".snd", 1, 1), path.name
    u = ~np.frombuffer(data[offset : offset + size], np.uint8).astype(np.int32) & 0xFF
    magnitude = ((((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84
    return rate, np.where(u & 0x80, -magnitude, magnitude) / 32768


def test_every_spoken_key_has_a_clip_per_language_saying_todays_text() -> None:
    manifest = json.loads(MANIFEST_PATH.read_text("utf-8"))
    for language in LANGUAGES:
        clips = manifest["clips"][language]
        assert set(clips) == set(VOICE_KEYS), language
        for key, entry in clips.items():
            # A changed catalogue text needs a new rendering (python -m tools.render_voice).
            assert catalogue(language)[key] == entry["text"], (language, key)
            rate, samples = _decode_au(MANIFEST_PATH.parent / entry["file"])
            assert rate == 16000
            assert 0.3 < len(samples) / rate < 8, (language, key)
            assert np.sqrt(np.mean(samples**2)) > 0.02, f"{language} {key} is silent"
    total = sum(p.stat().st_size for p in MANIFEST_PATH.parent.rglob("*.au"))
    assert total < 2_000_000  # the repository carries them: keep them small


@pytest.fixture
def player(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``aplay`` on PATH that logs each clip it starts, then plays for 30 s unless it is stopped."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "played.log"
    script = bin_dir / "aplay"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec sleep 30\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def _played(log: Path) -> list[str]:
    return [Path(line).name for line in log.read_text().split()] if log.exists() else []


def test_mandarin_is_spoken_first_and_a_new_prompt_interrupts(player: Path, qtbot: Any) -> None:
    voice = VoiceGuide(players=("aplay",))
    try:
        voice.say("verdict.red", "en")
        qtbot.waitUntil(lambda: _played(player) == ["verdict.red.au"], timeout=5000)
        assert voice.played[-1].parent.name == "zh-CN"  # Mandarin first; English would follow
        voice.say("checkpoint.prompt", "zh-CN")  # cuts the 30-second "clip" short
        qtbot.waitUntil(lambda: _played(player) == ["verdict.red.au", "checkpoint.prompt.au"], timeout=5000)
        assert [p.parent.name for p in voice.played] == ["zh-CN", "zh-CN"]  # the English red was dropped
    finally:
        voice.close()


def test_say_returns_at_once_and_a_waiting_prompt_follows(player: Path, qtbot: Any) -> None:
    voice = VoiceGuide(players=("aplay",))
    try:
        voice.say("form.done", "zh-CN")
        voice.say("print.done", "zh-CN", interrupt=False)  # queued behind the one playing
        qtbot.waitUntil(lambda: _played(player) == ["form.done.au"], timeout=5000)
        voice.stop()  # ends "form.done" and drops what waited
        voice.say("verdict.green", "zh-CN")
        qtbot.waitUntil(lambda: _played(player)[-1:] == ["verdict.green.au"], timeout=5000)
        assert "print.done.au" not in _played(player)
    finally:
        voice.close()


def test_muted_it_says_nothing_and_mutes_at_once(player: Path, qtbot: Any) -> None:
    voice = VoiceGuide(players=("aplay",), muted=True)
    try:
        voice.say("verdict.green", "zh-CN")
        assert voice.played == [] and voice._thread is None  # not even a thread
        voice.set_muted(False)
        voice.say("verdict.green", "zh-CN")
        qtbot.waitUntil(lambda: bool(voice.played), timeout=5000)
        voice.set_muted(True)
        voice.say("verdict.red", "zh-CN")
        assert [p.name for p in voice.played] == ["verdict.green.au"]
    finally:
        voice.close()


def test_every_manifest_clip_is_loaded() -> None:
    clips = load_manifest()
    assert {lang: set(keys) for lang, keys in clips.items()} == {lang: set(VOICE_KEYS) for lang in LANGUAGES}
    assert all(path.exists() for keys in clips.values() for path in keys.values())


def test_the_window_speaks_prompts_and_verdicts(make_window: Any, qtbot: Any) -> None:
    window = make_window(screen="home")
    window.show_checkpoint()
    assert window.voice.said[-1] == ("checkpoint.prompt", "zh-CN")
    window.set_language("en")
    window.manual_screen.submitted.emit(wrong_check_digit())  # as if typed: inspected in the background
    qtbot.waitUntil(lambda: window.voice.said[-1] == ("verdict.red", "en"), timeout=5000)
