"""Resident ID card readers: the serial SAM protocol that certified readers speak, and a fake for tests.

A certified reader holds the Ministry of Public Security's SAM module (GA/T 467); the host never talks to
the card, only to the module, in frames of this shape (both directions)::

    AA AA AA 96 69 | LEN_HI LEN_LO | CMD PARA  DATA... | CHK      host -> reader
    AA AA AA 96 69 | LEN_HI LEN_LO | SW1 SW2 SW3 DATA... | CHK    reader -> host

LEN counts everything after itself (command or status words, data and the check byte); CHK is the XOR of
every byte after the preamble (LEN included) except itself. The commands used here: find card ``20 01``
(answer SW3 ``9F`` with the card's 4-byte IIN, ``80`` when no card is there), select card ``20 02`` (``90``
with 8 bytes of serial number, ``81`` when it fails), read text and photo ``30 01`` (``90`` then a two-byte
text length, a two-byte photo length, the 256-byte text block and the 1024-byte photo: 1295 bytes on the
wire). Other SW3 values name the reader's own faults (``10`` check byte, ``11`` length, ``21`` command,
``31``-``33`` authentication, ``41`` read failure, ``60`` self-test, ``66`` not authorised...).

Public sources this follows (none of them is the standard itself, which is not published):
- the SAM_V module manual as republished by its maker's distributor and on programming blogs ("身份证阅读器
  模块SAM通讯协议", e.g. eastcoms.com/service/downdrive/508.html and blog.csdn.net/zhangbijun1230/article/
  details/85242964): frame layout, LEN and CHK definitions, command table, default 115200 8N1;
- softs.im "身份证阅读器通信协议": the SW3 status table;
- yzsam.com "C# 使用串口分析SAM协议，读取身份证信息": captured answers to find (``00 08 00 00 9F`` + IIN)
  and select (``00 0C 00 00 90`` + 8 bytes), and the 1295-byte read answer;
- public reader code (e.g. a Linux reader daemon's ``cmd_read_base_info`` table, an IDENTITY_PACKET C
  struct) for the 256-byte text block layout decoded in ``kiosk/idcard/chip.py``.
Where they differ: one published listing gives find card as ``... 20 01 21``; the XOR rule every source
states gives ``22`` (as the captures show), and this module computes the check byte rather than copying
listings. Some sources describe the read answer's first four data bytes as "reserved"; the manual and the
captures agree they are the two block lengths, which this module reads and checks.

The photo block is the vendor's WLT compression; it is decoded only through the vendor's library when a
deployment installs one (:func:`decode_photo`), and never leaves the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any, Protocol

from kiosk.id_reader_spec import DEFAULT_BAUD, parse_spec

log = logging.getLogger(__name__)

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
TEXT_BYTES = 256
PHOTO_BYTES = 1024
# The longest answer the commands above produce is 1295 bytes (text, photo and fingerprint reads go to
# 2321); a length beyond this is a garbled header, not a frame to wait for.
MAX_FRAME_LEN = 4096
# Device names a USB-serial reader (CH340, PL2303, CP210x, FTDI) or a built-in port takes on Linux.
AUTO_DEVICES = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyS[0-3]")

SW3_OK = 0x90
SW3_FOUND = 0x9F
SW3_NO_CARD = 0x80
SW3_SELECT_FAILED = 0x81
SW3_NO_CONTENT = 0x91
# What each reader status means, for logs and the device-health page.
SW3_MEANING = {
    0x10: "the reader got a bad check byte",
    0x11: "the reader got a bad length",
    0x21: "the reader refused the command",
    0x23: "the reader refused the command",
    0x24: "unknown reader error",
    0x31: "card refused the reader (authentication)",
    0x32: "reader refused the card (authentication)",
    0x33: "information check failed",
    0x40: "not a resident ID card",
    0x41: "reading the card failed",
    0x47: "the card gave no random number",
    0x60: "reader self-test failed",
    0x66: "reader not authorised",
    SW3_NO_CARD: "no card on the reader",
    SW3_SELECT_FAILED: "selecting the card failed",
    SW3_NO_CONTENT: "the card holds no such item",
}


class ReaderError(Exception):
    """A read that gave no card data. ``kind``: ``no_card`` (nothing on the reader: keep waiting),
    ``card`` (a card the reader could not read: ask to place it again or use the camera), ``garbled``
    (frames failed their checks on every retry), ``timeout`` (no answer), ``unplugged`` (the device is
    gone or cannot be opened), ``config`` (a bad reader spec)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class ChipRead:
    """The raw blocks as the reader returned them (the photo only in memory), and how long it took."""

    text: bytes
    photo: bytes = field(repr=False)
    ms: float = 0.0


