"""Synthetic resident ID cards and camera-photo-like pictures of them, for tests and benchmarks.

Real ID cards are personal data, so nothing here is a real person: every identity is drawn from a seeded
random generator, but it is internally valid (check digit, birth date and sex encoded in the number, region
prefix matching the address province, validity period matching the age at issue), so the consistency rules
have something true to check. The layout follows the second-generation card (GA 450): blue labels, black
values, the number in OCR-B, portrait on the right; the back has the emblem, the title, 签发机关 and 有效期限.

Cards may be printed in several CJK typefaces (``TYPEFACES``, grouped in families so one family can be kept
out of tuning), layouts within the standard (``LAYOUTS``), stock colours and security patterns, and
photographed at any frame size, partly out of frame if asked.

``python -m tools.idcard_synth OUT_DIR [--count N] [--level easy|hard] [--seed S] [--faces uming,ukai]
[--frame 1920x1080] [--cut 0.15]`` writes sample photos.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from devices.camera.demo import desk_background
from kiosk.idcard.data import ETHNICITIES, provinces
from kiosk.idcard.rules import add_years, age_on, allowed_span
from kiosk.idnumber import check_digit
from kiosk.paths import ASSETS_DIR, FONT_PATH

CARD_W, CARD_H = 856, 540  # 10 px per mm of the 85.6 × 54 mm card
PORTRAIT_X = 560  # left edge of the photo on the front, card px
ADDRESS_GAP = 12  # clear space between the end of an address line and the photo
SCALE = 2  # rendered at 20 px/mm so the photo warp downsamples, as a camera's optics would
REFERENCE_DATE = date(2026, 1, 1)  # synthetic cards are valid on this day; benchmarks pass it as "today"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫")
RARE_SURNAMES = "亓乜仉佘厍逄羿邝殳芈隗阚禤蔺"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉文斌宇浩然子轩梓涵欣怡思雨嘉琪"
    "俊杰晨阳佳豪一诺雨泽博文梦瑶雅婷海峰春梅秋菊冬雪立新卫东振华德胜永福金凤淑珍丹丹晓燕"
)
RARE_GIVEN = "䶮堃喆犇淼焱垚赟昇龑婧琰頔珺玥旸晔煜翀翯骞彧祎璟晞暐弢靓歆"
CITIES = ("城关", "新华", "解放", "人民", "建设", "和平", "胜利", "幸福", "光明", "长安", "文化", "振兴")
DISTRICT_SUFFIX = ("区", "县", "市")
STREET_WORDS = (
    "中山",
    "解放",
    "建设",
    "人民",
    "和平",
    "青年",
    "学府",
    "滨江",
    "朝阳",
    "长江",
    "黄河",
    "南京",
)
STREET_SUFFIX = ("路", "街", "大道", "巷", "大街")
ESTATES = ("花园", "小区", "新村", "家园", "公寓", "苑")
VILLAGES = ("村", "组", "屯")
MUNICIPALITIES = ("11", "12", "31", "50")

LABEL_BLUE = (28, 110, 176)
# Label inks as card batches and fading print give them: the design's blue, a greyer one, a pale one.
LABEL_INKS = (LABEL_BLUE, (70, 110, 150), (95, 140, 185))
INK = (18, 18, 22)


@dataclass(frozen=True)
class Identity:
    name: str
    sex: str  # 男 / 女
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_until: date | None  # None: 长期

    def front_fields(self) -> dict[str, str]:
        return {
            "name": self.name,
            "sex": self.sex,
            "ethnicity": self.ethnicity,
            "birth_date": self.birth_date.isoformat(),
            "address": self.address,
            "id_number": self.id_number,
        }

    def back_fields(self) -> dict[str, str]:
        return {
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else "长期",
        }


def _pick(rng: np.random.Generator, seq: tuple[str, ...] | str) -> str:
    return seq[int(rng.integers(len(seq)))]


def random_name(rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.06:
        surname = _pick(rng, COMPOUND_SURNAMES)
    elif roll < 0.12:
        surname = _pick(rng, RARE_SURNAMES)
    else:
        surname = _pick(rng, SURNAMES)
    total = int(rng.choice([2, 3, 3, 3, 4]))
    given_len = max(1, total - len(surname))
    given = "".join(_pick(rng, RARE_GIVEN if rng.random() < 0.12 else GIVEN) for _ in range(given_len))
    return surname + given


def random_address(rng: np.random.Generator, province_code: str) -> str:
    province = provinces()[province_code]
    city = "" if province_code in MUNICIPALITIES else _pick(rng, CITIES) + "市"
    district = _pick(rng, CITIES[::-1]) + _pick(rng, DISTRICT_SUFFIX)
    if rng.random() < 0.3:  # rural: town, village, group
        rest = (
            f"{_pick(rng, STREET_WORDS)}镇{_pick(rng, CITIES)}{_pick(rng, VILLAGES)}"
            f"{int(rng.integers(1, 30))}组{int(rng.integers(1, 200))}号"
        )
    else:
        rest = f"{_pick(rng, STREET_WORDS)}{_pick(rng, STREET_SUFFIX)}{int(rng.integers(1, 999))}号"
        if rng.random() < 0.6:  # an estate, building, unit and flat: the long, wrapped addresses
            rest += (
                f"{_pick(rng, STREET_WORDS)}{_pick(rng, ESTATES)}{int(rng.integers(1, 40))}栋"
                f"{int(rng.integers(1, 6))}单元{int(rng.integers(1, 33))}{int(rng.integers(1, 5)):02d}室"
            )
    return province + city + district + rest


def random_identity(
    rng: np.random.Generator,
    ethnicity: str | None = None,
    force_x: bool = False,
    today: date = REFERENCE_DATE,
) -> Identity:
    """A random identity valid on ``today``; ``force_x`` makes the check digit an X."""
    codes = sorted(provinces())
    province_code = _pick(rng, tuple(codes))
    region = f"{province_code}{int(rng.integers(1, 21)):02d}{int(rng.integers(1, 30)):02d}"
    sex = "男" if rng.random() < 0.5 else "女"
    while True:
        born = date(1935, 1, 1) + timedelta(days=int(rng.integers(0, (today - date(1935, 1, 1)).days - 400)))
        # The card in hand is the current one: issued at most its validity before today, after birth.
        issued = today - timedelta(days=int(rng.integers(30, 20 * 365)))
        if issued <= born + timedelta(days=180):
            continue
        years = allowed_span(age_on(born, issued))
        until = None if years is None else add_years(issued, years)
        if until is None or until > today:
            break
    for _ in range(200):
        seq = int(rng.integers(0, 1000))
        if (seq % 2 == 1) != (sex == "男"):
            seq = (seq + 1) % 1000
        first17 = f"{region}{born:%Y%m%d}{seq:03d}"
        if not force_x or check_digit(first17) == "X":
            break
    number = first17 + check_digit(first17)
    address = random_address(rng, province_code)
    after_province = address[len(provinces()[province_code]) :]
    if province_code in MUNICIPALITIES:
        city, rest = provinces()[province_code], after_province
    else:
        city, _, rest = after_province.partition("市")
        city += "市"
    district_name = rest[:3]
    authority = f"{city}公安局{district_name}分局" if rng.random() < 0.6 else f"{district_name}公安局"
    return Identity(
        name=random_name(rng),
        sex=sex,
        ethnicity=ethnicity or _pick(rng, ETHNICITIES),
        birth_date=born,
        address=address,
        id_number=number,
        authority=authority,
        valid_from=issued,
        valid_until=until,
    )


# --- rendering the card ------------------------------------------------------------------------------------

DEBIAN_FONTS = Path("/usr/share/fonts")


@dataclass(frozen=True)
class Typeface:
    """A CJK typeface the card's labels and values may be printed in; ``family`` groups faces that share
    their design (Noto Sans and Serif, the two WenQuanYi, the two AR PL), so one family can be kept out of
    all tuning as a whole."""

    key: str
    family: str
    path: Path
    face_name: str = ""  # in a font collection (.ttc): the face whose name contains this (the mainland one)
    package: str = ""  # the Debian package that installs it (.ci/fonts.sh); "" for the repo's own fonts
    has_latin: bool = True  # Droid Sans Fallback has no Latin digits: those come from Liberation Sans


TYPEFACES: dict[str, Typeface] = {
    t.key: t
    for t in (
        Typeface("droid", "droid", FONT_PATH, has_latin=False),
        Typeface("noto-sans", "noto", DEBIAN_FONTS / "opentype/noto/NotoSansCJK-Regular.ttc", "CJK SC",
                 "fonts-noto-cjk"),
        Typeface("noto-serif", "noto", DEBIAN_FONTS / "opentype/noto/NotoSerifCJK-Regular.ttc", "CJK SC",
                 "fonts-noto-cjk"),
        Typeface("wqy-zenhei", "wqy", DEBIAN_FONTS / "truetype/wqy/wqy-zenhei.ttc", "Zen Hei",
                 "fonts-wqy-zenhei"),
        Typeface("wqy-microhei", "wqy", DEBIAN_FONTS / "truetype/wqy/wqy-microhei.ttc", "Micro Hei",
                 "fonts-wqy-microhei"),
        Typeface("uming", "arphic", DEBIAN_FONTS / "truetype/arphic/uming.ttc", "UMing CN",
                 "fonts-arphic-uming"),
        Typeface("ukai", "arphic", DEBIAN_FONTS / "truetype/arphic/ukai.ttc", "UKai CN", "fonts-arphic-ukai"),
        Typeface("lxgw-wenkai", "lxgw", DEBIAN_FONTS / "truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
                 package="fonts-lxgw-wenkai"),
    )
}  # fmt: skip
# Faces for the 18-character number: the card's OCR-B, and a monospaced look-alike as a card printer with
# another OCR-B cut would give.
NUMBER_FACES: dict[str, Typeface] = {
    t.key: t
    for t in (
        Typeface("ocrb", "ocrb", ASSETS_DIR / "fonts" / "OCRB.otf"),
        Typeface("dejavu-mono", "dejavu", DEBIAN_FONTS / "truetype/dejavu/DejaVuSansMono.ttf",
                 package="fonts-dejavu-core"),
    )
}  # fmt: skip
LATIN = Typeface("liberation", "liberation", ASSETS_DIR / "fonts" / "LiberationSans-Regular.ttf")
# The families kept out of all tuning (thresholds, weights, rules): reported apart and first. AR PL has
# been measured on many seeds and its misses read card by card to find rules; LXGW WenKai (a Kai face of
# another design) was added after the reader's rules and only measured: no rule came from its cards.
HELD_OUT_FAMILIES = ("arphic", "lxgw")


def families() -> dict[str, list[str]]:
    """Typeface keys by family."""
    out: dict[str, list[str]] = {}
    for face in TYPEFACES.values():
        out.setdefault(face.family, []).append(face.key)
    return out


def faces_named(spec: str) -> list[str]:
    """Typeface keys for a comma-separated list of typefaces or families (``arphic`` is uming, ukai)."""
    groups = families()
    return [key for item in spec.split(",") if item for key in groups.get(item, [item])]


def missing_typefaces(keys: list[str] | tuple[str, ...]) -> list[Typeface]:
    """Of the faces named by ``keys`` (CJK or number), those whose font file is not installed."""
    faces = [TYPEFACES.get(k) or NUMBER_FACES[k] for k in keys]
    return [f for f in faces if not f.path.exists()]


@dataclass(frozen=True)
class Layout:
    """Where the front's fields go, in card px (10 px/mm), within what the card standard leaves open: the
    label column, value column and row pitch are fixed by the design; label spacing, value offsets,
    letter spacing and how far an address line may run (so where it breaks) vary between card printers."""

    key: str = "standard"
    label_gap: str = "  "  # between the two characters of a two-character label (姓  名)
    label_spacing: float = 0.0  # extra space after each label character
    value_dx: float = 100  # value column, right of the label column
    ethnicity_dx: float = 200  # the 民族 label, right of the label column
    name_px: int = 34
    name_spacing: float = 2
    value_px: int = 28
    address_spacing: float = 0.5
    address_pitch: float = 42
    address_gap: float = ADDRESS_GAP  # clear space left of the photo: larger breaks addresses sooner


LAYOUTS: dict[str, Layout] = {
    lay.key: lay
    for lay in (
        Layout(),
        # Labels letter-spaced rather than padded with blanks, wider value letter spacing.
        Layout("spaced", label_gap="", label_spacing=26, value_dx=104, ethnicity_dx=206, name_spacing=7,
               address_spacing=1.5, address_pitch=40),
        # Tighter values, a smaller name, and an address column that stops well short of the photo, so
        # addresses break one or two characters earlier.
        Layout("compact", value_dx=96, ethnicity_dx=196, name_px=32, name_spacing=0, value_px=27,
               address_spacing=0.0, address_pitch=44, address_gap=64),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Stock:
    """The card's printed background: a pale colour wash and a security pattern."""

    tint: tuple[float, float, float] = (0.45, 0.5, 0.7)  # RGB lean of the wash, 0..1 (0.5 neutral)
    pattern: str = "waves"  # waves (interfering wave lines) / rosette (guilloché rings) / lines (diagonals)
    pattern_colour: tuple[int, int, int] = (170, 200, 225)


