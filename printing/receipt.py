"""Receipt layout and rendering: one layout for every service, on 58 mm and 80 mm rolls and A5/A4 sheets.

The layout is a column of blocks (text, label/value rows, rules, the QR code) measured for the paper's
printable width; a roll page is exactly as long as its content. Fonts are embedded: Droid Sans Fallback for
Chinese and Liberation Sans for Latin letters and digits (the CJK font has none), chosen per character run.

The QR code is drawn as vector squares whose module size is a whole number of printer dots on rolls (203 dpi,
8 dots/mm), so the raster sent to a thermal printer has no uneven modules, and at least 0.5 mm on paper
(phones read that from 20 cm).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from kiosk.forms.receipts import ReceiptData
from kiosk.paths import ASSETS_DIR, FONT_PATH

MM = 72 / 25.4  # points per millimetre
DOTS_PER_MM = 8  # 203 dpi thermal heads
CJK_FONT = "KioskCJK"
LATIN_FONT = "KioskLatin"
LATIN_FONT_PATH = ASSETS_DIR / "fonts" / "LiberationSans-Regular.ttf"
QR_ERROR = "m"
QR_BORDER = 4  # quiet zone in modules, as ISO/IEC 18004 requires


@dataclass(frozen=True)
class Paper:
    name: str
    width_mm: float
    printable_mm: float  # centred in the width
    height_mm: float | None  # None: a roll, cut after the content
    font_pt: float
    qr_max_mm: float
    margin_y_mm: float

    @property
    def roll(self) -> bool:
        return self.height_mm is None

    @property
    def dots(self) -> int:
        """Printable width in thermal-printer dots (rolls only)."""
        return round(self.printable_mm * DOTS_PER_MM)


PAPERS = {
    p.name: p
    for p in (
        Paper("58mm", 58, 48, None, 8.5, 48, 4),
        Paper("80mm", 80, 72, None, 10.5, 56, 4),
        Paper("A5", 148, 108, 210, 11, 60, 15),
        Paper("A4", 210, 130, 297, 12, 70, 25),
    )
}


@cache
def register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(CJK_FONT, str(FONT_PATH)))
    pdfmetrics.registerFont(TTFont(LATIN_FONT, str(LATIN_FONT_PATH)))


@cache
def _cjk_chars() -> frozenset[int]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    register_fonts()
    font = pdfmetrics.getFont(CJK_FONT)
    assert isinstance(font, TTFont)  # register_fonts loads it from a TrueType file
    return frozenset(font.face.charToGlyph)


def runs(text: str) -> Iterator[tuple[str, str]]:
    """``text`` split into (font, run) pieces: CJK glyphs from the CJK font, everything else Latin."""
    cjk = _cjk_chars()
    current, font = "", ""
    for ch in text:
        want = CJK_FONT if ord(ch) in cjk and ch != " " else LATIN_FONT
        if want != font and current:
            yield font, current
            current = ""
        font = want
        current += ch
    if current:
        yield font, current


def text_width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return sum(stringWidth(run, font, size) for font, run in runs(text))


# Closing punctuation never starts a line (the kinsoku rule of CJK typesetting): it stays with the character
# before it.
NO_LINE_START = "，。、；：！？）》」』”’%"


def _tokens(text: str) -> list[str]:
    """Break opportunities: after every CJK character, and at spaces between Latin words."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch in NO_LINE_START:
            word += ch
        elif ord(ch) > 0x2E80:
            if word:
                tokens.append(word)
            word = ch
        elif ch == " ":
            tokens.append(word + " ")
            word = ""
        else:
            if word and ord(word[-1]) > 0x2E80:
                tokens.append(word)
                word = ""
            word += ch
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if line and text_width(line + token.rstrip(), size) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
        while text_width(line.rstrip(), size) > width and len(line) > 1:
            # One token wider than the column (a long code or number): break it by characters.
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _draw_text(canvas: Any, x: float, y: float, text: str, size: float) -> None:
    for font, run in runs(text):
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += text_width(run, size)


@dataclass
class Block:
    """Something of a known height drawn at the top of the remaining column."""

    def height(self, width: float) -> float:
        raise NotImplementedError

    def draw(self, canvas: Any, x: float, top: float, width: float) -> None:
        raise NotImplementedError


@dataclass
class Text(Block):
    text: str
    size: float
    align: str = "left"
    grey: bool = False

    def _lines(self, width: float) -> list[str]:
        return wrap(self.text, self.size, width)

    def height(self, width: float) -> float:
        return len(self._lines(width)) * self.size * 1.35

    def draw(self, canvas: Any, x: float, top: float, width: float) -> None:
        canvas.setFillGray(0.35 if self.grey else 0)
        y = top
        for line in self._lines(width):
            y -= self.size * 1.35
            offset = {"left": 0.0, "center": (width - text_width(line, self.size)) / 2}[self.align]
            _draw_text(canvas, x + offset, y + self.size * 0.3, line, self.size)
        canvas.setFillGray(0)


@dataclass
class Row(Block):
    """A label and its value; the value wraps in its own column, so long place names stay aligned."""

    label: str
    value: str
    size: float
    label_share: float = 0.4

    def _columns(self, width: float) -> tuple[float, float]:
        label_w = width * self.label_share
        return label_w, width - label_w

    def height(self, width: float) -> float:
        label_w, value_w = self._columns(width)
        n = max(len(wrap(self.label, self.size, label_w - 2)), len(wrap(self.value, self.size, value_w)))
        return n * self.size * 1.35

    def draw(self, canvas: Any, x: float, top: float, width: float) -> None:
        label_w, value_w = self._columns(width)
        Text(self.label, self.size, grey=True).draw(canvas, x, top, label_w - 2)
        Text(self.value, self.size).draw(canvas, x + label_w, top, value_w)


