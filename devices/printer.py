"""Receipt printers behind one small interface: ESC/POS thermal printers, CUPS, a folder of PDFs, a fake.

Every backend reports the states the kiosk acts on (:class:`PrinterState`) as far as the device tells them:
an ESC/POS printer answers real-time status requests (DLE EOT), CUPS names its state reasons, a folder is
either writable or not. A failed print raises :class:`PrinterError` with the state; the print queue keeps
the job for a reprint, and the submission was stored before printing began, so it is never lost.

Printer specs (the ``printer`` setting, ``--printer``): ``pdf`` (the default, ``DATA_DIR/receipts``) or
``pdf:FOLDER``; ``cups`` (the default queue) or ``cups:QUEUE``; ``escpos-usb:VID:PID`` (hex ids),
``escpos-serial:DEVICE[:BAUD]``, ``escpos-net:HOST[:PORT]``; ``fake``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from kiosk.fileio import write_atomically
from kiosk.forms.receipts import ReceiptData

ESCPOS_MODES = ("raster", "text")
LP_TIMEOUT_S = 15.0


class PrinterState(StrEnum):
    READY = "ready"
    PAPER_LOW = "paper_low"  # still prints; the top bar asks staff to change the roll soon
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def can_print(self) -> bool:
        return self in (PrinterState.READY, PrinterState.PAPER_LOW)


class PrinterError(Exception):
    def __init__(self, state: PrinterState, detail: str = "") -> None:
        super().__init__(f"{state.value}: {detail}" if detail else state.value)
        self.state = state
        self.detail = detail


class Printer(Protocol):
    name: str

    def status(self) -> PrinterState: ...

    def print_receipt(self, receipt: ReceiptData) -> str:
        """Print; returns where the job went (a file, a CUPS job id). Raises :class:`PrinterError`."""
        ...


class LockedPrinter:
    """One call at a time: a health poll must not open the device while a receipt is printing on it."""

    def __init__(self, printer: Printer) -> None:
        self.inner = printer
        self.name = printer.name
        self._lock = threading.Lock()

    def status(self) -> PrinterState:
        with self._lock:
            return self.inner.status()

    def print_receipt(self, receipt: ReceiptData) -> str:
        with self._lock:
            return self.inner.print_receipt(receipt)


def _file_name(receipt: ReceiptData) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in receipt.number) + ".pdf"


class PdfFolderPrinter:
    """Receipts as PDF files in a folder: the default with no printer, and what staff can print later."""

    def __init__(self, folder: Path, paper: str = "A5") -> None:
        self.folder = folder
        self.paper = paper
        self.name = f"pdf:{folder.name}"

    def status(self) -> PrinterState:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return PrinterState.ERROR
        return PrinterState.READY if os.access(self.folder, os.W_OK) else PrinterState.ERROR

    def print_receipt(self, receipt: ReceiptData) -> str:
        from printing.receipt import render_pdf

        data = render_pdf(receipt, self.paper)
        path = self.folder / _file_name(receipt)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data)
        except OSError as err:
            raise PrinterError(
                PrinterState.ERROR, f"cannot write {path.name}: {err.strerror or err}"
            ) from None
        return str(path)


@dataclass
class FakePrinter:
    """For tests and screenshots: writes PDFs like :class:`PdfFolderPrinter`, in the state it is set to."""

    folder: Path
    paper: str = "80mm"
    state: PrinterState = PrinterState.READY
    printed: list[ReceiptData] = field(default_factory=list)
    name: str = "fake"

    def status(self) -> PrinterState:
        return self.state

    def print_receipt(self, receipt: ReceiptData) -> str:
        if not self.state.can_print:
            raise PrinterError(self.state, "fake printer")
        path = PdfFolderPrinter(self.folder, self.paper).print_receipt(receipt)
        self.printed.append(receipt)
        return path


_CUPS_REASONS = (
    (("media-empty", "media-needed", "media-jam"), PrinterState.PAPER_OUT),
    (("cover-open", "door-open"), PrinterState.COVER_OPEN),
    (("offline", "shutdown", "connecting-to-device", "paused"), PrinterState.OFFLINE),
    (("media-low",), PrinterState.PAPER_LOW),
)


class CupsPrinter:
    """The system printer through CUPS' ``lp``: A4/A5 laser printers, or a thermal printer with a driver."""

    def __init__(
        self, queue: str | None = None, paper: str = "A5", run: Callable[..., Any] = subprocess.run
    ) -> None:
        self.queue = queue
        self.paper = paper
        self.name = f"cups:{queue or 'default'}"
        self._run = run

    def _call(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        if shutil.which(args[0]) is None:
            raise PrinterError(PrinterState.OFFLINE, f"{args[0]} not installed (CUPS client)")
        try:
            return self._run(args, capture_output=True, text=True, timeout=LP_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PrinterError(
                PrinterState.TIMEOUT, f"{args[0]} did not answer in {LP_TIMEOUT_S:.0f} s"
            ) from None

    def status(self) -> PrinterState:
        try:
            result = self._call(["lpstat", "-l", "-p", *([self.queue] if self.queue else []), "-d"])
        except PrinterError as err:
            return err.state
        text = result.stdout.lower()
        if result.returncode != 0 or "disabled" in text:
            return PrinterState.OFFLINE
        for words, state in _CUPS_REASONS:
            if any(word in text for word in words):
                return state
        return PrinterState.READY

    def print_receipt(self, receipt: ReceiptData) -> str:
        from printing.receipt import render_pdf

        with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
            fh.write(render_pdf(receipt, self.paper))
            fh.flush()
            media = {"A4": "A4", "A5": "A5", "58mm": "Custom.58x200mm", "80mm": "Custom.80x200mm"}[self.paper]
            args = ["lp", *(["-d", self.queue] if self.queue else []), "-o", f"media={media}", fh.name]
            result = self._call(args)
        if result.returncode != 0:
            raise PrinterError(PrinterState.OFFLINE, (result.stderr or result.stdout).strip()[:200])
        return result.stdout.strip()


# --- ESC/POS --------------------------------------------------------------------------------------------

DLE_EOT = b"\x10\x04"
FS_KANJI_ON = b"\x1c\x26"  # FS &: two-byte (GB18030 on Chinese models) characters from here on
COLUMNS = {"58mm": 32, "80mm": 48}  # Font A half-width columns
# python-escpos capability profiles with these printable widths (384 and 576 dots), so images are checked
# against the paper and never sent wider than the head.
PROFILES = {"58mm": "POS-5890", "80mm": "TM-T20II"}


def status_from_bytes(printer: int | None, offline_cause: int | None, paper: int | None) -> PrinterState:
    """The state from the answers to DLE EOT 1 (printer), 2 (offline cause) and 4 (paper sensor)."""
    if printer is None:
        return PrinterState.TIMEOUT
    if offline_cause is not None and offline_cause & 0x04:
        return PrinterState.COVER_OPEN
    if (offline_cause is not None and offline_cause & 0x20) or (paper is not None and paper & 0x60):
        return PrinterState.PAPER_OUT
    if offline_cause is not None and offline_cause & 0x40:
        return PrinterState.ERROR
    if printer & 0x08:
        return PrinterState.OFFLINE
    if paper is not None and paper & 0x0C:
        return PrinterState.PAPER_LOW
    return PrinterState.READY


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap_columns(text: str, columns: int) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if _display_width(line + ch) > columns:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines or [""]


def encode_raster(device: Any, image: Any) -> None:
    """The rendered receipt as GS v 0 raster blocks, then feed and cut."""
    device.hw("INIT")
    device.image(image, impl="bitImageRaster", fragment_height=960)
    device.cut()


def encode_text(device: Any, receipt: ReceiptData, paper: str) -> None:
    """The receipt as printer text (GB18030) and a printer-drawn QR code, then feed and cut."""
    from escpos.constants import QR_ECLEVEL_M

    from printing.receipt import qr_modules

    columns = COLUMNS[paper]

    def line(text: str = "", align: str = "left", double: bool = False) -> None:
        device.set(align=align, double_height=double, double_width=double, normal_textsize=not double)
        for part in _wrap_columns(text, columns // (2 if double else 1)):
            device._raw(part.encode("gb18030") + b"\n")

    device.hw("INIT")
    device._raw(FS_KANJI_ON)
    line(receipt.site_name, "center")
    line(receipt.title, "center", double=True)
    line("-" * columns)
    if receipt.big:
        line(receipt.big_label or "", "center")
        line(receipt.big, "center", double=True)
    for label, value in (
        (receipt.number_label, receipt.number),
        (receipt.time_label, receipt.time),
        *receipt.lines,
    ):
        line(f"{label}：{value}")
    line("-" * columns)
    device.set(align="center")
    dots = {"58mm": 384, "80mm": 576}[paper]
    device.qr(
        receipt.qr_text,
        ec=QR_ECLEVEL_M,
        size=max(1, min(16, dots // (qr_modules(receipt.qr_text) + 8))),
        native=True,
    )
    line(f"{receipt.validity_label} {receipt.validity}", "center")
    for note in receipt.notes:
        line(note)
    line("-" * columns)
    if receipt.decision:
        line(receipt.decision_label or "", "center")
        line(receipt.decision, "center", double=True)
        for reason in receipt.decision_reasons:
            line(f"· {reason}")
        if receipt.decision_qr:
            device.set(align="center")
            size = max(1, min(16, dots // (qr_modules(receipt.decision_qr) + 8)))
            device.qr(receipt.decision_qr, ec=QR_ECLEVEL_M, size=size, native=True)
            line(receipt.decision_qr_label or "", "center")
        line("-" * columns)
    if receipt.instruction:
        line(receipt.instruction)
    device.cut()


class EscPosPrinter:
    """A thermal receipt printer (python-escpos): ``connect()`` opens the USB, serial or network device."""

    def __init__(
        self, connect: Callable[[], Any], name: str, paper: str = "80mm", mode: str = "raster"
    ) -> None:
        if mode not in ESCPOS_MODES:
            raise ValueError(f"ESC/POS mode must be one of {', '.join(ESCPOS_MODES)}")
        self.connect = connect
        self.name = name
        self.paper = paper
        self.mode = mode

    def _open(self) -> Any:
        try:
            return self.connect()
        except Exception as err:  # python-escpos raises its own, usb and OS errors for an absent device
            raise PrinterError(PrinterState.OFFLINE, f"{type(err).__name__}: {err}"[:200]) from None

    @staticmethod
    def _query(device: Any, n: int) -> int | None:
        answer = device.query_status(DLE_EOT + bytes((n,)))
        return answer[0] if answer else None

    def _state(self, device: Any) -> PrinterState:
        try:
            printer = self._query(device, 1)
            if printer is None:
                return PrinterState.TIMEOUT
            cause = self._query(device, 2) if printer & 0x08 else None
            return status_from_bytes(printer, cause, self._query(device, 4))
        except TimeoutError:
            return PrinterState.TIMEOUT
        except Exception:  # a device that vanished mid-query (unplugged USB, dropped socket)
            return PrinterState.OFFLINE

    def status(self) -> PrinterState:
        device = self._open()
        try:
            return self._state(device)
        finally:
            device.close()

    def print_receipt(self, receipt: ReceiptData) -> str:
        device = self._open()
        try:
            state = self._state(device)
            if not state.can_print:
                raise PrinterError(state, self.name)
            if self.mode == "raster":
                from printing.receipt import render_raster

                encode_raster(device, render_raster(receipt, self.paper))
            else:
                encode_text(device, receipt, self.paper)
        except PrinterError:
            raise
        except TimeoutError:
            raise PrinterError(PrinterState.TIMEOUT, self.name) from None
        except Exception as err:
            raise PrinterError(PrinterState.OFFLINE, f"{type(err).__name__}: {err}"[:200]) from None
        finally:
            device.close()
        return self.name


def _escpos(spec: str, paper: str, mode: str) -> EscPosPrinter:
    kind, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    try:
        if kind == "escpos-usb":
            vendor, product = (int(p, 16) for p in parts)

            def connect() -> Any:
                from escpos.printer import Usb

                return Usb(vendor, product, timeout=2000, profile=PROFILES[paper])

        elif kind == "escpos-serial":
            device_file, baud = parts[0], int(parts[1]) if len(parts) > 1 else 19200

            def connect() -> Any:
                from escpos.printer import Serial

                return Serial(device_file, baudrate=baud, timeout=2, profile=PROFILES[paper])

        elif kind == "escpos-net":
            host, port = parts[0], int(parts[1]) if len(parts) > 1 else 9100

            def connect() -> Any:
                from escpos.printer import Network

                return Network(host, port, timeout=5, profile=PROFILES[paper])

        else:
            raise ValueError(kind)
    except (ValueError, IndexError):
        raise ValueError(f"printer {spec!r}: not a valid ESC/POS printer spec") from None
    return EscPosPrinter(connect, spec, paper, mode)


def printer_from_spec(spec: str, data_dir: Path, paper: str = "80mm", escpos_mode: str = "raster") -> Printer:
    """The printer for a spec (see the module docstring); raises ``ValueError`` naming a bad spec."""
    kind, _, rest = spec.partition(":")
    if kind == "pdf":
        return PdfFolderPrinter(Path(rest) if rest else data_dir / "receipts", paper)
    if kind == "cups":
        return CupsPrinter(rest or None, paper)
    if kind == "fake":
        return FakePrinter(data_dir / "receipts", paper)
    if kind.startswith("escpos-"):
        if paper not in COLUMNS:
            raise ValueError(f"printer {spec!r}: thermal printers take 58mm or 80mm paper, not {paper}")
        return _escpos(spec, paper, escpos_mode)
    raise ValueError(
        f"printer {spec!r}: unknown kind {kind!r} (pdf, cups, escpos-usb, escpos-serial, escpos-net)"
    )