PATTERNS = ("waves", "rosette", "lines")


@dataclass(frozen=True)
class CardStyle:
    """How one card is printed. The default is the renderer's original: Droid Sans Fallback, OCR-B, the
    standard layout, blue-grey wave stock."""

    face: str = "droid"
    number_face: str = "ocrb"
    layout: Layout = field(default_factory=Layout)
    stock: Stock | None = None  # None: the side's usual stock
    label_ink: tuple[int, int, int] = LABEL_BLUE
    portrait_saturation: float = 1.0  # a faded photo holds less colour

    @property
    def family(self) -> str:
        return TYPEFACES[self.face].family


def random_style(rng: np.random.Generator, faces: tuple[str, ...] | list[str]) -> CardStyle:
    """A card printed in one of ``faces`` (keys of TYPEFACES) in a random layout, number face and stock."""
    tint = tuple(float(v) for v in rng.uniform(0.3, 0.75, 3))
    colour = tuple(int(v) for v in rng.integers(150, 215, 3))
    return CardStyle(
        face=_pick(rng, tuple(faces)),
        number_face=_pick(rng, tuple(NUMBER_FACES)),
        layout=LAYOUTS[_pick(rng, tuple(LAYOUTS))],
        stock=Stock(tint=tint, pattern=_pick(rng, PATTERNS), pattern_colour=colour),  # type: ignore[arg-type]
        label_ink=LABEL_INKS[int(rng.integers(len(LABEL_INKS)))],
        portrait_saturation=float(rng.uniform(0.3, 1.0)),
    )


