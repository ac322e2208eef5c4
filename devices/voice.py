"""Voice guidance: prompts and verdicts spoken from audio clips the repo ships (``assets/voice``).

The clips are rendered once, at development time, by ``tools/render_voice.py`` (an offline speech engine),
so a kiosk needs no speech engine at all. ``assets/voice/manifest.json`` maps each message key to a clip per
language and records the text it was rendered from, so a test notices when a catalogue text changed and the
clip no longer says it.

Mandarin is always spoken; with English chosen on screen the English clip follows. Playback uses the same
command-line players as the verdict tones (``devices.speaker.PLAYERS``) on a thread of its own: ``say()``
only queues and returns. A new prompt interrupts the one being spoken unless asked to wait its turn, and
``muted`` (the ``voice`` setting, the admins' switch) silences everything at once.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from devices.speaker import PLAYERS
from kiosk.paths import ASSETS_DIR

log = logging.getLogger(__name__)

VOICE_DIR = ASSETS_DIR / "voice"
MANIFEST_PATH = VOICE_DIR / "manifest.json"
SPOKEN_FIRST = "zh-CN"
# Every message the kiosk speaks; tools/render_voice.py renders exactly these.
VOICE_KEYS = (
    "verdict.green",
    "verdict.yellow",
    "verdict.red",
    "checkpoint.prompt",
    "home.self_service_title",
    "form.id_prompt",
    "ocr.prompt.place_card",
    "ocr.prompt.hold_still",
    "ocr.prompt.glare",
    "ocr.prompt.blur",
    "ocr.prompt.too_small",
    "ocr.prompt.incomplete",
    "ocr.prompt.show_front",
    "ocr.prompt.show_back",
    "ocr.prompt.done",
    "ocr.prompt.check_fields",
    "form.done",
    "print.done",
    "voice.idle_countdown",
)
POLL_S = 0.05  # how often a playing clip checks whether it was interrupted


class Voice(Protocol):
    muted: bool

    def say(self, key: str, language: str, *, interrupt: bool = True, delay_s: float = 0.0) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, dict[str, Path]]:
    """``{language: {key: clip path}}`` from the manifest; an unreadable one gives no clips (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.error("voice manifest %s not loaded: %s; the kiosk will not speak", path.name, err)
        return {}
    return {
        language: {key: path.parent / entry["file"] for key, entry in clips.items()}
        for language, clips in data["clips"].items()
    }


@dataclass(frozen=True)
class _Utterance:
    clips: tuple[Path, ...]
    delay_s: float


class VoiceGuide:
    """Speaks clips one after another on its own thread; silent (logged once) without a player."""

    def __init__(
        self,
        clips: dict[str, dict[str, Path]] | None = None,
        players: tuple[str, ...] = PLAYERS,
        muted: bool = False,
    ) -> None:
        self.clips = load_manifest() if clips is None else clips
        self.muted = muted
        self._players = players
        self._player: str | None = None
        self._looked_for_player = False
        self._queue: deque[_Utterance] = deque()
        self._cond = threading.Condition()
        self._generation = 0  # bumped by every interruption; a clip of an older generation stops
        self._closed = False
        self._thread: threading.Thread | None = None
        self._missing_logged: set[str] = set()
        self.played: list[Path] = []  # what was started, in order (tests, the log)

    @property
    def player(self) -> str | None:
        return self._player

    def say(self, key: str, language: str, *, interrupt: bool = True, delay_s: float = 0.0) -> None:
        """Speak ``key`` (Mandarin, then English if ``language`` is English) after ``delay_s`` seconds.

        ``interrupt`` stops whatever is being said and drops what was queued; otherwise it is said next,
        replacing anything else still waiting (a stale prompt is not worth hearing late).
        """
        if self.muted or self._closed:
            return
        clips = self._clips_for(key, language)
        if not clips or not self._ensure_player():
            return
        with self._cond:
            if interrupt:
                self._generation += 1
            self._queue.clear()
            self._queue.append(_Utterance(clips, delay_s))
            self._cond.notify_all()
        self._ensure_thread()

    def stop(self) -> None:
        """Silence now: the clip being played ends and nothing queued is said."""
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._cond.notify_all()

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted:
            self.stop()

    def close(self, timeout_s: float = 2.0) -> None:
        with self._cond:
            self._closed = True
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout_s)

    # --- on the caller's thread ------------------------------------------------------------------------

    def _clips_for(self, key: str, language: str) -> tuple[Path, ...]:
        languages = [SPOKEN_FIRST] + ([language] if language != SPOKEN_FIRST else [])
        found = []
        for lang in languages:
            clip = self.clips.get(lang, {}).get(key)
            if clip is None or not clip.exists():
                if f"{lang}:{key}" not in self._missing_logged:
                    self._missing_logged.add(f"{lang}:{key}")
                    log.warning("no %s voice clip for %r", lang, key)
                continue
            found.append(clip)
        return tuple(found)

    def _ensure_player(self) -> bool:
        if not self._looked_for_player:
            self._looked_for_player = True
            self._player = next((p for p in (shutil.which(name) for name in self._players) if p), None)
            if self._player is None:
                log.warning("no audio player (%s) on PATH: voice guidance is off", ", ".join(self._players))
        return self._player is not None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
            self._thread.start()

    # --- voice thread ----------------------------------------------------------------------------------

    def _interrupted_since(self, generation: int) -> bool:
        return self._generation != generation

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                utterance = self._queue.popleft()
                generation = self._generation
                # The delay (e.g. the verdict tone still sounding) is cut short by an interruption too.
                if utterance.delay_s > 0:
                    self._cond.wait_for(partial(self._interrupted_since, generation), utterance.delay_s)
                if self._generation != generation:
                    continue
            for clip in utterance.clips:
                if not self._play(clip, generation):
                    break

    def _play(self, clip: Path, generation: int) -> bool:
        """Play one clip to its end (True) or until interrupted (False, the player is stopped)."""
        assert self._player is not None
        try:
            child = subprocess.Popen(
                [self._player, str(clip)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as err:
            log.warning("playing voice clip %s failed: %s", clip.name, err)
            return True
        self.played.append(clip)
        while child.poll() is None:
            with self._cond:
                interrupted = self._cond.wait_for(lambda: self._generation != generation, POLL_S)
            if interrupted:
                child.terminate()
                child.wait()
                return False
        return True


def create_voice(enabled: bool) -> VoiceGuide:
    """The kiosk's voice; ``enabled`` is the ``voice`` setting (muted, not absent, so it can be unmuted)."""
    return VoiceGuide(muted=not enabled)