class IdReader(Protocol):
    name: str

    def read_card(self) -> ChipRead:
        """Find, select and read the card on the reader; raises :class:`ReaderError`."""
        ...

    def close(self) -> None: ...


def checksum(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def command_frame(cmd: int, para: int, data: bytes = b"") -> bytes:
    body = struct.pack(">H", len(data) + 3) + bytes((cmd, para)) + data
    return PREAMBLE + body + bytes((checksum(body),))


def answer_frame(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """An answer as a reader sends it (the simulator and the fake build theirs with this)."""
    body = struct.pack(">H", len(data) + 4) + bytes((sw1, sw2, sw3)) + data
    return PREAMBLE + body + bytes((checksum(body),))


@dataclass(frozen=True)
class Answer:
    sw1: int
    sw2: int
    sw3: int
    data: bytes


class Garbled(Exception):
    """A frame that failed its length or check byte."""


def read_answer(read: Callable[[int], bytes], deadline: float) -> Answer:
    """One answer from a byte stream: skips anything before the preamble (resynchronising after noise or a
    half frame), then checks the length and the check byte. ``read(n)`` returns up to ``n`` bytes, fewer
    (or none) on its own timeout; ``deadline`` is a ``time.monotonic()`` value."""

    pending = bytearray()  # bytes read past a false start, scanned again before reading more

    def take(n: int) -> bytes:
        out = bytearray(pending[:n])
        del pending[:n]
        while len(out) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(out)} of {n} bytes before the deadline")
            out += read(n - len(out))
        return bytes(out)

    while True:
        window = b""
        while window != PREAMBLE:
            window = (window + take(1))[-len(PREAMBLE) :]
        header = take(2)
        length = struct.unpack(">H", header)[0]
        body = take(length) if 4 <= length <= MAX_FRAME_LEN else b""
        if body and checksum(header + body[:-1]) == body[-1]:
            break
        # A preamble inside what was taken means the start was a cut-off frame: scan again from there.
        later = (header + body).find(PREAMBLE)
        if later < 0:
            raise Garbled(f"length {length}" if not body else "check byte")
        pending[:0] = (header + body)[later:]
    return Answer(body[0], body[1], body[2], body[3:-1])


def parse_read(answer: Answer) -> tuple[bytes, bytes]:
    """(text block, photo block) from a ``30 01`` answer; a short or inconsistent one is :class:`Garbled`."""
    data = answer.data
    if len(data) < 4:
        raise Garbled("read answer without block lengths")
    text_len, photo_len = struct.unpack(">HH", data[:4])
    if text_len != TEXT_BYTES or len(data) != 4 + text_len + photo_len:
        raise Garbled(f"read answer with blocks of {text_len}+{photo_len} in {len(data) - 4} bytes")
    return data[4 : 4 + text_len], data[4 + text_len :]


class SerialIdReader:
    """A SAM reader on a serial device (or a USB-serial adapter), over pyserial.

    Each command is sent at most ``retries + 1`` times: a garbled or missing answer drops whatever is
    buffered and asks again, so one burst of noise costs one repeat. The port is opened on first use and
    reopened after it fails, so a reader unplugged and plugged back in works again without a restart."""

    def __init__(
        self, device: str, baud: int = DEFAULT_BAUD, timeout_s: float = 1.0, retries: int = 2
    ) -> None:
        self.device = device
        self.baud = baud
        self.name = f"serial:{device}:{baud}"
        self.timeout_s = timeout_s
        self.retries = retries
        self._port: Any = None  # a serial.Serial once open

    def _open(self) -> Any:
        import serial

        if self._port is None:
            try:
                self._port = serial.Serial(self.device, self.baud, timeout=0.05, write_timeout=self.timeout_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise ReaderError("unplugged", f"{self.device}: {exc}") from None
        return self._port

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError):  # already gone with the device
                port.close()

    def command(self, cmd: int, para: int, data: bytes = b"") -> Answer:
        import serial

        frame = command_frame(cmd, para, data)
        problem = ""
        for attempt in range(self.retries + 1):
            port = self._open()
            try:
                port.reset_input_buffer()
                port.write(frame)
                return read_answer(port.read, time.monotonic() + self.timeout_s)
            except Garbled as exc:
                problem = f"garbled answer to {cmd:02X} {para:02X}: {exc}"
            except TimeoutError:
                problem = f"no answer to {cmd:02X} {para:02X} in {self.timeout_s:.1f} s"
            except (serial.SerialException, OSError, termios.error) as exc:
                self.close()
                raise ReaderError("unplugged", f"{self.device}: {exc}") from None
            log.info("ID reader %s: %s (attempt %d)", self.device, problem, attempt + 1)
        raise ReaderError("garbled" if problem.startswith("garbled") else "timeout", problem)

    def read_card(self) -> ChipRead:
        started = time.perf_counter()
        found = self.command(*FIND_CARD)
        if found.sw3 == SW3_NO_CARD:
            raise ReaderError("no_card")
        if found.sw3 != SW3_FOUND:
            raise ReaderError("card", _meaning(found.sw3))
        selected = self.command(*SELECT_CARD)
        if selected.sw3 != SW3_OK:
            raise ReaderError("card", _meaning(selected.sw3))
        answer = self.command(*READ_TEXT_PHOTO)
        if answer.sw3 != SW3_OK:
            raise ReaderError("card", _meaning(answer.sw3))
        try:
            text, photo = parse_read(answer)
        except Garbled as exc:
            raise ReaderError("garbled", str(exc)) from None
        return ChipRead(text, photo, (time.perf_counter() - started) * 1000)


def _meaning(sw3: int) -> str:
    return f"status {sw3:02X}: {SW3_MEANING.get(sw3, 'unknown status')}"


class FakeIdReader:
    """A reader with a card (a 256-byte text block) or none, or one that fails with a given kind."""

    name = "fake"

    def __init__(self, text: bytes | None = None, fail: str | None = None) -> None:
        self.text = text
        self.fail = fail
        self.reads = 0

    def read_card(self) -> ChipRead:
        self.reads += 1
        if self.fail:
            raise ReaderError(self.fail, "fake reader")
        if self.text is None:
            raise ReaderError("no_card")
        return ChipRead(self.text, bytes(PHOTO_BYTES))

    def close(self) -> None:
        pass


def present_devices(patterns: tuple[str, ...] = AUTO_DEVICES) -> frozenset[str]:
    """The device nodes among the usual names that exist now (a USB adapter adds or removes one)."""
    return frozenset(device for pattern in patterns for device in glob.glob(pattern))


def devices_in_use(printer_spec: str) -> frozenset[str]:
    """Serial devices another setting owns, never probed: a serial receipt printer would print the frames."""
    if printer_spec.startswith("escpos-serial:"):
        return frozenset({printer_spec.split(":")[1]})
    return frozenset()


def probe(
    devices: frozenset[str] | None = None, baud: int = DEFAULT_BAUD, exclude: frozenset[str] = frozenset()
) -> SerialIdReader | None:
    """The first device among the usual names that answers find-card like a SAM reader (card or not).
    ``exclude``: devices something else owns (a serial receipt printer must not be sent reader frames)."""
    for device in sorted((present_devices() if devices is None else devices) - exclude):
        reader = SerialIdReader(device, baud, timeout_s=0.3, retries=0)
        try:
            answer = reader.command(*FIND_CARD)
        except ReaderError as exc:
            log.info("ID reader probe: %s is not a reader (%s)", device, exc.kind)
            reader.close()
            continue
        if answer.sw3 in (SW3_FOUND, SW3_NO_CARD):
            return reader
        reader.close()
    return None


def open_reader(spec: str, exclude: frozenset[str] = frozenset()) -> IdReader | None:
    """The reader a setting names: None for ``none`` and for ``auto`` when no device answers."""
    try:
        parsed = parse_spec(spec)
    except ValueError as exc:
        raise ReaderError("config", f"id_reader {spec!r}: {exc}") from None
    if parsed.kind == "none":
        return None
    if parsed.kind == "auto":
        return probe(exclude=exclude)
    return SerialIdReader(parsed.device, parsed.baud)


# The vendors' WLT decoders (libwlt2bmp.so, libwlt.so...) export this: unpack(src, dst, bmpSave) -> 1 when
# the 1024-byte block became a 102x126 24-bit bitmap in dst.
WLT_FUNCTION = "unpack"
BMP_BYTES = 38862


def decode_photo(photo: bytes, library: str | Path | None) -> bytes | None:
    """The portrait as BMP bytes, in memory only, through the vendor's library at ``library``; None when
    no library is configured or it cannot decode (the review screen then says the photo is not available).
    The kiosk itself never stores or sends the photo."""
    if not library:
        return None
    try:
        lib = ctypes.CDLL(str(library))
        unpack = getattr(lib, WLT_FUNCTION)
    except (OSError, AttributeError) as exc:
        log.warning("WLT photo library %s cannot be used: %s", library, exc)
        return None
    unpack.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
    unpack.restype = ctypes.c_int
    out = ctypes.create_string_buffer(BMP_BYTES)
    if unpack(photo, out, 0) != 1:
        log.info("WLT photo library could not decode this card's photo")
        return None
    return out.raw


# After the device went away, look for it again no more often than this (a probe opens every candidate).
REPROBE_S = 2.0


class ReaderMonitor:
    """The reader a setting names, kept usable across unplugging, with what the health page shows.

    ``state``: ``none`` (no reader configured, or ``auto`` found none), ``ready``, ``card_error`` (the
    last card could not be read), ``unplugged``. With ``auto`` the usual device names are probed at the
    first poll and again only when the set of device nodes changed (a hot-plug: probing writes to every
    candidate, so it is not repeated on an unchanged machine); a ``serial:`` device is simply reopened."""

    def __init__(
        self,
        spec: str,
        opener: Callable[[str], IdReader | None] = open_reader,
        devices: Callable[[], frozenset[str]] = present_devices,
    ) -> None:
        self.spec = spec
        self._opener = opener
        self._devices = devices
        self._probed: frozenset[str] | None = None  # the device nodes present at the last probe
        self._reader: IdReader | None = None
        self._next_try = 0.0
        self.state = "none"
        self.last_read_at: float | None = None  # time.time() of the last card read whole
        self.last_ms: float | None = None
        self.errors = 0
        self.last_error = ""

    @property
    def configured(self) -> bool:
        return self.spec.strip() != "none"

    @property
    def device(self) -> str:
        return self._reader.name if self._reader is not None else ""

    def poll(self) -> ChipRead | None:
        """The card on the reader, None when there is none (or no reader yet); raises :class:`ReaderError`
        for a card it could not read or a reader that went away (the next poll tries again)."""
        if not self.configured:
            return None
        if self._reader is None:
            if time.monotonic() < self._next_try:
                return None
            self._next_try = time.monotonic() + REPROBE_S
            if self.spec.strip() == "auto":
                present = self._devices()
                if present == self._probed:
                    return None  # nothing plugged in or out since the last probe
                self._probed = present
            self._reader = self._opener(self.spec)
            if self._reader is None:
                self.state = "none"
                return None
        try:
            read = self._reader.read_card()
        except ReaderError as exc:
            if exc.kind == "no_card":
                self.state = "ready"
                return None
            self.errors += 1
            self.last_error = str(exc)
            if exc.kind in ("unplugged", "timeout"):
                self.state = "unplugged"
                self._reader.close()
                self._reader = None
            else:
                self.state = "card_error"
            raise
        self.state = "ready"
        self.last_read_at = time.time()
        self.last_ms = read.ms
        return read

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


# How often the kiosk asks the reader for a card. A find-card exchange takes about 2 ms on the wire at
# 115200 baud; 0.25 s between them is a quarter second at worst added to a read, and little traffic.
POLL_S = 0.25


def wire_ms(frame_bytes: int, baud: int = DEFAULT_BAUD) -> float:
    """Milliseconds the bytes take on a serial line (8N1: 10 bits a byte)."""
    return frame_bytes * 10 / baud * 1000


# Bytes on the wire for one whole read (find, select, read text+photo: commands and answers).
READ_EXCHANGE_BYTES = 3 * 10 + 15 + 19 + 1295