@cache
def _font(key: str, px: int) -> ImageFont.FreeTypeFont:
    face = TYPEFACES.get(key) or NUMBER_FACES.get(key) or LATIN
    index = 0
    if face.face_name:  # the collection's faces in order until the named one
        while face.face_name not in " ".join(ImageFont.truetype(str(face.path), 12, index=index).getname()):
            index += 1
    return ImageFont.truetype(str(face.path), px * SCALE, index=index)


@cache
def has_glyph(key: str, ch: str) -> bool:
    """Whether typeface ``key`` draws ``ch`` (rather than its "missing" box, or nothing at all)."""
    font = _font(key, 12)

    def drawn(c: str) -> bytes:
        image = Image.new("L", (24 * SCALE, 24 * SCALE))
        ImageDraw.Draw(image).text((2, 2), c, font=font, fill=255)
        return image.tobytes()

    shape = drawn(ch)
    # A private-use point: what the face draws for "no glyph". AR PL UKai maps some characters it lacks
    # (䶮) to an empty glyph instead: such a card printed nothing where its name has a character.
    return any(shape) and shape != drawn("\ue000")


def _face_for(ch: str, face: str) -> tuple[str, bool]:
    """(typeface key, whether it is a Latin face set into CJK text) for drawing ``ch`` in ``face``. A
    character the face lacks (a rare name character) falls back to Droid Sans Fallback, which has them all,
    as a card printer's font would."""
    if ch.isascii():
        return (face, False) if TYPEFACES[face].has_latin else (LATIN.key, True)
    return (face, False) if face == "droid" or has_glyph(face, ch) else ("droid", False)


