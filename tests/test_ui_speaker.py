"""Verdict sounds: three different synthesised cues, played without blocking, or silently without a player."""

from __future__ import annotations

import logging
import os
import stat
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.speaker import CUES, SilentSpeaker, SystemSpeaker, create_speaker, synthesise


def test_the_three_cues_differ_in_length_and_pitch() -> None:
    samples = {cue: np.frombuffer(synthesise(cue), "<i2").astype(float) for cue in CUES}
    lengths = {cue: len(s) for cue, s in samples.items()}
    assert len(set(lengths.values())) == 3

    def dominant_hz(s: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(s))
        return float(np.fft.rfftfreq(len(s), 1 / 22050)[spectrum.argmax()])

    pitches = {cue: dominant_hz(s) for cue, s in samples.items()}
    assert pitches["red"] < pitches["yellow"] < pitches["green"]
    assert all(np.abs(s).max() < 32767 for s in samples.values())


def test_without_a_player_it_stays_silent_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    speaker = SystemSpeaker(cache_dir=tmp_path, players=("no-such-player-here",))
    with caplog.at_level(logging.WARNING, logger="devices.speaker"):
        for cue in ("green", "red", "yellow"):
            speaker.play(cue)
    assert speaker.player is None
    assert len([r for r in caplog.records if "no audio player" in r.message]) == 1


def test_it_plays_the_cue_file_with_the_player_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log_file = tmp_path / "played.txt"
    player = bin_dir / "aplay"
    player.write_text(f'#!/bin/sh\nsleep 1\necho "$1" >> "{log_file}"\n')
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    speaker = SystemSpeaker(cache_dir=tmp_path / "cache")
    speaker.prepare()
    started = time.perf_counter()
    speaker.play("red")
    assert time.perf_counter() - started < 0.5  # the player sleeps 1 s; play() did not wait for it
    deadline = time.time() + 5
    while not log_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    played = Path(log_file.read_text().strip())
    assert played.name == "verdict-red.wav"
    with wave.open(str(played)) as wav:
        assert wav.getnchannels() == 1 and wav.getframerate() == 22050 and wav.getnframes() > 1000


def test_sound_off_gives_a_silent_speaker() -> None:
    speaker: Any = create_speaker(False)
    assert isinstance(speaker, SilentSpeaker)
    speaker.play("green")
    assert isinstance(create_speaker(True), SystemSpeaker)
