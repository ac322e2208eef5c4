"""Render the kiosk's spoken prompts into assets/voice/ (``python -m tools.render_voice``).

Development time only: it needs espeak-ng (Debian: ``apt install espeak-ng``, voices ``cmn`` and ``en-us``);
the kiosk and CI play the clips this writes and need no speech engine. Every key of
``devices.voice.VOICE_KEYS`` is spoken from its catalogue text in zh-CN and en, trimmed, resampled to
16 kHz mono and stored as G.711 µ-law in Sun .au files (8 bits a sample: half of 16-bit PCM, and a format
aplay, paplay and pw-play all read). ``manifest.json`` maps each key to its clip and keeps the text it says.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from devices.voice import MANIFEST_PATH, VOICE_DIR, VOICE_KEYS
from kiosk.i18n import LANGUAGES, translate

RATE = 16000
ESPEAK_VOICES = {"zh-CN": "cmn", "en": "en-us"}
# Words a minute: espeak counts a Mandarin syllable as a word, and its default is slow for Mandarin but
# a little fast for English heard in a noisy hall by people of every age.
WORDS_PER_MINUTE = {"zh-CN": 230, "en": 150}
SILENCE = 0.02  # of full scale: quieter than this at either end is trimmed
PAD_S = 0.08
AU_ULAW = 1


def speak(text: str, language: str) -> tuple[np.ndarray, int]:
    """espeak-ng's rendering of ``text`` as float samples in [-1, 1] and its sample rate."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                ESPEAK_VOICES[language],
                "-s",
                str(WORDS_PER_MINUTE[language]),
                "-w",
                str(out),
                text,
            ],
            check=True,
        )
        with wave.open(str(out)) as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64) / 32768
    return samples, rate


def resample(samples: np.ndarray, rate: int, target: int = RATE) -> np.ndarray:
    """Band-limited resampling through the spectrum: cutting it at the new Nyquist frequency is the filter."""
    count = round(len(samples) * target / rate)
    spectrum = np.fft.rfft(samples)[: count // 2 + 1]
    return np.fft.irfft(spectrum, count) * count / len(samples)


def trim(samples: np.ndarray, rate: int) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > SILENCE)
    if not len(loud):
        return samples
    pad = int(PAD_S * rate)
    return samples[max(0, loud[0] - pad) : loud[-1] + pad]


def ulaw(samples: np.ndarray) -> bytes:
    """G.711 µ-law bytes of float samples: the standard segmented encoder (bias 0x84, 8 segments)."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int32)
    sign = np.where(pcm < 0, 0x80, 0x00)
    biased = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(biased)).astype(np.int32) - 7, 0, 7)
    mantissa = (biased >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def write_au(path: Path, data: bytes, rate: int = RATE) -> None:
    header = struct.pack(">4sIIIII", b".snd", 24, len(data), AU_ULAW, rate, 1)
    path.write_bytes(header + data)


def render(out_dir: Path = VOICE_DIR) -> dict[str, dict[str, dict[str, str]]]:
    clips: dict[str, dict[str, dict[str, str]]] = {}
    for language in LANGUAGES:
        folder = out_dir / language
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.au"):
            stale.unlink()
        clips[language] = {}
        for key in VOICE_KEYS:
            text = translate(key, language)
            samples, rate = speak(text, language)
            shaped = trim(resample(samples, rate), RATE)
            shaped *= 0.9 / max(1e-9, float(np.abs(shaped).max()))  # the same loudness for every clip
            name = f"{key}.au"
            write_au(folder / name, ulaw(shaped))
            clips[language][key] = {"file": f"{language}/{name}", "text": text}
            print(f"{language}/{name}: {len(shaped) / RATE:.1f} s  {text}")
    return clips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if shutil.which("espeak-ng") is None:
        parser.error("espeak-ng is not installed (Debian: apt install espeak-ng)")
    clips = render()
    manifest = {
        "format": f"Sun .au, G.711 u-law, {RATE} Hz mono",
        "engine": "espeak-ng",
        "clips": clips,
    }
    MANIFEST_PATH.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {MANIFEST_PATH.relative_to(VOICE_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