def _s(v: float) -> int:
    return round(v * SCALE)


def _draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    px: int,
    fill: tuple[int, int, int],
    spacing: float = 0.0,
    stroke: int = 0,
    face: str = "droid",
) -> float:
    """Draws mixed CJK / ASCII text in ``face``; returns the end x (card px)."""
    x, y = xy
    for ch in text:
        key, latin_in_cjk = _face_for(ch, face)
        font = _font(key, px)
        # Liberation's glyphs sit lower in their em box than Droid's; nudge so both share a baseline.
        dy = -0.12 * px if latin_in_cjk else 0.0
        draw.text((_s(x), _s(y + dy)), ch, font=font, fill=fill, stroke_width=stroke, stroke_fill=fill)
        x += font.getlength(ch) / SCALE + spacing
    return x


def _wrap(text: str, px: int, width: float, spacing: float = 0.0, face: str = "droid") -> list[str]:
    """``text`` in lines that end, as ``_draw_text`` lays them out, within ``width`` card px."""
    lines, current, used = [], "", 0.0
    for ch in text:
        w = _font(_face_for(ch, face)[0], px).getlength(ch) / SCALE + spacing
        if used + w > width and current:
            lines.append(current)
            current, used = "", 0.0
        current += ch
        used += w
    if current:
        lines.append(current)
    return lines


def _guilloche(rng: np.random.Generator, stock: Stock) -> np.ndarray:
    """Pale card stock: a colour wash plus fine security-print lines (``stock.pattern``)."""
    h, w = CARD_H * SCALE, CARD_W * SCALE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wash = 0.5 + 0.5 * np.sin(xx / w * math.pi * 1.3 + rng.uniform(0, 6)) * np.cos(yy / h * math.pi)
    base = np.empty((h, w, 3), np.float32)
    for c in range(3):
        base[..., c] = 238 + 10 * wash * (stock.tint[c] - 0.5) * 2
    phase = rng.uniform(0, 6.28)
    lines = np.zeros((h, w), np.float32)
    if stock.pattern == "waves":
        for k in range(3):
            f = 0.018 / SCALE * (1 + 0.4 * k)
            lines += np.cos((yy + 18 * SCALE * np.sin(xx * f * 0.7 + phase + k)) * f * 6) > 0.93
    elif stock.pattern == "rosette":  # rings about two centres, wobbling: the moiré of a guilloché
        for cx, cy in ((0.3, 0.45), (0.75, 0.6)):
            r = np.hypot(xx - cx * w, yy - cy * h)
            angle = np.arctan2(yy - cy * h, xx - cx * w)
            lines += np.cos((r + 6 * SCALE * np.sin(angle * 12 + phase)) * 0.11 / SCALE) > 0.94
    else:  # fine diagonal hatching, bent by a slow wave
        lines += np.cos((xx + yy + 10 * SCALE * np.sin(yy / h * 5 + phase)) * 0.16 / SCALE) > 0.9
    lines = cv2.GaussianBlur(lines, (0, 0), 0.6 * SCALE)
    colour = np.array(stock.pattern_colour, np.float32)
    base = base * (1 - 0.22 * lines[..., None]) + colour * 0.22 * lines[..., None]
    return np.clip(base, 0, 255).astype(np.uint8)


