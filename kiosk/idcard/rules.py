"""What the card itself guarantees, used to correct OCR slips and to flag what cannot be trusted.

A correction is made only when independent evidence printed on the same card singles out one answer (the
check digit plus the printed birth date and sex; a validity span the law allows); otherwise the field is
left as read and flagged. Nothing is ever filled in from nowhere: a value taken from the ID number (birth
date, sex) is still the card's own data, and it is flagged for the person to confirm.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from kiosk.idcard import ctc
from kiosk.idcard.data import ETHNICITIES, province_short, provinces, simplified, starts_with_surname
from kiosk.idcard.model import CardResult
from kiosk.idnumber import IdNumberError, birth_date_possible, check_digit, parse_id_number

CORRECTED_CONFIDENCE = 0.6  # below LOW_CONFIDENCE: a corrected field is always shown for confirmation
DERIVED_CONFIDENCE = 0.75
FAILED_CONFIDENCE = 0.2
DOUBTFUL_CONFIDENCE = 0.5  # left as read, but the text looks damaged: shown for confirmation
# Share of the probability the chosen reading must hold among the candidates scored; below it the field is
# highlighted for the person to confirm (its confidence becomes that share, under LOW_CONFIDENCE).
SURE_POSTERIOR = 0.9
NAME_ALTERNATIVES = 3  # likeliest characters per step offered as single-character substitutes
# With a shape check (devices/glyph_check.py) deeper guesses are worth scoring: the rare character a
# mobile recogniser under-rates sits anywhere in its top twenty; pairs of changes come from the top three.
SHAPE_ALTERNATIVES = 20
# (per-character guesses, the reading's first) -> per character, nats of shape evidence for each guess
ShapeCheck = Callable[[list[list[str]]], list[dict[str, float]] | None]
NAME_LABEL = "姓名"
ADDRESS_LABEL = "住址"
# Nats by which another ethnicity's printed shape must fit the crop better than the chosen one's to get the
# field highlighted. On the synthetic hard sets a misread 白 for 彝 scores 10–11; a right but unsure choice
# (the crop also showing the label) 4.9 (chosen on seeds 7 and 2024, see docs/benchmarks.md).
ETHNICITY_SHAPE_MARGIN = 8.0
# Nats by which the birth-date crop may favour what was read over the date the ID number carries for the
# number's date to be taken. On the tuning typefaces (340 fronts read right) a date one look-alike digit off
# the printed one, as a misread number would carry, fit the crop 5.3 nats worse or more: half of that.
BIRTH_MARGIN = 2.5
# Nats by which a name's crops may favour a traditional character over its simplified form for the
# simplified one to be taken. On the tuning typefaces the standard characters OpenCC turns into others (昇,
# 龑, 暐, 頔; 16 names of 340) fit their would-be forms 9.7 nats worse or more (docs/benchmarks.md).
TRADITIONAL_MARGIN = 5.0

# What a place an authority is named after ends in: district, county, city, banner (区 县 市 旗), and the
# bureau words it stands before. A city bureau's branch is often named without its district's 区 (南山分局),
# so another character there is no error by itself: only one whose ink fits one of these nearly as well.
PLACE_SUFFIXES = "区县市旗"
BUREAU_AFTER_PLACE = r"([\u3400-\u9fff])(?=公安局|公安分局|分局)"
# Nats by which the authority's crops may favour what was read before a bureau word over a place suffix
# for the suffix to be taken (光明医分局 in a brush face: 医 for 区), and by which they may favour it for the
# field to be highlighted. Chosen on the tuning faces (docs/benchmarks.md): real branch names without a
# suffix (南山分局, 朝阳分局 ...) fit any suffix far worse.
PLACE_MARGIN = 5.0
PLACE_DOUBT = 10.0
# An address whose head is no province at all is certainly misread: a province's name that fits the ink of its
# head within this many nats is taken (highlighted), a worse fit leaves the head as read (highlighted).
PROVINCE_MARGIN = 10.0
PROVINCE_SHIFT = 1
PROVINCE_ALIGN = 2  # characters after the head that must agree between the crop's reading and the address

# Characters the recogniser confuses with digits in the OCR-B number line.
_TO_DIGIT = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "l": "1", "|": "1", "i": "1", "L": "1",
     "!": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "g": "9", "q": "9",
     "x": "X", "×": "X", "乂": "X", "K": "X", "T": "7"}
)  # fmt: skip
# Within an address the recogniser also turns round digits into these.
_TO_DIGIT_EXTRA = str.maketrans({**{chr(k): v for k, v in _TO_DIGIT.items() if v != "X"}, "C": "0", "c": "0",
                                 "€": "6", "e": "6", "a": "8", "&": "8", "?": "7", "/": "1",
                                 "(": "0", ")": "0", "（": "0", "）": "0"})  # fmt: skip  # a blurred 0's arc
# An address has no superscripts: a small printed digit next to a blurred one comes back as one (单元²03室).
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# Last characters of the place words a house or group number may follow in an address (路, 街, 大道, 巷,
# 弄, 里, 胡同, 村, 屯, 组, 队, 社区, 小区, 广场, 大厦, 花园, 苑, 院, 楼 …).
_NUMBERED_PLACES = set("路街道巷弄里同村屯组队社区场厦园苑院楼庄寨坊湾营府城门桥口站")
_DOUBTFUL_ADDRESS = r"\d$|\d[A-Za-z]号|\d{5}|[^\u3400-\u9fff0-9A-Za-z\-·]"
# The second-generation card (the one read here) has been issued since the Resident ID Card Law of 2004.
FIRST_ISSUE = date(2004, 1, 1)
# Digit pairs that look alike in OCR-B at low resolution, for single-substitution repairs.
_CONFUSABLE: dict[str, str] = {
    "0": "689",
    "1": "74",
    "2": "7",
    "3": "85",
    "4": "1",
    "5": "63",
    "6": "508",
    "7": "12",
    "8": "3609",
    "9": "80",
}


def lookalike_digits(text: str) -> str:
    """``text`` with the Latin letters and marks the recogniser confuses with digits mapped to them, one
    character for one (so positions along the text still hold)."""
    return text.translate(_TO_DIGIT)


def normalise_id_text(text: str) -> str:
    """The ID-number candidate in an OCR string: confusable letters mapped to digits, the rest dropped."""
    mapped = text.translate(_TO_DIGIT)
    return re.sub(r"[^0-9X]", "", mapped.upper())


def _id_parts_agree(value: str, birth: date | None, sex: str | None) -> bool:
    try:
        parsed = parse_id_number(value)
    except IdNumberError:
        return False
    if birth is not None and parsed.birth_date != birth:
        return False
    return not (sex in ("男", "女") and ("M" if sex == "男" else "F") != parsed.sex)


def repair_id_number(value: str, birth: date | None, sex: str | None) -> str | None:
    """The one number at a single look-alike substitution from ``value`` that passes the checksum and agrees
    with the printed birth date and sex; ``None`` when there is no such number or more than one."""
    if len(value) != 18 or birth is None or sex not in ("男", "女"):
        return None  # without both printed cross-checks, a repaired number would be a guess
    found: set[str] = set()
    for pos, ch in enumerate(value):
        # Only look-alikes, the check character included: with free choice there, every body error would
        # also "repair" as a check-digit error, and the two could never be told apart.
        for alt in _CONFUSABLE.get(ch, ""):
            candidate = value[:pos] + alt + value[pos + 1 :]
            if check_digit(candidate[:17]) == candidate[17] and _id_parts_agree(candidate, birth, sex):
                found.add(candidate)
    return found.pop() if len(found) == 1 else None


def parse_birth_date(text: str) -> date | None:
    match = re.search(r"(\d{4})\D{0,3}?(\d{1,2})\D{0,3}?(\d{1,2})", text)
    if not match:
        return None
    try:
        born = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    # A year no holder can have (1956 read 1196) is a misread line, not a date: the number's is taken.
    return born if birth_date_possible(born) else None


def match_ethnicity(text: str) -> tuple[str | None, bool]:
    """(one of the 56, whether it had to be corrected); ``None`` when no unique close match exists."""
    text = text.strip().removesuffix("族")
    if text in ETHNICITIES:
        return text, False
    close = [e for e in ETHNICITIES if edit_distance(text, e) <= 1 and len(e) > 1]
    if len(close) == 1:
        return close[0], True
    return None, False


def _share_confidence(posterior: float) -> float:
    """A clear winner keeps its share; an unclear one is pushed under LOW_CONFIDENCE so it is reviewed."""
    return posterior if posterior >= SURE_POSTERIOR else min(posterior, CORRECTED_CONFIDENCE)


def reread_ethnicity(
    result: CardResult, matrices: list[ctc.CharMatrix], shape_check: ShapeCheck | None = None
) -> None:
    """The ethnicity as the one of the 56 names the recogniser's probabilities on the value crop favour:
    the card can print nothing else, so a one-character slip (彝 read as 舞) cannot survive as text.

    When the recogniser read something that is no ethnicity at all (a blurred 彝 comes back as # or 0),
    the 56 names are only ranked by how little each contradicts it, and a simple one (白) can win. Then
    ``shape_check`` (on the same crop) compares the printed shapes of the names of that length; a name
    whose shape fits the ink clearly better than the chosen one's gets the field highlighted. The choice
    itself is not changed: shapes of one blurred character are too weak to overrule the recogniser."""
    choice = ctc.choose(matrices, ETHNICITIES)
    if choice is None:
        return
    result.fields["ethnicity"] = choice.text
    result.confidence["ethnicity"] = _share_confidence(choice.posterior)
    if shape_check is None or not ethnicity_guessed(result, matrices):
        return
    rivals = [name for name in ETHNICITIES if len(name) == len(choice.text) and name != choice.text]
    options = [[ch, *dict.fromkeys(name[i] for name in rivals)] for i, ch in enumerate(choice.text)]
    evidence = shape_check(options)
    if evidence is None:
        return
    fits = {
        name: sum(cell.get(ch, float("-inf")) for cell, ch in zip(evidence, name, strict=True))
        for name in rivals
    }
    if max(fits.values(), default=float("-inf")) > ETHNICITY_SHAPE_MARGIN:
        _lower(result, "ethnicity", DOUBTFUL_CONFIDENCE)


def ethnicity_guessed(result: CardResult, matrices: Sequence[ctc.CharMatrix]) -> bool:
    """Whether the ethnicity was chosen among the 56 rather than read: some crop's best-path reading is
    not it (a blurred 怒 read 一, the names then ranked by how little each contradicts that)."""
    chosen = result.fields.get("ethnicity")
    return bool(chosen) and any(ctc.greedy(m)[0] != chosen for m in matrices)


def second_opinion_on_ethnicity(result: CardResult, matrices: Sequence[ctc.CharMatrix]) -> str | None:
    """The one of the 56 that another model's view of the value crop (``matrices``) favours, when it does
    not confirm the chosen one: another name, or the same one without a clear lead (by the standard the
    engine's own choice is held to; two unsure guesses agreeing confirm nothing). The field is then
    highlighted; neither model's guess overrules the other's."""
    other = ctc.choose(matrices, ETHNICITIES)
    if other is None or (other.text == result.fields.get("ethnicity") and other.posterior >= SURE_POSTERIOR):
        return None
    _lower(result, "ethnicity", DOUBTFUL_CONFIDENCE)
    return other.text


def _name_text(text: str) -> str:
    return re.sub(r"[^\u3400-\u9fff\u00b7]", "", text)


def reread_name(
    result: CardResult, matrices: list[ctc.CharMatrix], shape_checks: Sequence[ShapeCheck | None] = ()
) -> None:
    """The name from its value crop alone (no label to strip): the greedy reading and its alternatives
    compete by likelihood, plus, where ``shape_checks[i]`` judges crop i, the evidence of their printed
    shapes; a reading without a clear winner is highlighted for review."""
    candidates = set()
    if result.fields.get("name"):
        candidates.add(result.fields["name"])
    labels = []
    shapes: list[list[dict[str, float]]] = []
    checks = [*shape_checks, *[None] * (len(matrices) - len(shape_checks))]  # crops past the list: none
    for matrix, check in zip(matrices, checks, strict=True):
        text, options = ctc.greedy(matrix, SHAPE_ALTERNATIVES)
        # A crop that starts too far left shows the label 姓名 before the name: score it as such, and
        # offer only what follows it (the label is no part of anyone's name).
        label = NAME_LABEL if text.startswith(NAME_LABEL) and len(text) > len(NAME_LABEL) + 1 else ""
        labels.append(label)
        shape = check(options) if check is not None and not label else None
        if shape is None:
            options = [opts[:NAME_ALTERNATIVES] for opts in options]
        else:
            shapes.append(shape)
            candidates |= ctc.two_substitution_candidates(text, options, NAME_ALTERNATIVES)
        candidates |= {c[len(label) :] for c in ctc.one_substitution_candidates(text, options)}

    def shape_evidence(name: str) -> float:
        # Judged per character, so only for readings of the length the crop was cut into.
        return sum(sum(s[i].get(ch, 0.0) for i, ch in enumerate(name)) for s in shapes if len(s) == len(name))

    names = {_name_text(c) for c in candidates}
    choice = ctc.choose(matrices, names, labels, shape_evidence)
    if choice is None:
        return
    result.fields["name"] = choice.text
    result.confidence["name"] = _share_confidence(choice.posterior)
    if shapes and (unaided := ctc.choose(matrices, names, labels)) and unaided.text != choice.text:
        # The shapes overturned the recogniser: usually a rare character rescued, sometimes a look-alike
        # taken for it; either way the person confirms it.
        _lower(result, "name", CORRECTED_CONFIDENCE)
    _settle_traditional_form(result, matrices, labels)


def _settle_traditional_form(result: CardResult, matrices: list[ctc.CharMatrix], labels: list[str]) -> None:
    """A name read with a traditional character (黃): cards print the simplified standard form (黄), which a
    brush typeface draws much like the traditional one. Each such character is settled on its own: when the
    crops fit the name with its simplified form within ``TRADITIONAL_MARGIN`` nats of the name without, it
    is taken, highlighted for the person to confirm. When they fit it far worse (or the recogniser cannot
    write it), the ink is really the character read: a standard name character OpenCC would still turn
    into another (昇 into 升, 頔 into 𬱖) that looks nothing like it, left as read. Character by character,
    so such a standard character elsewhere in the name does not keep a real 黃 from its simplified form."""
    name = result.fields.get("name", "")
    settled = name
    for pos, ch in enumerate(name):
        simple = simplified(ch)
        if simple == ch or len(simple) != 1:
            continue
        trial = settled[:pos] + simple + settled[pos + 1 :]
        gap = sum(
            ctc.score(matrix, label + trial) - ctc.score(matrix, label + settled)
            for matrix, label in zip(matrices, labels, strict=True)
        )
        if gap >= -TRADITIONAL_MARGIN:
            settled = trial
    if settled != name:
        result.fields["name"] = settled
        result.warn("field_corrected")
        _lower(result, "name", CORRECTED_CONFIDENCE)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: single-character insertions, deletions and substitutions."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _lower(result: CardResult, name: str, value: float) -> None:
    result.confidence[name] = min(result.confidence.get(name, 0.0), value)


def birth_date_text(day: date) -> str:
    """A birth date as the front prints it (1990年3月7日: year, month and day without leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def number_date_printed(day: date, matrices: Sequence[ctc.CharMatrix]) -> bool:
    """Whether the birth-date line's crops (the value alone, ``matrices``) could as well say ``day``, the date
    the ID number carries, as what the recogniser read there: the number's log-likelihood, summed over the
    crops, within ``BIRTH_MARGIN`` nats of the greedy readings'. Text the crop shows around the date (a
    label's residue) is kept as read on both sides. ``False`` without a matrix: nothing to weigh."""
    if not matrices:
        return False
    gap = 0.0
    for matrix in matrices:
        read = ctc.greedy(matrix)[0]
        digits = [i for i, ch in enumerate(read) if ch.isdigit()]
        if not digits:
            return False
        end = read.find("日", digits[-1])
        head, tail = read[: digits[0]], read[end + 1 :] if end >= 0 else read[digits[-1] + 1 :]
        gap += ctc.score(matrix, head + birth_date_text(day) + tail) - ctc.score(matrix, read)
    return gap >= -BIRTH_MARGIN


def _han_name(name: str) -> bool:
    """A name of two to four Chinese characters: the shape a surname list can judge (a transliterated
    minority name, written with ·, has no surname in front)."""
    return re.fullmatch(r"[\u3400-\u9fff]{2,4}", name) is not None


def check_front(
    result: CardResult, birth_reread: Callable[[], Sequence[ctc.CharMatrix]] | None = None
) -> CardResult:
    """Cross-checks the front's fields in place: ID checksum, birth date, sex, region, ethnicity.
    ``birth_reread`` gives the recogniser's probabilities on the birth date's value crop, when the engine
    has them (asked for only when needed): with them, a printed date that disagrees with a checksum-valid
    number can be settled."""
    f, conf = result.fields, result.confidence
    printed_birth = parse_birth_date(f.get("birth_date", ""))
    if printed_birth is not None:
        f["birth_date"] = printed_birth.isoformat()
    elif f.get("birth_date"):
        f["birth_date"] = ""  # unreadable: better empty and flagged than a malformed date on the form
    sex = f.get("sex") if f.get("sex") in ("男", "女") else None

    number = normalise_id_text(f.get("id_number", ""))
    f["id_number"] = number
    parsed = None
    try:
        parsed = parse_id_number(number)
    except IdNumberError:
        repaired = repair_id_number(number, printed_birth, sex)
        if repaired is not None:
            f["id_number"] = repaired
            parsed = parse_id_number(repaired)
            result.warn("id_corrected")
            _lower(result, "id_number", CORRECTED_CONFIDENCE)
        elif number:
            result.warn("id_checksum")
            _lower(result, "id_number", FAILED_CONFIDENCE)
        else:
            result.warn("field_missing")

    if parsed is not None:
        id_sex = "男" if parsed.sex == "M" else "女"
        if printed_birth is None:
            f["birth_date"] = parsed.birth_date.isoformat()
            conf["birth_date"] = DERIVED_CONFIDENCE
            result.warn("field_from_id")
        elif printed_birth != parsed.birth_date:
            result.warn("id_birth_mismatch")
            if birth_reread is not None and number_date_printed(parsed.birth_date, birth_reread()):
                # A card prints the date its number carries. The number passed its checksum (a single
                # misread digit never does) and the birth line's own ink fits its date about as well as
                # what was read there: the date line is the misread one. Still confirmed by the person.
                f["birth_date"] = parsed.birth_date.isoformat()
                result.warn("field_corrected")
                _lower(result, "birth_date", CORRECTED_CONFIDENCE)
            else:
                _lower(result, "birth_date", FAILED_CONFIDENCE)
                _lower(result, "id_number", FAILED_CONFIDENCE)
        if sex is None:
            f["sex"] = id_sex
            conf["sex"] = DERIVED_CONFIDENCE
            result.warn("field_from_id")
        elif sex != id_sex:
            result.warn("id_sex_mismatch")
            _lower(result, "sex", FAILED_CONFIDENCE)
            _lower(result, "id_number", FAILED_CONFIDENCE)
        _check_region(result, parsed.region[:2])

    if _han_name(f.get("name", "")) and not starts_with_surname(f["name"]):
        # Not wrong (rarer surnames exist), but a misread surname looks just like this (邹 read 邮). Only
        # highlighted: putting the best-fitting listed surname in its place was measured on the tuning
        # faces and turned rare surnames read right into common ones (仉 into 仇, 禤 into 福).
        _lower(result, "name", DOUBTFUL_CONFIDENCE)
    repair_address_digits(result)
    if f.get("ethnicity"):
        ethnicity, corrected = match_ethnicity(f["ethnicity"])
        if ethnicity is None:
            result.warn("ethnicity_unknown")
            _lower(result, "ethnicity", FAILED_CONFIDENCE)
        else:
            f["ethnicity"] = ethnicity
            if corrected:
                result.warn("field_corrected")
                _lower(result, "ethnicity", CORRECTED_CONFIDENCE)
    _flag_missing_and_low(result)
    return result


def _check_region(result: CardResult, prefix: str) -> None:
    """The address should start in the province the number's first two digits name. A one-character slip
    in the province name is repaired; a different province is only flagged (people do move)."""
    address = result.fields.get("address", "")
    province = provinces().get(prefix)
    if not address or province is None:
        if province is None:
            result.warn("id_region_mismatch")
        return
    if address.startswith(province):
        return
    for residue in range(1, len(ADDRESS_LABEL) + 1):
        if address[residue:].startswith(province):
            # A character or two before the province the number names are what is left of a misread 住址
            # label (敏天津市…, 一址安徽省…): no address starts with other characters and then a province.
            result.fields["address"] = address[residue:]
            result.warn("field_corrected")
            _lower(result, "address", CORRECTED_CONFIDENCE)
            return
    head = address[: len(province)]
    if edit_distance(head, province) <= 1:
        result.fields["address"] = province + address[len(province) :]
        result.warn("field_corrected")
        _lower(result, "address", CORRECTED_CONFIDENCE)
        return
    if address.startswith(province_short(province)):
        return  # the short form (宁夏银川市…) is a fine way to write it
    if any(address.startswith(province_short(p)) for p in provinces().values()):
        result.warn("id_region_mismatch")


def repair_address_digits(result: CardResult) -> None:
    """A Latin letter or symbol between two digits of a Chinese address (7€0号, 9C8号), or a superscript
    digit, is a misread digit: mapped through the look-alike table when it has a digit look-alike, and
    flagged either way. An address that looks cut short or garbled at its house number is flagged."""
    address = result.fields.get("address", "")
    fixed = re.sub(
        r"(?<=\d)[^\d\u3400-\u9fff](?=\d)",
        lambda m: m.group().translate(_TO_DIGIT_EXTRA),
        address.translate(_SUPERSCRIPT_DIGITS),
    )
    if fixed != address:
        result.fields["address"] = fixed
        result.warn("field_corrected")
        _lower(result, "address", CORRECTED_CONFIDENCE)
    if re.search(r"\d[^\d\u3400-\u9fff]\d", fixed):
        result.warn("low_confidence")
        _lower(result, "address", FAILED_CONFIDENCE)
    # A house number is followed by 号, 室, 组…: an address that stops at a digit has most likely lost its
    # last character, a Latin letter before 号 (9C号) is most likely a blurred digit, and five digits in a
    # row are two numbers whose 组/栋 between them was lost (11组169号 read 11169号): house, building and
    # flat numbers have at most four. Nothing on the card says which, so nothing is changed; the person
    # confirms. Punctuation has no place in an address either (栋！单元: a 1 read as ！).
    elif re.search(_DOUBTFUL_ADDRESS, fixed) or _number_after_no_place(fixed):
        _lower(result, "address", DOUBTFUL_CONFIDENCE)


def _number_after_no_place(address: str) -> bool:
    """A house or group number follows the word for what it numbers: a road, lane, village, group, estate
    (中山路12号, 解放村3组). Another character there is most likely that word misread (大道 read 大通, 屯
    read 电), a slip no other field can check."""
    return any(m[1] not in _NUMBERED_PLACES for m in re.finditer(r"([\u3400-\u9fff])\d+[号组]", address))


def add_years(day: date, years: int) -> date:
    """``day`` ``years`` on; a 29 February start ends on 1 March of a common year (the rule the validity
    check holds cards to, and the one the synthetic cards are printed by)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # born or issued on 29 February
        return day.replace(year=day.year + years, month=3, day=1)


def allowed_span(age_at_issue: int) -> int | None:
    """Years of validity for the holder's age on the issue day (Resident ID Card Law art. 5); None: 长期."""
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def age_on(born: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def parse_validity(text: str) -> tuple[date | None, date | str | None]:
    """(start, end or "长期") from a 有效期限 line such as 2015.03.04-2035.03.04 / 2015.03.04-长期."""
    digits = re.sub(r"[^0-9长期]", "", text.replace("長", "长"))
    start: date | None = None
    end: date | str | None = None
    match = re.match(r"(\d{4})(\d{2})(\d{2})(.*)", digits)
    if match:
        try:
            start = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            start = None
        rest = match[4]
        if "长" in rest or "期" in rest:
            end = "长期"
        else:
            tail = re.match(r"(\d{4})(\d{2})(\d{2})", rest)
            if tail:
                try:
                    end = date(int(tail[1]), int(tail[2]), int(tail[3]))
                except ValueError:
                    end = None
    return start, end


def _span_ok(start: date, end: date) -> bool:
    return any(add_years(start, years) == end for years in (5, 10, 20))


def check_back(result: CardResult, today: date, birth_date: date | None = None) -> CardResult:
    """Validity period in place: a 5/10/20-year span or 长期 (as the age at issue requires, when the birth
    date is known from the front); a single misread digit of the end date is repaired only if exactly one
    allowed span remains. Flags an expired card."""
    f = result.fields
    start, end = parse_validity(f.get("valid_from", "") + "-" + f.get("valid_until", ""))
    f["valid_from"] = start.isoformat() if start else ""
    if isinstance(end, date):
        f["valid_until"] = end.isoformat()
    else:
        f["valid_until"] = end or ""
    if start is None or end is None:
        result.warn("invalid_validity")
        for name in ("valid_from", "valid_until"):
            _lower(result, name, FAILED_CONFIDENCE)
        _flag_missing_and_low(result)
        return result
    if not FIRST_ISSUE <= start <= today:
        # A card in hand was issued before today, and this card type not before 2004: a start outside
        # that is misread digits (2011.10.20 read 2201-11-02), whatever the end date says.
        result.warn("invalid_validity")
        _lower(result, "valid_from", FAILED_CONFIDENCE)
    expected = None
    if birth_date is not None:
        expected = allowed_span(age_on(birth_date, start))
    if isinstance(end, date) and not _span_ok(start, end):
        repaired = _repair_end(start, end, expected)
        if repaired is not None:
            end = repaired
            f["valid_until"] = end.isoformat()
            result.warn("field_corrected")
            _lower(result, "valid_until", CORRECTED_CONFIDENCE)
        else:
            result.warn("invalid_validity")
            _lower(result, "valid_until", FAILED_CONFIDENCE)
    elif birth_date is not None:
        span = None if end == "长期" else next(y for y in (5, 10, 20) if add_years(start, y) == end)
        if span != expected:
            result.warn("invalid_validity")
            _lower(result, "valid_until", FAILED_CONFIDENCE)
    if isinstance(end, date) and end < today:
        result.warn("expired")
    _flag_missing_and_low(result)
    return result


def _repair_end(start: date, end: date, expected: int | None) -> date | None:
    text = end.strftime("%Y%m%d")
    options = set()
    for years in (5, 10, 20) if expected is None else (expected,):
        target = add_years(start, years).strftime("%Y%m%d")
        if sum(a != b for a, b in zip(text, target, strict=True)) == 1:
            options.add(target)
    if len(options) != 1:
        return None
    value = options.pop()
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def place_suffix_gaps(
    value: str, reread: Callable[[], Sequence[ctc.CharMatrix]], skip: int
) -> list[tuple[int, str, float]]:
    """For each character of the authority ``value`` that stands where a place name ends (before 公安局 or
    分局) and is no place suffix: (its index, the suffix the crops fit best there, how many nats better
    than what was read they fit it, ≤ 0 when worse). ``reread`` gives the recogniser's probabilities on
    the crops of the authority's lines (asked for only when there is such a character); their greedy
    readings joined must give ``skip`` label characters and then ``value``, else nothing can be placed
    and the list is empty."""
    found = [m.start() for m in re.finditer(BUREAU_AFTER_PLACE, value) if m[1] not in PLACE_SUFFIXES]
    if not found:
        return []
    matrices = reread()
    readings = [ctc.greedy(m)[0] for m in matrices]
    if "".join(readings).replace(" ", "")[skip:] != value:
        return []
    # Where each character of the joined text (spaces out, as the parser joins) lies: crop and index.
    places = [(k, i) for k, text in enumerate(readings) for i, ch in enumerate(text) if ch != " "]
    out = []
    for at in found:
        k, i = places[skip + at]
        text = readings[k]
        alternatives = [text[:i] + suffix + text[i + 1 :] for suffix in PLACE_SUFFIXES]
        scored = ctc.scores(matrices[k], [text, *alternatives])
        best = int(np.argmax(scored[1:]))
        out.append((at, PLACE_SUFFIXES[best], float(scored[1 + best] - scored[0])))
    return out


def settle_place_suffix(
    result: CardResult, reread: Callable[[], Sequence[ctc.CharMatrix]], skip: int
) -> None:
    """An authority's place read with another character where its ink fits a place suffix nearly as well
    (光明医分局 for 光明区分局) takes the suffix, highlighted as corrected; one that fits it somewhat worse is
    highlighted, as read. A real branch name without a suffix (南山分局) fits none and stays."""
    value = result.fields.get("authority", "")
    for at, suffix, gap in place_suffix_gaps(value, reread, skip):
        if gap >= -PLACE_MARGIN:
            value = value[:at] + suffix + value[at + 1 :]
            result.warn("field_corrected")
            _lower(result, "authority", CORRECTED_CONFIDENCE)
        elif gap >= -PLACE_DOUBT:
            _lower(result, "authority", DOUBTFUL_CONFIDENCE)
    result.fields["authority"] = value


def _starts_with_province(address: str) -> bool:
    # The short form too (宁夏银川市…); a character or two before a province are a label's residue
    # (敏天津市…), which _check_region strips.
    return any(
        address[residue:].startswith(name)
        for residue in range(len(ADDRESS_LABEL) + 1)
        for p in provinces().values()
        for name in (p, province_short(p))
    )


def settle_province(result: CardResult, reread: Callable[[], Sequence[ctc.CharMatrix]], skip: int) -> None:
    """An address starts with its province's name, one of 34 (written in full on the card). One that starts
    with none had its head misread (秘建智胜利市… for 福建省…): each name is put in the place of as many
    characters of the first line's reading on its crop (``reread`` gives the recogniser's probabilities on
    the address lines' crops; ``skip`` label characters lead the first), starting there or up to
    ``PROVINCE_SHIFT`` characters later (a crop re-read can show a scrap of the label the line's first
    reading did not), and scored; the best, within ``PROVINCE_MARGIN`` nats of the crop's own reading,
    replaces as many characters of the address. Either way the address is highlighted for confirmation."""
    address = result.fields.get("address", "")
    if not address or _starts_with_province(address):
        return
    _lower(result, "address", DOUBTFUL_CONFIDENCE)
    matrices = reread()
    if not matrices:
        return
    first = ctc.greedy(matrices[0])[0]
    kept = [i for i, ch in enumerate(first) if ch != " "][skip:]  # the value's characters on the first line
    value = "".join(first[i] for i in kept)
    names: list[str] = []
    rivals: list[str] = []
    for name in sorted(provinces().values()):
        for shift in range(PROVINCE_SHIFT + 1):
            places = kept[shift : shift + len(name)]
            after = value[shift + len(name) : shift + len(name) + PROVINCE_ALIGN]
            # Only where the crop's reading lines up with the address after the head: what is replaced in
            # the address must be what was scored on the crop.
            if len(places) < len(name) or not after or address[len(name) : len(name) + len(after)] != after:
                continue
            text = list(first)
            for i, ch in zip(places, name, strict=True):
                text[i] = ch  # in the read characters' places: a letter-spaced line keeps its spaces
            names.append(name)
            rivals.append("".join(text))
    if not rivals:
        return
    scored = ctc.scores(matrices[0], [first, *rivals])
    best = int(np.argmax(scored[1:]))
    if scored[1 + best] - scored[0] >= -PROVINCE_MARGIN:
        result.fields["address"] = names[best] + address[len(names[best]) :]
        result.warn("field_corrected")
        _lower(result, "address", CORRECTED_CONFIDENCE)


def _flag_missing_and_low(result: CardResult) -> None:
    missing = [name for name in result.low_confidence_fields() if not result.fields.get(name)]
    if missing:
        result.warn("field_missing")
    if any(result.fields.get(name) for name in result.low_confidence_fields()):
        result.warn("low_confidence")
