"""Verdict sounds: one clearly different cue per verdict, so staff hear the result without looking.

The tones are synthesised (no sound files to license or lose) into WAV files in a cache folder and played by
the first command-line player found on PATH, as a child process that is never waited for: the GUI thread does
not block on audio. With no player, the kiosk stays silent and says so once in the log.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import wave
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

CUES = ("green", "yellow", "red")
PLAYERS = ("paplay", "aplay", "pw-play")
SAMPLE_RATE = 22050

# (frequency Hz, duration s) per note; frequency 0 is a pause. Rising = pass, repeated mid = look,
# low and long = stop: they differ in pitch, rhythm and length, so they are told apart even in a noisy hall.
_MELODIES: dict[str, tuple[tuple[float, float], ...]] = {
    "green": ((880.0, 0.09), (0.0, 0.03), (1318.5, 0.16)),
    "yellow": ((659.3, 0.12), (0.0, 0.08), (659.3, 0.12), (0.0, 0.08), (659.3, 0.12)),
    "red": ((220.0, 0.25), (0.0, 0.06), (220.0, 0.25), (0.0, 0.06), (220.0, 0.45)),
}


def cue_seconds(cue: str) -> float:
    """How long the cue sounds: speech that follows it waits this long, so the two do not overlap."""
    return sum(seconds for _, seconds in _MELODIES[cue])


class Speaker(Protocol):
    def play(self, cue: str) -> None: ...


class FakeSpeaker:
    """For tests: remembers the cues instead of playing them."""

    def __init__(self) -> None:
        self.cues: list[str] = []

    def play(self, cue: str) -> None:
        self.cues.append(cue)


class SilentSpeaker:
    """What ``sound = false`` gives: the verdict is shown, nothing is played."""

    def play(self, cue: str) -> None:
        return None


def synthesise(cue: str) -> bytes:
    """16-bit mono PCM samples of the cue's melody, with short fades so notes do not click."""
    import numpy as np

    parts = []
    for freq, seconds in _MELODIES[cue]:
        t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
        if freq == 0:
            parts.append(np.zeros_like(t))
            continue
        tone = np.sin(2 * np.pi * freq * t)
        if cue == "red":  # odd harmonics make the low tone harsh, like a buzzer
            tone += 0.35 * np.sin(2 * np.pi * 3 * freq * t) + 0.2 * np.sin(2 * np.pi * 5 * freq * t)
            tone /= 1.55
        fade = min(len(t) // 4, int(SAMPLE_RATE * 0.01))
        envelope = np.ones_like(t)
        envelope[:fade] = np.linspace(0, 1, fade)
        envelope[len(t) - fade :] = np.linspace(1, 0, fade)
        parts.append(tone * envelope)
    samples = np.concatenate(parts) * 0.6 * 32767
    return samples.astype("<i2").tobytes()


def write_wav(path: Path, pcm: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    os.replace(tmp, path)  # a half-written file is never played, even with two kiosks sharing the cache


def default_cache_dir() -> Path:
    """The user's cache folder (XDG), not a shared temp folder another account could plant files in."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "kiosk" / "sounds"


class SystemSpeaker:
    """Plays the cues with the first of ``players`` on PATH; silent (logged once) when there is none."""

    def __init__(self, cache_dir: Path | None = None, players: tuple[str, ...] = PLAYERS) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self._players = players
        self._player: str | None = None
        self._files: dict[str, Path] = {}
        self._prepared = False
        self._lock = threading.Lock()  # prepare() may run on a worker while play() runs on the GUI thread
        self._children: list[subprocess.Popen[bytes]] = []

    def prepare(self) -> None:
        """Find the player and write the WAV files; may be called off the GUI thread at start-up."""
        with self._lock:
            if self._prepared:
                return
            self._prepared = True
            player = next((p for p in (shutil.which(name) for name in self._players) if p), None)
            if player is None:
                log.warning("no audio player (%s) on PATH: verdict sounds are off", ", ".join(self._players))
                return
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                for cue in CUES:
                    path = self.cache_dir / f"verdict-{cue}.wav"
                    if not path.exists():
                        write_wav(path, synthesise(cue))
                    self._files[cue] = path
            except OSError as err:
                log.warning("verdict sounds are off: cannot write them to %s: %s", self.cache_dir, err)
                return
            self._player = player

    @property
    def player(self) -> str | None:
        return self._player

    def play(self, cue: str) -> None:
        self.prepare()
        if self._player is None or cue not in self._files:
            return
        # Reap finished players so that a long shift does not collect zombie processes.
        self._children = [child for child in self._children if child.poll() is None]
        try:
            self._children.append(
                subprocess.Popen(
                    [self._player, str(self._files[cue])],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        except OSError as err:
            log.warning("playing the %s cue failed: %s", cue, err)


def create_speaker(enabled: bool) -> Speaker:
    """The speaker for ``settings.sound``."""
    return SystemSpeaker() if enabled else SilentSpeaker()