def _portrait(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size, (226, 232, 238))
    d = ImageDraw.Draw(img)
    skin = tuple(int(v) for v in rng.integers([170, 130, 100], [225, 185, 160]))
    clothes = tuple(int(v) for v in rng.integers(20, 90, 3))
    d.ellipse((w * 0.05, h * 0.72, w * 0.95, h * 1.5), fill=clothes)  # shoulders
    d.rectangle((w * 0.40, h * 0.55, w * 0.60, h * 0.8), fill=skin)  # neck
    d.ellipse((w * 0.25, h * 0.15, w * 0.75, h * 0.68), fill=skin)  # face
    hair = tuple(int(v) for v in rng.integers(10, 50, 3))
    d.chord((w * 0.23, h * 0.1, w * 0.77, h * 0.55), 180, 360, fill=hair)
    for ex in (0.4, 0.6):
        d.ellipse((w * (ex - 0.03), h * 0.38, w * (ex + 0.03), h * 0.42), fill=(40, 30, 30))
    d.line((w * 0.45, h * 0.56, w * 0.55, h * 0.56), fill=(150, 70, 70), width=max(2, w // 60))
    return img.filter(ImageFilter.GaussianBlur(1.2 * SCALE))


def _label(text: str, layout: Layout) -> str:
    return text[0] + layout.label_gap + text[1] if len(text) == 2 else text


def render_front(identity: Identity, rng: np.random.Generator, style: CardStyle | None = None) -> np.ndarray:
    """The front of the card, BGR, ``(CARD_H * SCALE, CARD_W * SCALE)``."""
    style = style or CardStyle()
    lay, face = style.layout, style.face
    img = Image.fromarray(_guilloche(rng, style.stock or Stock()))
    d = ImageDraw.Draw(img)

    def label(xy: tuple[float, float], text: str) -> float:
        return _draw_text(d, xy, _label(text, lay), 25, style.label_ink, lay.label_spacing, face=face)

    def value(xy: tuple[float, float], text: str, px: int, spacing: float = 0.0, stroke: int = 0) -> float:
        return _draw_text(d, xy, text, px, INK, spacing, stroke, face=face)

    jitter = rng.uniform(-4, 4, 2)  # print registration varies a little from card to card
    x0, y0 = 62 + jitter[0], 50 + jitter[1]
    vx, px = x0 + lay.value_dx, lay.value_px
    label((x0, y0 + 4), "姓名")
    value((vx, y0), identity.name, lay.name_px, lay.name_spacing, stroke=1)
    label((x0, y0 + 72), "性别")
    value((vx, y0 + 70), identity.sex, px)
    label((x0 + lay.ethnicity_dx, y0 + 72), "民族")
    value((x0 + lay.ethnicity_dx + lay.value_dx, y0 + 70), identity.ethnicity, px)
    label((x0, y0 + 140), "出生")
    born = identity.birth_date
    x = value((vx, y0 + 138), f"{born.year}", px) + 10
    x = _draw_text(d, (x, y0 + 140), "年", 25, style.label_ink, face=face) + 10
    x = value((x, y0 + 138), f"{born.month}", px) + 10
    x = _draw_text(d, (x, y0 + 140), "月", 25, style.label_ink, face=face) + 10
    x = value((x, y0 + 138), f"{born.day}", px) + 10
    _draw_text(d, (x, y0 + 140), "日", 25, style.label_ink, face=face)
    label((x0, y0 + 208), "住址")
    # The address column stops short of the photo, as printed cards do; text under the photo would be a
    # character no reader could see but the truth still expects.
    width = PORTRAIT_X - lay.address_gap - vx
    for i, line in enumerate(_wrap(identity.address, px, width, lay.address_spacing, face)[:4]):
        value((vx, y0 + 206 + i * lay.address_pitch), line, px, lay.address_spacing)
    _draw_text(d, (x0, y0 + 398), "公民身份号码", 25, style.label_ink, face=face)
    number = _font(style.number_face, 36)
    d.text((_s(x0 + 215), _s(y0 + 384)), identity.id_number, font=number, fill=INK)
    portrait = _portrait(rng, (_s(250), _s(310)))
    if style.portrait_saturation < 1.0:
        portrait = ImageEnhance.Color(portrait).enhance(style.portrait_saturation)
    img.paste(portrait, (_s(PORTRAIT_X), _s(60)))
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


def _emblem(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    red, gold = (200, 30, 35), (245, 200, 60)
    d.ellipse((_s(cx - r), _s(cy - r), _s(cx + r), _s(cy + r)), fill=red, outline=gold, width=_s(3))
    d.rectangle((_s(cx - r * 0.55), _s(cy + r * 0.1), _s(cx + r * 0.55), _s(cy + r * 0.45)), fill=gold)
    for i, (dx, dy, rr) in enumerate(
        [(0, -0.45, 0.22), (-0.4, -0.2, 0.09), (0.4, -0.2, 0.09), (-0.2, -0.05, 0.09)]
    ):
        del i
        pts = []
        for k in range(10):
            ang = -math.pi / 2 + k * math.pi / 5
            rad = rr * r * (1 if k % 2 == 0 else 0.4)
            pts.append((_s(cx + dx * r + rad * math.cos(ang)), _s(cy + dy * r + rad * math.sin(ang))))
        d.polygon(pts, fill=gold)


def render_back(identity: Identity, rng: np.random.Generator, style: CardStyle | None = None) -> np.ndarray:
    """The back of the card, BGR, ``(CARD_H * SCALE, CARD_W * SCALE)``."""
    style = style or CardStyle()
    face = style.face
    img = Image.fromarray(_guilloche(rng, style.stock or Stock(tint=(0.7, 0.5, 0.45))))
    d = ImageDraw.Draw(img)
    # Faint great-wall band across the middle, part of the real back's security print.
    for k in range(0, CARD_W, 24):
        top = 300 + 18 * math.sin(k / 60)
        d.rectangle((_s(k), _s(top), _s(k + 14), _s(top + 22)), fill=(214, 208, 214))
    _emblem(d, 120, 120, 72)
    _draw_text(d, (250, 70), "中华人民共和国", 42, INK, spacing=12, face=face)
    _draw_text(d, (250, 160), "居民身份证", 66, INK, spacing=22, stroke=1, face=face)
    jitter = rng.uniform(-4, 4, 2)
    x0, y0 = 150 + jitter[0], 390 + jitter[1]
    # The labels' letter spacing varies with the layout as the front's does.
    spacing = 4 + style.layout.label_spacing / 4
    _draw_text(d, (x0, y0), "签发机关", 25, INK, spacing=spacing, face=face)
    _draw_text(d, (x0 + 150, y0 - 2), identity.authority, 28, INK, face=face)
    _draw_text(d, (x0, y0 + 62), "有效期限", 25, INK, spacing=spacing, face=face)
    until = identity.valid_until.strftime("%Y.%m.%d") if identity.valid_until else "长期"
    _draw_text(d, (x0 + 150, y0 + 60), f"{identity.valid_from:%Y.%m.%d}-{until}", 28, INK, face=face)
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


# --- photographing it --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoParams:
    """How the camera sees the card; ``level`` presets draw these at random."""

    frame_size: tuple[int, int] = (1280, 720)
    card_width_frac: float = 0.6  # card width as a fraction of the frame width
    center: tuple[float, float] = (0.5, 0.5)  # fractions of the frame
    angle_deg: float = 0.0
    tilt: tuple[float, float] = (0.0, 0.0)  # perspective: horizontal and vertical foreshortening
    blur_sigma: float = 0.6
    motion_blur_px: int = 0
    noise_sigma: float = 3.0
    light_gradient: float = 0.1  # depth of the uneven lighting
    glare: float = 0.0  # peak added brightness of a specular highlight
    jpeg_quality: int = 90
    photocopy: bool = False
    background_seed: int = 0
    occlude: bool = False  # a finger over one edge
    allow_cut: bool = False  # let part of the card fall outside the frame


def random_photo_params(rng: np.random.Generator, level: str) -> PhotoParams:
    hard = level == "hard"
    angle = rng.uniform(-25, 25) if hard else rng.uniform(-8, 8)
    if hard and rng.random() < 0.1:
        angle += 180  # the card held upside down
    return PhotoParams(
        card_width_frac=rng.uniform(0.42, 0.7) if hard else rng.uniform(0.58, 0.75),
        center=(rng.uniform(0.38, 0.62), rng.uniform(0.4, 0.6)) if hard else (0.5, 0.5),
        angle_deg=angle,
        tilt=tuple(rng.uniform(-0.12, 0.12, 2)) if hard else tuple(rng.uniform(-0.05, 0.05, 2)),
        blur_sigma=rng.uniform(0.6, 1.5) if hard else rng.uniform(0.3, 0.8),
        motion_blur_px=int(rng.integers(0, 6)) if hard and rng.random() < 0.3 else 0,
        noise_sigma=rng.uniform(3, 8) if hard else rng.uniform(1.5, 3.5),
        light_gradient=rng.uniform(0.15, 0.45) if hard else rng.uniform(0.0, 0.15),
        glare=rng.uniform(40, 110) if hard and rng.random() < 0.5 else 0.0,
        jpeg_quality=int(rng.integers(45, 80)) if hard else int(rng.integers(85, 96)),
        background_seed=int(rng.integers(0, 1 << 30)),
    )


def _card_quad(params: PhotoParams) -> np.ndarray:
    fw, fh = params.frame_size
    half_w = params.card_width_frac * fw / 2
    half_h = half_w * CARD_H / CARD_W
    tx, ty = params.tilt
    # Foreshortening: one side of the card is farther from the lens, so shorter.
    local = np.array(
        [
            [-half_w * (1 - ty), -half_h * (1 - tx)],
            [half_w * (1 - ty), -half_h * (1 + tx)],
            [half_w * (1 + ty), half_h * (1 + tx)],
            [-half_w * (1 + ty), half_h * (1 - tx)],
        ],
        np.float32,
    )
    a = math.radians(params.angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    quad = local @ rot.T
    centre = np.array([params.center[0] * fw, params.center[1] * fh], np.float32)
    if not params.allow_cut:  # people do hold the card inside the guide: shrink and shift it until it fits
        limit = np.array([fw, fh], np.float32) * 0.47
        quad *= min(1.0, float((limit / np.abs(quad).max(axis=0)).min()))
        reach = np.abs(quad).max(axis=0) + 6
        centre = np.clip(centre, reach, np.array([fw, fh], np.float32) - reach)
    return quad + centre


def photograph(
    card: np.ndarray,
    params: PhotoParams,
    rng: np.random.Generator,
    sensor_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The camera frame (BGR) showing ``card``, and the card's corner quad in it (TL, TR, BR, BL).

    ``rng`` draws the room's light and the glare; ``sensor_rng``, when given, the sensor's noise (so that
    the next frame of a held card has the same light and new noise)."""
    fw, fh = params.frame_size
    frame = desk_background(fw, fh, seed=params.background_seed).astype(np.float32)
    quad = _card_quad(params)
    ch, cw = card.shape[:2]
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad)
    # Rounded corners (radius ~3 mm) as an alpha mask, so the silhouette is a card's, not a rectangle's.
    mask = np.zeros((ch, cw), np.uint8)
    r = 30 * SCALE
    cv2.rectangle(mask, (r, 0), (cw - r, ch), 255, -1)
    cv2.rectangle(mask, (0, r), (cw, ch - r), 255, -1)
    for cx, cy in ((r, r), (cw - r, r), (r, ch - r), (cw - r, ch - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1)
    warped = cv2.warpPerspective(card, matrix, (fw, fh), flags=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.warpPerspective(mask, matrix, (fw, fh), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    shadow = cv2.GaussianBlur(np.roll(alpha, (8, 6), axis=(0, 1)), (0, 0), 9)
    frame *= 1 - 0.45 * shadow[..., None]
    frame = frame * (1 - alpha[..., None]) + warped * alpha[..., None]
    if params.occlude:  # a fingertip over the lower edge
        cx, cy = (quad[2] + quad[3]) / 2
        cv2.ellipse(
            frame, (int(cx), int(cy)), (int(fw * 0.04), int(fw * 0.07)), 15, 0, 360, (120, 150, 205), -1
        )
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    direction = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(direction) * (xx / fw - 0.5) + np.sin(direction) * (yy / fh - 0.5)) * 2
    frame *= (1 - params.light_gradient * 0.5 + params.light_gradient * 0.5 * ramp)[..., None]
    if params.glare > 0:  # a specular highlight somewhere on the card
        gx, gy = quad.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * (quad[1] - quad[3])
        sx, sy = fw * rng.uniform(0.03, 0.08), fh * rng.uniform(0.05, 0.12)
        blob = np.exp(-(((xx - gx) / sx) ** 2 + ((yy - gy) / sy) ** 2) / 2)
        frame += params.glare * (blob * alpha)[..., None]
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    if params.photocopy:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        grey = cv2.convertScaleAbs(grey, alpha=1.4, beta=-60)
        frame = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    if params.motion_blur_px > 1:
        k = np.zeros((params.motion_blur_px, params.motion_blur_px), np.float32)
        k[params.motion_blur_px // 2, :] = 1 / params.motion_blur_px
        frame = cv2.filter2D(frame, -1, k)
    frame = cv2.GaussianBlur(frame, (0, 0), params.blur_sigma)
    noise = (sensor_rng or rng).normal(0, params.noise_sigma, frame.shape)
    frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality])
    assert ok
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR), quad


@dataclass
class Sample:
    """One generated photo with its truth."""

    image: np.ndarray
    side: str  # front / back
    identity: Identity
    quad: np.ndarray
    params: PhotoParams
    truth: dict[str, str] = field(default_factory=dict)
    style: CardStyle = field(default_factory=CardStyle)
    card: np.ndarray | None = field(default=None, repr=False)  # the flat render the photo was taken of
    light_state: dict[str, object] = field(default_factory=dict, repr=False)  # rng state for the light


def make_sample(
    seed: int,
    side: str,
    level: str = "easy",
    index: int = 0,
    faces: tuple[str, ...] | list[str] | None = None,
    cut: float = 0.0,
    **overrides: object,
) -> Sample:
    """A reproducible photo: the same arguments always give the same image and identity.

    ``index`` cycles the ethnicity through all 56 and makes every eighth check digit an X. ``faces`` (keys of
    TYPEFACES) prints the card in one of them, in a random layout, number face and stock (drawn from a
    stream of their own, so the identity and the camera are those of the same sample without ``faces``);
    without it the card is printed as the renderer always did. ``cut`` pushes that share of the card's
    width out of the frame on a random side. ``overrides`` set PhotoParams fields (``frame_size`` …).
    """
    rng = np.random.default_rng([seed, index, 0 if side == "front" else 1, 0 if level == "easy" else 1])
    identity = random_identity(rng, ethnicity=ETHNICITIES[index % len(ETHNICITIES)], force_x=index % 8 == 0)
    style = CardStyle()
    if faces:
        style = random_style(np.random.default_rng([seed, index, 0 if side == "front" else 1, 7]), faces)
    card = render_front(identity, rng, style) if side == "front" else render_back(identity, rng, style)
    params = random_photo_params(rng, level)
    if overrides:
        params = PhotoParams(**{**params.__dict__, **overrides})
    if cut > 0:
        params = _cut_params(params, cut, np.random.default_rng([seed, index, 11]))
    light_state = rng.bit_generator.state
    image, quad = photograph(card, params, rng)
    truth = identity.front_fields() if side == "front" else identity.back_fields()
    return Sample(
        image=image,
        side=side,
        identity=identity,
        quad=quad,
        params=params,
        truth=truth,
        style=style,
        card=card,
        light_state=light_state,
    )


def held_frame(sample: Sample, frame: int, centred: float = 0.0) -> np.ndarray:
    """Frame number ``frame`` (1, 2, …) after ``sample.image`` of the same card held in front of the camera:
    the hand drifts a little (under half a per cent of the frame, half a degree, a trace of tilt and focus),
    the room's light and the glare stay, the sensor's noise is new. The live reader votes over such frames.
    ``centred`` (0..1) moves the card that share of the way to the frame's centre, as a person does when
    asked to put the whole card inside the guide."""
    assert sample.card is not None
    p = sample.params
    jitter = np.random.default_rng([frame, p.background_seed])
    cx, cy = (c + (0.5 - c) * centred for c in p.center)
    params = replace(
        p,
        center=(cx + jitter.uniform(-0.004, 0.004), cy + jitter.uniform(-0.004, 0.004)),
        angle_deg=p.angle_deg + jitter.uniform(-0.5, 0.5),
        tilt=(p.tilt[0] + jitter.uniform(-0.005, 0.005), p.tilt[1] + jitter.uniform(-0.005, 0.005)),
        blur_sigma=p.blur_sigma * jitter.uniform(0.9, 1.1),
    )
    light = np.random.default_rng()
    light.bit_generator.state = sample.light_state
    image, _ = photograph(sample.card, params, light, sensor_rng=jitter)
    return image


def _cut_params(params: PhotoParams, share: float, rng: np.random.Generator) -> PhotoParams:
    """``params`` with the card moved so that about ``share`` of its width (or height) lies outside the
    frame, past a random edge, as when the card is held off the guide."""
    half_w = params.card_width_frac / 2
    fw, fh = params.frame_size
    half_h = half_w * fw / fh * CARD_H / CARD_W
    cx, cy = 0.5, 0.5
    edge = int(rng.integers(4))
    if edge == 0:
        cx = half_w * (1 - 2 * share)
    elif edge == 1:
        cx = 1 - half_w * (1 - 2 * share)
    elif edge == 2:
        cy = half_h * (1 - 2 * share)
    else:
        cy = 1 - half_h * (1 - 2 * share)
    return PhotoParams(**{**params.__dict__, "allow_cut": True, "center": (cx, cy)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write synthetic ID-card photos")
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--level", choices=("easy", "hard"), default="easy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faces", default="", help="comma-separated typefaces: " + ", ".join(TYPEFACES))
    parser.add_argument("--frame", default="1280x720", help="camera frame size, WxH")
    parser.add_argument("--cut", type=float, default=0.0, help="share of the card outside the frame")
    args = parser.parse_args(argv)
    faces = [f for f in args.faces.split(",") if f]
    unknown = [f for f in faces if f not in TYPEFACES]
    if unknown:
        parser.error(f"unknown typeface {', '.join(unknown)}; known: {', '.join(TYPEFACES)}")
    if missing := missing_typefaces(faces):
        parser.error("not installed: " + ", ".join(f"{f.key} ({f.package})" for f in missing))
    width, _, height = args.frame.partition("x")
    frame = (int(width), int(height))
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        for side in ("front", "back"):
            sample = make_sample(args.seed, side, args.level, i, faces, args.cut, frame_size=frame)
            cv2.imwrite(str(args.out / f"{args.level}-{i:03d}-{side}.jpg"), sample.image)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
