"""A SAM ID-card reader simulated on a pseudo-terminal, for tests and the bench.

It answers the protocol of ``devices/id_reader.py`` as a reader does: find, select and read with the
status words of the manual, over the slave end of ``pty.openpty()`` that the real serial code opens by its
name. What it does is set per test: the card on it (a text block from :func:`text_block`), garbling a
number of answers, answering slowly, or going away (unplugged). With ``baud`` set, each frame takes the
time its bytes take on a serial line at that speed (10 bits a byte, 8N1), so timings are the protocol's.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import struct
import threading
import time
import tty

from devices.id_reader import (
    FIND_CARD,
    PHOTO_BYTES,
    PREAMBLE,
    READ_TEXT_PHOTO,
    SELECT_CARD,
    SW3_FOUND,
    SW3_NO_CARD,
    SW3_OK,
    answer_frame,
    checksum,
)
from kiosk.idcard.chip import LAYOUT, TEXT_BYTES
from kiosk.idcard.data import ETHNICITIES
from kiosk.idnumber import check_digit

SEX_CODE = {"男": "1", "女": "2"}


def _number(first17: str) -> str:
    return first17 + check_digit(first17)


# Cards the tests and the bench put on the simulator: rare name characters (厍 U+538D, 䶮 U+4DAE in
# Extension A, 禤 U+79A4) that a camera reading gets wrong, and a 长期 card (issued at 49).
RARE_NAME_CARD = {
    "name": "厍䶮",
    "sex": "女",
    "ethnicity": "汉",
    "birth_date": "1990-03-07",
    "address": "广东省广州市天河区体育西路123号",
    "id_number": _number("44010619900307002"),
    "authority": "广州市公安局天河分局",
    "valid_from": "2016-05-01",
    "valid_until": "2036-05-01",
}
LONG_TERM_CARD = {
    "name": "禤国强",
    "sex": "男",
    "ethnicity": "壮",
    "birth_date": "1960-08-15",
    "address": "广西壮族自治区南宁市青秀区民族大道88号",
    "id_number": _number("45010319600815003"),
    "authority": "南宁市公安局青秀分局",
    "valid_from": "2010-01-20",
    "valid_until": "长期",
}


def text_block(fields: dict[str, str]) -> bytes:
    """The chip's 256-byte block for card fields as ``kiosk`` shows them (ISO dates, words for sex and
    ethnicity; a ``*_code`` key overrides the code written, to make a card the rules must refuse)."""
    raw = dict(fields)
    raw["sex"] = fields.get("sex_code", SEX_CODE.get(fields.get("sex", ""), ""))
    raw["ethnicity"] = fields.get("ethnicity_code", f"{ETHNICITIES.index(fields['ethnicity']) + 1:02d}")
    for name in ("birth_date", "valid_from", "valid_until"):
        raw[name] = fields[name].replace("-", "")
    out = bytearray()
    for name, width in LAYOUT:
        data = raw[name].encode("utf-16-le")
        if len(data) > width:
            raise ValueError(f"{name} is longer than its {width} bytes")
        out += data + " ".encode("utf-16-le") * ((width - len(data)) // 2)
    return bytes(out) + b"\x00" * (TEXT_BYTES - len(out))


class ReaderSimulator:
    """Runs in a thread; ``device`` is the path to open. Change the attributes at any time."""

    def __init__(self, card: bytes | None = None, baud: int | None = None) -> None:
        self.card = card
        self.baud = baud
        self.garble = 0  # the next this-many answers have a wrong check byte
        self.noise = b""  # sent before the next answer (a half frame, line noise)
        self.delay_s = 0.0  # before every answer
        self.photo = bytes(range(256)) * (PHOTO_BYTES // 256)
        self.commands: list[tuple[int, int]] = []
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # the line discipline must not echo or translate the binary frames
        self.device = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """The device disappears: the pty is closed, reads and opens on it fail as on a pulled adapter."""
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    close = unplug

    def _wire(self, frame: bytes) -> None:
        if self.baud:
            time.sleep(len(frame) * 10 / self.baud)

    def _answer(self, cmd: int, para: int) -> bytes:
        if (cmd, para) == FIND_CARD:
            return answer_frame(SW3_FOUND, b"\x00" * 4) if self.card else answer_frame(SW3_NO_CARD)
        if (cmd, para) == SELECT_CARD:
            return answer_frame(SW3_OK, b"\x00" * 8) if self.card else answer_frame(0x81)
        if (cmd, para) == READ_TEXT_PHOTO and self.card:
            blocks = struct.pack(">HH", TEXT_BYTES, len(self.photo)) + self.card + self.photo
            return answer_frame(SW3_OK, blocks)
        if (cmd, para) == READ_TEXT_PHOTO:
            return answer_frame(0x41)
        return answer_frame(0x21)

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except OSError:
                return
            while True:
                start = buffer.find(PREAMBLE)
                if start < 0 or len(buffer) < start + 7:
                    break
                length = struct.unpack(">H", buffer[start + 5 : start + 7])[0]
                end = start + 7 + length
                if len(buffer) < end:
                    break
                body, buffer = buffer[start + 5 : end], buffer[end:]
                self._wire(PREAMBLE + body)
                if checksum(body[:-1]) != body[-1]:
                    reply = answer_frame(0x10)
                else:
                    self.commands.append((body[2], body[3]))
                    reply = self._answer(body[2], body[3])
                if self.delay_s:
                    time.sleep(self.delay_s)
                if self.garble:
                    self.garble -= 1
                    reply = reply[:-1] + bytes((reply[-1] ^ 0x5A,))
                reply, self.noise = self.noise + reply, b""
                self._wire(reply)
                try:
                    os.write(self._master, reply)
                except OSError:
                    return