@dataclass
class Rule(Block):
    gap: float

    def height(self, width: float) -> float:
        return self.gap * 2

    def draw(self, canvas: Any, x: float, top: float, width: float) -> None:
        canvas.setDash(2, 2)
        canvas.setLineWidth(0.6)
        canvas.line(x, top - self.gap, x + width, top - self.gap)
        canvas.setDash()


def qr_modules(text: str) -> int:
    """Modules a side of the code's QR symbol, without the quiet zone."""
    import segno

    return int(segno.make_qr(text, error=QR_ERROR).symbol_size(border=0)[0])


@dataclass
class Qr(Block):
    text: str
    paper: Paper

    @cached_property
    def matrix(self) -> list[list[bool]]:
        import segno

        return [[bool(v) for v in row] for row in segno.make_qr(self.text, error=QR_ERROR).matrix]

    def module_pt(self, width: float) -> float:
        modules = len(self.matrix) + 2 * QR_BORDER
        limit = min(width, self.paper.qr_max_mm * MM)
        if self.paper.roll:
            dots = max(1, int(limit / MM * DOTS_PER_MM) // modules)
            return dots / DOTS_PER_MM * MM
        return limit / modules

    def height(self, width: float) -> float:
        return (len(self.matrix) + 2 * QR_BORDER) * self.module_pt(width)

    def draw(self, canvas: Any, x: float, top: float, width: float) -> None:
        matrix = self.matrix
        module = self.module_pt(width)
        side = (len(matrix) + 2 * QR_BORDER) * module
        left = x + (width - side) / 2
        if self.paper.roll:
            # On the printer's dot grid, so every module is the same whole number of dots.
            dot = MM / DOTS_PER_MM
            left = x + round((width - side) / 2 / dot) * dot
        canvas.setFillGray(0)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    canvas.rect(
                        left + (c + QR_BORDER) * module,
                        top - (r + QR_BORDER + 1) * module,
                        module,
                        module,
                        stroke=0,
                        fill=1,
                    )


def layout(receipt: ReceiptData, paper: Paper) -> list[Block]:
    s = paper.font_pt
    blocks: list[Block] = [
        Text(receipt.site_name, s * 1.25, "center"),
        Text(receipt.title, s * 1.6, "center"),
        Rule(s * 0.5),
    ]
    if receipt.big:
        blocks += [Text(receipt.big_label or "", s, "center", grey=True), Text(receipt.big, s * 4, "center")]
    blocks += [
        Row(receipt.number_label, receipt.number, s),
        Row(receipt.time_label, receipt.time, s),
        *(Row(label, value, s) for label, value in receipt.lines),
        Rule(s * 0.5),
        Qr(receipt.qr_text, paper),
        Text(f"{receipt.validity_label} {receipt.validity}", s * 0.95, "center"),
        *(Text(note, s * 0.9, grey=True) for note in receipt.notes),
        Rule(s * 0.5),
    ]
    if receipt.decision:
        blocks += [
            Text(receipt.decision_label or "", s, "center", grey=True),
            Text(receipt.decision, s * 1.4, "center"),
            *(Text(f"· {reason}", s) for reason in receipt.decision_reasons),
        ]
        if receipt.decision_qr:
            # The central server's signed decision: any checkpoint or window verifies it like a pass.
            blocks += [
                Qr(receipt.decision_qr, paper),
                Text(receipt.decision_qr_label or "", s * 0.9, "center"),
            ]
        blocks.append(Rule(s * 0.5))
    if receipt.instruction:
        blocks.append(Text(receipt.instruction, s))
    return blocks


def render_pdf(receipt: ReceiptData, paper_name: str = "80mm") -> bytes:
    """The receipt as a one-page PDF with the fonts embedded."""
    from reportlab.pdfgen.canvas import Canvas

    register_fonts()
    paper = PAPERS[paper_name]
    width = paper.printable_mm * MM
    blocks = layout(receipt, paper)
    heights = [b.height(width) for b in blocks]
    margin_y = paper.margin_y_mm * MM
    page_w = paper.width_mm * MM
    page_h = paper.height_mm * MM if paper.height_mm else sum(heights) + 2 * margin_y
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(page_w, page_h), pageCompression=1, invariant=1)
    canvas.setTitle(f"{receipt.title} {receipt.number}")
    x = (page_w - width) / 2
    top = page_h - margin_y
    for block, h in zip(blocks, heights, strict=True):
        block.draw(canvas, x, top, width)
        top -= h
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def render_raster(receipt: ReceiptData, paper_name: str = "80mm") -> Any:
    """The roll receipt as a 1-bit PIL image exactly the printer's dot width (for ESC/POS raster)."""
    import pypdfium2 as pdfium

    paper = PAPERS[paper_name]
    if not paper.roll:
        raise ValueError(f"{paper_name} is not a roll; thermal printers take 58mm or 80mm")
    pdf = pdfium.PdfDocument(render_pdf(receipt, paper_name))
    try:
        page = pdf[0]
        scale = DOTS_PER_MM / MM
        image = page.render(scale=scale, grayscale=True, no_smoothtext=False).to_pil().convert("L")
    finally:
        pdf.close()
    left = round((paper.width_mm - paper.printable_mm) / 2 * DOTS_PER_MM)
    image = image.crop((left, 0, left + paper.dots, image.height))
    # A thermal head prints a dot or not: threshold once here, so what is sent is exactly what prints.
    return image.point(lambda v: 0 if v < 160 else 255, mode="1")
