"""Unit tests for every consistency rule of the ID card, the layout parser and the multi-frame reader."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from kiosk.idcard import ctc, parse
from kiosk.idcard.data import ETHNICITIES, province_short, provinces, starts_with_surname, surnames
from kiosk.idcard.model import CardResult
from kiosk.idcard.parse import Line, parse_back, parse_front, parse_naive, side_scores
from kiosk.idcard.reader import CardReader, FrameReading
from kiosk.idcard.rules import (
    PLACE_SUFFIXES,
    allowed_span,
    check_back,
    check_front,
    match_ethnicity,
    normalise_id_text,
    parse_validity,
    repair_id_number,
    settle_place_suffix,
    settle_province,
)
from kiosk.idnumber import check_digit

TODAY = date(2026, 1, 1)


def _number(first17: str) -> str:
    return first17 + check_digit(first17)


GOOD_ID = _number("44030519900307123")  # born 1990-03-07, 17th digit 3: male, Guangdong
X_ID = next(
    _number(f"11010519850612{s:03d}") for s in range(1000) if check_digit(f"11010519850612{s:03d}") == "X"
)


def _front(**overrides: str) -> CardResult:
    fields = {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1990年3月7日",
        "address": "广东省深圳市南山区学府路1号",
        "id_number": GOOD_ID,
    }
    fields.update(overrides)
    return CardResult("front", fields, dict.fromkeys(fields, 0.99))


def test_data_tables() -> None:
    assert len(ETHNICITIES) == 56 == len(set(ETHNICITIES))
    assert provinces()["44"] == "广东省" and len(provinces()) == 34
    assert province_short("新疆维吾尔自治区") == "新疆" and province_short("北京市") == "北京"


def test_surname_list() -> None:
    single, compound = surnames()
    assert len(single) >= 500 and {"王", "李", "张", "刘", "陈", "肖", "覃"} <= single
    assert {"欧阳", "司马", "诸葛"} <= compound and all(len(c) == 2 for c in compound)
    assert starts_with_surname("欧阳修") and starts_with_surname("邹英新")
    assert not starts_with_surname("邮英新") and not starts_with_surname("會子涵")


@pytest.mark.parametrize(
    ("name", "highlighted"),
    [("邹英新", False), ("欧阳子涵", False), ("邮英新", True), ("會子涵", True), ("阿依古丽·买买提", False)],
)
def test_a_name_starting_with_no_surname_is_highlighted(name: str, highlighted: bool) -> None:
    # A misread surname (邹 read 邮) makes a name no surname starts; a transliterated name has none to judge.
    result = check_front(_front(name=name))
    assert result.fields["name"] == name  # never changed, only shown for confirmation
    assert ("name" in result.low_confidence_fields()) is highlighted


def test_consistent_front_has_no_warning() -> None:
    result = check_front(_front())
    assert result.warnings == []
    assert result.fields["birth_date"] == "1990-03-07"
    assert result.low_confidence_fields() == []


def test_x_check_digit_is_accepted_in_either_case() -> None:
    birth = date(int(X_ID[6:10]), int(X_ID[10:12]), int(X_ID[12:14]))
    sex = "男" if int(X_ID[16]) % 2 else "女"
    result = check_front(
        _front(id_number=X_ID.lower(), birth_date=birth.isoformat(), sex=sex, address="北京市东城区1号")
    )
    assert result.fields["id_number"] == X_ID and X_ID.endswith("X")
    assert result.warnings == []


def test_ocr_letters_in_the_number_are_mapped_to_digits() -> None:
    assert normalise_id_text("公民身份号码 44O3O5l99OO3O7123x") == "440305199003071233"[:17] + "X"
    assert normalise_id_text("4403 0519 9003 07123S") == "440305199003071235"


def test_single_misread_digit_is_repaired_with_printed_evidence() -> None:
    wrong = GOOD_ID[:14] + "7" + GOOD_ID[15:]  # 1 read as 7 in the sequence number
    assert wrong != GOOD_ID
    result = check_front(_front(id_number=wrong))
    assert result.fields["id_number"] == GOOD_ID
    assert "id_corrected" in result.warnings
    assert "id_number" in result.low_confidence_fields()


def test_no_repair_without_the_printed_birth_date() -> None:
    wrong = GOOD_ID[:14] + "8" + GOOD_ID[15:]
    assert repair_id_number(wrong, None, "男") is None
    result = check_front(_front(id_number=wrong, birth_date=""))
    assert result.fields["id_number"] == wrong
    assert "id_checksum" in result.warnings
    assert result.confidence["id_number"] < 0.5


def test_bad_checksum_with_no_unique_repair_is_flagged_not_invented() -> None:
    garbage = "123456789012345678"
    result = check_front(_front(id_number=garbage))
    assert result.fields["id_number"] == garbage
    assert "id_checksum" in result.warnings


def test_short_number_is_flagged() -> None:
    result = check_front(_front(id_number=GOOD_ID[:16]))
    assert "id_checksum" in result.warnings
    assert "id_number" in result.low_confidence_fields()


def test_birth_date_must_agree_with_the_number() -> None:
    result = check_front(_front(birth_date="1990年3月8日"))
    assert "id_birth_mismatch" in result.warnings
    assert {"birth_date", "id_number"} <= set(result.low_confidence_fields())


def _printed(text: str, doubt: dict[int, dict[str, float]]) -> ctc.CharMatrix:
    """A recogniser's probabilities on a crop printing ``text``: each character sure (0.95) at its step
    unless ``doubt`` gives that step's probabilities, a sure blank between characters."""
    alphabet = ["", *"0123456789年月日出生"]
    probs = np.full((2 * len(text) + 1, len(alphabet)), 0.001)
    probs[::2, 0] = 0.95
    for i, ch in enumerate(text):
        for c, p in doubt.get(i, {ch: 0.95}).items():
            probs[2 * i + 1, alphabet.index(c)] = p
    probs /= probs.sum(axis=1, keepdims=True)
    return ctc.CharMatrix(np.log(probs), alphabet, {c: i for i, c in enumerate(alphabet) if i})


def test_birth_date_line_that_fits_the_number_as_well_takes_its_date() -> None:
    # 1990年3月8日 read with the last digit in doubt between 8 and 7: the number (1990-03-07) passed its
    # checksum, and the card prints its number's date.
    line = _printed("1990年3月8日", {7: {"8": 0.55, "7": 0.4}})
    result = check_front(_front(birth_date="1990年3月8日"), lambda: [line])
    assert result.fields["birth_date"] == "1990-03-07"
    assert {"id_birth_mismatch", "field_corrected"} <= set(result.warnings)
    assert "birth_date" in result.low_confidence_fields()  # the person still confirms it
    assert "id_number" not in result.low_confidence_fields()


def test_birth_date_line_sure_of_another_date_is_not_overruled() -> None:
    # The number misread so that it still passes its checksum: the birth line, sure of its 8, keeps it, and
    # both fields are shown for confirmation as before.
    line = _printed("1990年3月8日", {})
    result = check_front(_front(birth_date="1990年3月8日"), lambda: [line])
    assert result.fields["birth_date"] == "1990-03-08"
    assert {"birth_date", "id_number"} <= set(result.low_confidence_fields())
    assert "field_corrected" not in result.warnings


def test_sex_must_agree_with_the_number() -> None:
    result = check_front(_front(sex="女"))
    assert "id_sex_mismatch" in result.warnings
    assert "sex" in result.low_confidence_fields()


def test_unreadable_birth_date_and_sex_come_from_the_number_flagged() -> None:
    result = check_front(_front(birth_date="19??", sex=""))
    assert result.fields["birth_date"] == "1990-03-07" and result.fields["sex"] == "男"
    assert "field_from_id" in result.warnings
    assert {"birth_date", "sex"} <= set(result.low_confidence_fields())


def test_a_birth_year_no_holder_can_have_is_a_misread_line() -> None:
    # 1990 read 1190: no date at all, so the number's (checksum-valid) date is taken, for confirmation.
    result = check_front(_front(birth_date="1190年3月7日"))
    assert result.fields["birth_date"] == "1990-03-07"
    assert "field_from_id" in result.warnings and "birth_date" in result.low_confidence_fields()


def test_region_other_province_is_flagged_one_slip_in_the_name_is_repaired() -> None:
    moved = check_front(_front(address="浙江省杭州市西湖区1号"))
    assert "id_region_mismatch" in moved.warnings
    assert moved.fields["address"] == "浙江省杭州市西湖区1号"
    slip = check_front(_front(address="广东首深圳市南山区1号"))
    assert slip.fields["address"] == "广东省深圳市南山区1号"
    assert "field_corrected" in slip.warnings and "address" in slip.low_confidence_fields()
    short = check_front(_front(address="广东深圳市南山区1号"))
    assert "id_region_mismatch" not in short.warnings
    remnant = check_front(_front(address="敏广东省深圳市南山区1号"))  # what is left of the label 住址
    assert remnant.fields["address"] == "广东省深圳市南山区1号"
    assert "field_corrected" in remnant.warnings and "address" in remnant.low_confidence_fields()
    # Both of the label's characters left, one misread (住址 as 一址): both go.
    both = check_front(_front(address="一址广东省深圳市南山区1号"))
    assert both.fields["address"] == "广东省深圳市南山区1号" and "address" in both.low_confidence_fields()
    # Three characters before a province are no label's residue: left as read (the province rule, which
    # reads the crop again, highlights an address that starts with no province).
    three = check_front(_front(address="三一址广东省深圳市南山区1号"))
    assert three.fields["address"] == "三一址广东省深圳市南山区1号"


def test_misread_digit_inside_address_is_mapped_and_flagged() -> None:
    result = check_front(_front(address="广东省深圳市南山区学府路7O0号"))
    assert result.fields["address"] == "广东省深圳市南山区学府路700号"
    assert "address" in result.low_confidence_fields()
    for arc in ("(", "（"):  # half or full width, as the recogniser happens to read it
        slip = check_front(_front(address=f"广东省深圳市南山区学府路1号24{arc}1室"))
        assert slip.fields["address"] == "广东省深圳市南山区学府路1号2401室"
        assert "address" in slip.low_confidence_fields()


def test_number_after_a_word_that_numbers_nothing_is_flagged() -> None:
    # 大道 read as 大通, 屯 as 电: the number then follows a character that names no road, village or group.
    for misread in (
        "重庆市渝中区和平大通590号",
        "台湾省台北市南京镇城关电21组30号",
        "重庆市渝中区和平路5号19栋！单元",
    ):
        assert "address" in check_front(_front(address=misread)).low_confidence_fields(), misread
    right = ("重庆市渝中区和平大道590号", "台湾省台北市南京镇城关屯21组30号", "广东省深圳市南山区学府路1号")
    for address in right:
        assert "address" not in check_front(_front(address=address)).low_confidence_fields(), address


def test_ethnicity_is_one_of_the_56() -> None:
    assert match_ethnicity("蒙古族") == ("蒙古", False)
    assert match_ethnicity("维吾") == ("维吾尔", True)
    assert match_ethnicity("火星") == (None, False)
    result = check_front(_front(ethnicity="火星"))
    assert "ethnicity_unknown" in result.warnings and "ethnicity" in result.low_confidence_fields()
    fixed = check_front(_front(ethnicity="柯尔克致"))
    assert fixed.fields["ethnicity"] == "柯尔克孜" and "field_corrected" in fixed.warnings


@pytest.mark.parametrize(
    ("age", "years"), [(0, 5), (15, 5), (16, 10), (25, 10), (26, 20), (45, 20), (46, None)]
)
def test_validity_span_by_age_at_issue(age: int, years: int | None) -> None:
    assert allowed_span(age) == years


def _back(valid_from: str, valid_until: str) -> CardResult:
    fields = {"authority": "深圳市公安局南山分局", "valid_from": valid_from, "valid_until": valid_until}
    return CardResult("back", fields, dict.fromkeys(fields, 0.99))


def test_validity_parsing() -> None:
    assert parse_validity("2015.03.04-2035.03.04") == (date(2015, 3, 4), date(2035, 3, 4))
    assert parse_validity("2015.03.04-长期") == (date(2015, 3, 4), "长期")
    assert parse_validity("gibberish") == (None, None)


def test_valid_back_and_long_term() -> None:
    assert check_back(_back("2015.03.04", "2035.03.04"), TODAY).warnings == []
    result = check_back(_back("2015.03.04", "长期"), TODAY)
    assert result.fields["valid_until"] == "长期" and result.warnings == []


def test_span_that_the_law_does_not_allow_is_flagged() -> None:
    result = check_back(_back("2015.03.04", "2032.07.09"), TODAY)
    assert "invalid_validity" in result.warnings
    assert "valid_until" in result.low_confidence_fields()


def test_one_misread_digit_of_the_end_year_is_repaired() -> None:
    result = check_back(_back("2015.03.04", "2036.03.04"), TODAY)  # 21 years: 2035 is the one allowed
    assert result.fields["valid_until"] == "2035-03-04"
    assert "field_corrected" in result.warnings and "valid_until" in result.low_confidence_fields()


def test_span_must_match_the_age_at_issue() -> None:
    # Born 1990: 25 at a 2015 issue, so 10 years, not 20.
    result = check_back(_back("2015.03.04", "2035.03.04"), TODAY, birth_date=date(1990, 3, 7))
    assert "invalid_validity" in result.warnings
    ok = check_back(_back("2015.03.04", "2025.03.04"), date(2024, 1, 1), birth_date=date(1990, 3, 7))
    assert ok.warnings == []


def test_expired_card_is_flagged() -> None:
    result = check_back(_back("2010.03.04", "2020.03.04"), TODAY)
    assert result.warnings == ["expired"]


# --- parsing ---


def _line(text: str, x0: float, y0: float, x1: float = 0.6, conf: float = 0.99) -> Line:
    return Line(text, x0, y0, x1, y0 + 0.06, conf)


FRONT_LINES = [
    _line("姓名", 0.07, 0.10, 0.15),
    _line("欧阳小明", 0.19, 0.09),
    _line("性别男", 0.07, 0.23, 0.25),
    _line("民族维吾尔", 0.3, 0.23),
    _line("出生1988年12月1日", 0.07, 0.35),
    _line("住址新疆维吾尔自治区乌鲁木齐市天山区", 0.07, 0.48, 0.66),
    _line("解放路88号", 0.19, 0.56),
    _line("照片噪声", 0.7, 0.3, 0.9),
    _line("公民身份号码", 0.07, 0.82, 0.3),
    _line(GOOD_ID, 0.32, 0.81, 0.95, 0.97),
]


def test_a_misread_birth_date_does_not_lose_the_address() -> None:
    # The year read with a digit dropped (1988 as 198): the row is still the birth row by its label, and
    # the address below it is read; the date itself is left for the rules (taken from the number).
    slip = _line("出生198年12月1日", 0.07, 0.35)
    lines = [slip if ln.text.startswith("出生") else ln for ln in FRONT_LINES]
    result = parse_front(lines)
    assert result.fields["address"] == "新疆维吾尔自治区乌鲁木齐市天山区解放路88号"
    assert result.fields["birth_date"] == "198年12月1日"
    # Label and date both misread (出生1988年 lost, 633日 left): the row is still where the birth row lies.
    lost = [_line("633日", 0.18, 0.35) if ln.text.startswith("出生") else ln for ln in FRONT_LINES]
    result = parse_front(lost)
    assert result.fields["address"] == "新疆维吾尔自治区乌鲁木齐市天山区解放路88号"
    assert result.fields["ethnicity"] == "维吾尔" and result.fields["birth_date"] == "633日"


def test_parse_front_by_layout() -> None:
    result = parse_front(FRONT_LINES)
    assert result.fields == {
        "name": "欧阳小明",
        "sex": "男",
        "ethnicity": "维吾尔",
        "birth_date": "1988年12月1日",
        "address": "新疆维吾尔自治区乌鲁木齐市天山区解放路88号",
        "id_number": GOOD_ID,
    }
    assert result.confidence["id_number"] == pytest.approx(0.97)


def test_text_beside_the_card_is_not_read_into_its_fields() -> None:
    # The card finder took in a note lying next to the card, and the rectification is slanted: the labels
    # start at x 0.07 at the top and 0.15 at the bottom, the note's lines end before them.
    slant = [
        Line(ln.text, ln.x0 + 0.1 * ln.y0, ln.y0, ln.x1 + 0.1 * ln.y0, ln.y1, ln.confidence)
        for ln in FRONT_LINES
    ]
    note = [_line(text, 0.0, y, 0.09) for text, y in (("psum", 0.46), ("Lorem ips", 0.55), ("0123", 0.81))]
    result = parse_front(slant + note)
    assert result.fields["address"] == "新疆维吾尔自治区乌鲁木齐市天山区解放路88号"
    assert result.fields["id_number"] == GOOD_ID
    assert result.fields == parse_front(slant).fields


def test_misread_authority_label_is_stripped() -> None:
    for label in ("服发机关", "警发机关"):  # 签 read as a look-alike
        lines = [
            _line(label + "深圳市公安局南山分局", 0.17, 0.72),
            _line("有效期限2015.03.04-长期", 0.17, 0.84),
        ]
        assert parse_back(lines).fields["authority"] == "深圳市公安局南山分局"


def test_authority_after_a_label_without_its_last_character_is_highlighted() -> None:
    # 签发机关 with its 关 read as 美 (brush typefaces): 美 now leads the value, and 美兰区公安局 is a real
    # authority, so nothing is cut; the person checks it.
    lines = [_line("签发机美建设区公安局", 0.17, 0.72), _line("有效期限2015.03.04-长期", 0.17, 0.84)]
    result = check_back(parse_back(lines), date(2026, 1, 1))
    assert "authority" in result.low_confidence_fields()
    whole = check_back(parse_back([_line("签发机关建设区公安局", 0.17, 0.72), lines[1]]), date(2026, 1, 1))
    assert whole.fields["authority"] == "建设区公安局" and "authority" not in whole.low_confidence_fields()


def test_stray_mark_before_the_authority_is_cut_and_highlighted() -> None:
    # A rule or the label's colon read as 一 before the value, the recogniser sure of it: no city or county
    # name starts with 一, nor with punctuation.
    validity = _line("有效期限2015.03.04-长期", 0.17, 0.84)
    for value in ("一建设区公安局", "：建设区公安局", "·一建设区公安局"):
        result = check_back(parse_back([_line("签发机关" + value, 0.17, 0.72), validity]), TODAY)
        assert result.fields["authority"] == "建设区公安局"
        assert "authority" in result.low_confidence_fields() and "field_corrected" in result.warnings


def test_authority_of_another_shape_than_a_bureau_or_branch_is_highlighted() -> None:
    validity = _line("有效期限2015.03.04-长期", 0.17, 0.84)
    for value, shaped in (("深圳市公安局南山分局", True), ("和平县公安局", True), ("和平县公安", False),
                          ("深圳市公安局南山分周", False)):  # fmt: skip
        result = check_back(parse_back([_line("签发机关" + value, 0.17, 0.72), validity]), TODAY)
        assert result.fields["authority"] == value  # never changed, only shown for confirmation
        assert ("authority" not in result.low_confidence_fields()) == shaped, value


def test_parse_back_by_layout() -> None:
    lines = [
        _line("中华人民共和国", 0.3, 0.12),
        _line("居民身份证", 0.3, 0.3),
        _line("签发机关", 0.17, 0.72, 0.3),
        _line("深圳市公安局南山分局", 0.35, 0.72),
        _line("有效期限2015.03.04-长期", 0.17, 0.84),
    ]
    result = parse_back(lines)
    assert result.fields == {
        "authority": "深圳市公安局南山分局",
        "valid_from": "2015.03.04",
        "valid_until": "长期",
    }
    front, back = side_scores(lines)
    assert back > front


def test_side_scores_prefer_front_for_front_lines() -> None:
    front, back = side_scores(FRONT_LINES)
    assert front > back + 3


def test_naive_baseline_cuts_between_labels() -> None:
    texts = ["姓名张三性别男民族汉", "出生1990年3月7日", "住址广东省深圳市1号", f"公民身份号码{GOOD_ID}"]
    assert parse_naive(texts, "front") == {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1990-03-07",
        "address": "广东省深圳市1号",
        "id_number": GOOD_ID,
    }


# --- multi-frame reader ---


def _reading(**overrides: str) -> FrameReading:
    result = check_front(_front(**overrides))
    return FrameReading(card_found=True, position=(100.0, 100.0, 400.0), result=result)


def test_reader_prompts_until_two_consistent_frames_agree() -> None:
    reader = CardReader(side="front")
    assert reader.feed(FrameReading(card_found=False)).prompt.key == "ocr.prompt.place_card"
    small = FrameReading(card_found=True, too_small=True)
    assert reader.feed(small).prompt.key == "ocr.prompt.too_small"
    first = reader.feed(_reading())
    assert first.state == "reading" and first.prompt.key == "ocr.prompt.hold_still"
    bad = reader.feed(_reading(id_number=GOOD_ID[:-1] + "0"))  # checksum fails: does not count
    assert bad.state == "reading"
    done = reader.feed(_reading())
    assert done.state == "done" and done.result is not None
    assert done.result.fields["id_number"] == GOOD_ID
    assert done.result.confidence["name"] > 0.99
    assert reader.feed(FrameReading(card_found=False)) is done  # finished: later frames change nothing


def test_reader_does_not_settle_on_disagreeing_frames() -> None:
    reader = CardReader(side="front", max_readings=3)
    assert reader.feed(_reading(name="张三")).state == "reading"
    assert reader.feed(_reading(name="张王")).state == "reading"
    gave_up = reader.feed(_reading(name="张玉"))
    assert gave_up.state == "gave_up" and gave_up.prompt.key == "ocr.prompt.check_fields"
    assert gave_up.result is not None and "name" in gave_up.result.low_confidence_fields()


def test_reader_keeps_a_doubt_one_agreeing_frame_had() -> None:
    """Frames of one held card misread alike (same print, light and blur): when one of two agreeing frames
    doubted the name (e.g. the shape check overturned it), the settled name stays highlighted; a field both
    frames were sure of comes out surer."""
    reader = CardReader(side="front")
    sure, doubting = _reading(), _reading()
    assert sure.result is not None and doubting.result is not None
    sure.result.confidence["name"] = 0.95
    doubting.result.confidence["name"] = 0.6
    sure.result.confidence["address"] = doubting.result.confidence["address"] = 0.9
    reader.feed(sure)
    done = reader.feed(doubting)
    assert done.state == "done" and done.result is not None
    assert done.result.confidence["name"] == 0.6 and "name" in done.result.low_confidence_fields()
    assert done.result.confidence["address"] == pytest.approx(0.99)


def test_reader_asks_for_the_other_side() -> None:
    reader = CardReader(side="back")
    update = reader.feed(_reading())
    assert update.prompt.key == "ocr.prompt.show_back"


def test_masked_json_hides_the_number() -> None:
    shown = check_front(_front()).to_json(mask=True)
    assert shown["fields"]["id_number"] == GOOD_ID[:3] + "*" * 11 + GOOD_ID[-4:]
    assert list(shown["fields"]) == ["name", "sex", "ethnicity", "birth_date", "address", "id_number"]


def test_damaged_house_number_is_flagged_not_completed() -> None:
    for damaged in (
        "广东省深圳市南山区学府路614",
        "广东省深圳市南山区学府路9C号",
        "广东省深圳市南山区幸福村11169号",
    ):
        result = check_front(_front(address=damaged))
        assert result.fields["address"] == damaged  # the missing 号, digit or 组 is not invented
        assert "address" in result.low_confidence_fields()
    for whole in (
        "广东省深圳市南山区学府路614号",
        "广东省深圳市南山区幸福村11组169号",
        "广东省深圳市南山区学府路1号3单元2804室",
    ):
        assert "address" not in check_front(_front(address=whole)).low_confidence_fields()


def test_superscript_digit_in_address_is_mapped_and_flagged() -> None:
    result = check_front(_front(address="广东省深圳市南山区学府路1号4单元²03室"))
    assert result.fields["address"] == "广东省深圳市南山区学府路1号4单元203室"
    assert "address" in result.low_confidence_fields()


def test_misread_address_label_is_stripped() -> None:
    lines = [ln for ln in FRONT_LINES if not ln.text.startswith("住址")]
    lines.append(_line("佳址新疆维吾尔自治区乌鲁木齐市天山区", 0.07, 0.48, 0.66))
    assert parse_front(lines).fields["address"] == "新疆维吾尔自治区乌鲁木齐市天山区解放路88号"
    lines[-1] = _line("住新疆维吾尔自治区乌鲁木齐市天山区", 0.07, 0.48, 0.66)  # 址 lost: only 住 goes
    assert parse_front(lines).fields["address"] == "新疆维吾尔自治区乌鲁木齐市天山区解放路88号"


def _scored(
    text: str, x0: float, y0: float, x1: float, chars: dict[int, float], gaps: dict[int, float]
) -> Line:
    """A line whose recogniser scored character i ``chars[i]`` (else 0.99) and saw an unwritten character
    ``gaps[i]`` before it; its line score is the mean, as the engine's is."""
    scores = tuple(chars.get(i, 0.99) for i in range(len(text)))
    traces = tuple(gaps.get(i, 0.0) for i in range(len(text) + 1))
    return Line(text, x0, y0, x1, y0 + 0.06, sum(scores) / len(scores), scores, traces)


def _with_address_line(line: Line) -> list[Line]:
    return [line if ln.text.startswith("住址") else ln for ln in FRONT_LINES]


def test_one_weak_character_of_the_address_is_highlighted_though_the_line_scores_high() -> None:
    text = "住址新疆维吾尔自治区乌鲁木齐市天山区"
    weak = _scored(text, 0.07, 0.48, 0.66, {text.index("鲁"): 0.3}, {})
    assert weak.confidence > 0.95  # the line's mean alone would let the slip through
    result = check_front(parse_front(_with_address_line(weak)))
    assert "address" in result.low_confidence_fields()
    sure = _scored(text, 0.07, 0.48, 0.66, {}, {})
    assert "address" not in check_front(parse_front(_with_address_line(sure))).low_confidence_fields()
    # The label's characters are not the value's: a weak 住 highlights nothing.
    label_weak = _scored(text, 0.07, 0.48, 0.66, {0: 0.3}, {})
    assert "address" not in check_front(parse_front(_with_address_line(label_weak))).low_confidence_fields()


def test_a_character_dropped_from_the_address_is_highlighted() -> None:
    # 988号 read as 88号: the 9 lost to the blank at a few steps, where it still had some probability.
    text = "住址新疆维吾尔自治区乌鲁木齐市天山区解放路88号"
    dropped = _scored(text, 0.07, 0.48, 0.66, {}, {text.index("88"): 0.4})
    result = check_front(parse_front(_with_address_line(dropped)))
    assert result.fields["address"].endswith("解放路88号")  # nothing is invented in its place
    assert "address" in result.low_confidence_fields()
    faint = _scored(text, 0.07, 0.48, 0.66, {}, {text.index("88"): 0.05})
    assert "address" not in check_front(parse_front(_with_address_line(faint))).low_confidence_fields()


def test_one_weak_character_of_the_authority_is_highlighted() -> None:
    # 龙门 read as 龙内 at a line score of 0.94.
    text = "签发机关龙内县公安局"
    validity = _line("有效期限2015.03.04-长期", 0.17, 0.84)
    weak = _scored(text, 0.17, 0.72, 0.6, {text.index("内"): 0.45}, {})
    assert "authority" in check_back(parse_back([weak, validity]), TODAY).low_confidence_fields()
    sure = _scored(text, 0.17, 0.72, 0.6, {}, {})
    assert "authority" not in check_back(parse_back([sure, validity]), TODAY).low_confidence_fields()


def test_validity_start_after_today_or_before_the_card_existed_is_highlighted() -> None:
    # 2011.10.20-长期 read with its digits shifted: a start in 2201 cannot be on a card in hand.
    for start in ("2201.11.02", "2026.03.01", "2001.10.20"):
        result = check_back(_back(start, "长期"), TODAY)
        assert "invalid_validity" in result.warnings
        assert "valid_from" in result.low_confidence_fields()
    assert check_back(_back("2011.10.20", "长期"), TODAY).warnings == []


def _placed(text: str, first: float, y0: float, pitch: float = 0.035, margin: float = 0.02) -> Line:
    """A line whose characters the recogniser placed ``pitch`` apart, the first centred at ``first``, in a
    box grown by ``margin`` either side as the detector grows it."""
    return _placed_at(text, [first + k * pitch for k in range(len(text))], y0, margin)


def _placed_at(text: str, centres: list[float], y0: float, margin: float = 0.02) -> Line:
    """A line whose characters the recogniser placed at ``centres`` (card fractions)."""
    x0, x1 = centres[0] - 0.0175 - margin, centres[-1] + 0.0175 + margin
    positions = tuple((c - x0) / (x1 - x0) for c in centres)
    return Line(text, x0, y0, x1, y0 + 0.06, 0.99, positions=positions)


VALUE_COLUMN = 0.33  # where both values of the back start, as the validity date's first digit shows
# The labels start in one column, the validity's 有 where the authority's 签 does: four characters and a
# pitch's gap left of the values.
PLACED_VALIDITY = [
    _placed("有效期限", VALUE_COLUMN - 0.175, 0.84),
    _placed("2015.03.04-长期", VALUE_COLUMN, 0.84, 0.018),
]


def test_label_box_running_into_the_value_loses_what_the_value_read_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The label's box reaches into the value's: its crop reads 签发机关角, the left of 解 as 角, centred where
    # the value's line reads 解 itself.
    label = _placed("签发机关角", 0.19, 0.72, pitch=0.034)
    value = _placed("解放区公安局", VALUE_COLUMN + 0.001, 0.72)
    assert label.x1 > value.x0
    result = check_back(parse_back([label, value, *PLACED_VALIDITY]), TODAY)
    assert result.fields["authority"] == "解放区公安局"
    assert "authority" not in result.low_confidence_fields()
    trimmed = result.sources["authority"][0][0]
    assert trimmed.text == "签发机关" and trimmed.x1 < VALUE_COLUMN  # the re-read crop stops there too
    # A label that ends well before the value keeps all it read, however close the boxes come.
    near = _placed("签发机关", 0.19, 0.72, pitch=0.034, margin=0.045)
    assert near.x1 > value.x0
    assert parse_back([near, value, *PLACED_VALIDITY]).sources["authority"][0][0].text == "签发机关"
    monkeypatch.setattr(parse, "READ_TWICE_PITCH", -1e9)  # without the rule: wrong and not highlighted
    result = check_back(parse_back([label, value, *PLACED_VALIDITY]), TODAY)
    assert result.fields["authority"] == "角解放区公安局"
    assert "authority" not in result.low_confidence_fields()


def test_authority_label_is_cut_where_it_is_printed_however_it_was_read() -> None:
    # Left of the values' column is the label, whatever the recogniser made of it; right of it the value,
    # even where it begins with what the label's last character is misread as (美兰区 is a real district).
    for read, value, doubtful in (
        ("善发机美", "上海市公安局建设区分局", True),  # two characters of the label misread
        ("签度机关", "文化市公安局和平区分局", False),
        ("签发机美", "美兰区公安局", True),  # the text reads 签发机 as the label: the two disagree
        ("权关", "建设区公安局", False),  # the label's start lost, its end misread
    ):
        result = check_back(parse_back([_label_and_value(read, value), *PLACED_VALIDITY]), TODAY)
        assert result.fields["authority"] == value, read
        assert ("authority" in result.low_confidence_fields()) == doubtful, read


def test_authority_row_shifted_against_the_validity_row_is_cut_where_its_text_agrees() -> None:
    # A slanted rectification moves the authority's row right of the validity's: at the validity date's
    # column the label's 关 looks like the value's first character. Moved by as much as the two labels'
    # starts lie apart, positions and text agree again.
    row = _label_and_value("签发机关", "重庆市公安局新华市分局", shift=0.06)
    result = check_back(parse_back([row, *PLACED_VALIDITY]), TODAY)
    assert result.fields["authority"] == "重庆市公安局新华市分局"
    assert "authority" not in result.low_confidence_fields()


def _label_and_value(label: str, value: str, shift: float = 0.0) -> Line:
    """One line holding ``label`` and ``value``, the value starting at the values' column (+ ``shift``),
    the label's last character two pitches before it."""
    centres = [VALUE_COLUMN - 0.035 * (len(label) + 1 - k) for k in range(len(label))]
    centres += [VALUE_COLUMN + 0.035 * k for k in range(len(value))]
    return _placed_at(label + value, [c + shift for c in centres], 0.72)


def test_validity_is_read_from_its_date_on_whatever_its_label_was_read_as() -> None:
    # A brush-face label read as 有成期系 (its 期 would lead the digits), or with the date's first digit read
    # twice at its end (no positions to tell it by): the date is where the value starts.
    for line in ("有成期系2021.08.12-长路", "有效期限22021.08.12-长期"):
        result = check_back(
            parse_back([_line("签发机关建设区公安局", 0.17, 0.72), _line(line, 0.17, 0.84)]), TODAY
        )
        assert (result.fields["valid_from"], result.fields["valid_until"]) == ("2021-08-12", "长期"), line
        assert "valid_from" not in result.low_confidence_fields()


def _slipped_matrix(text: str, slips: dict[int, tuple[str, float]]) -> ctc.CharMatrix:
    """A crop's probabilities that read ``text``, sure of every character but those in ``slips``:
    position -> (the character really printed there, the log-probability share the read one wins by)."""
    alphabet = ["", *sorted(set(text) | {ch for ch, _ in slips.values()} | set(PLACE_SUFFIXES))]
    index = {ch: i for i, ch in enumerate(alphabet) if i}
    logp = np.full((2 * len(text) + 1, len(alphabet)), -20.0)
    logp[0::2, 0] = 0.0  # a blank between characters
    for i, ch in enumerate(text):
        logp[2 * i + 1, index[ch]] = 0.0
        if i in slips:
            printed, by = slips[i]
            logp[2 * i + 1, index[printed]] = -by
    return ctc.CharMatrix(logp, alphabet, index)


def test_place_read_without_its_suffix_takes_the_one_its_ink_fits_nearly_as_well() -> None:
    value = "和平市公安局光明医分局"
    for by, settled, doubtful in (
        (3.0, "和平市公安局光明区分局", True),
        (8.0, value, True),
        (20.0, value, False),
    ):
        result = CardResult(side="back", fields={"authority": value}, confidence={"authority": 0.99})
        matrices = [_slipped_matrix("签发机关" + value, {12: ("区", by)})]
        settle_place_suffix(result, matrices.copy, len("签发机关"))
        assert result.fields["authority"] == settled, by
        assert (result.confidence["authority"] < 0.85) == doubtful, by
    # A branch named without its district's 区 (南山分局) fits no suffix: nothing is asked for or changed.
    branch = "深圳市公安局南山分局"
    result = CardResult(side="back", fields={"authority": branch}, confidence={"authority": 0.99})
    settle_place_suffix(result, lambda: [_slipped_matrix(branch, {})], 0)
    assert result.fields["authority"] == branch and result.confidence["authority"] == 0.99
    # Nothing to weigh where no place ends in another character: the crops are not even read again.
    result = CardResult(side="back", fields={"authority": "和平市公安局光明区分局"})
    settle_place_suffix(result, _never_read, 0)
    assert result.fields["authority"] == "和平市公安局光明区分局"


def _never_read() -> list[ctc.CharMatrix]:
    raise AssertionError("the crops were read again")


def test_validity_date_with_a_digit_read_as_a_letter_is_read_and_highlighted() -> None:
    # No Latin letter is printed in the validity line: a 1 read as L is that digit, and the row is still
    # the validity's. Mapped, so the person confirms it.
    lines = [_line("签发机关光明县公安局", 0.17, 0.72), _line("有效期期2009.0L.11-长期", 0.17, 0.84)]
    result = check_back(parse_back(lines), TODAY)
    assert (result.fields["valid_from"], result.fields["valid_until"]) == ("2009-01-11", "长期")
    assert "valid_from" in result.low_confidence_fields() and "field_corrected" in result.warnings


def test_address_starting_with_no_province_takes_the_one_its_ink_fits() -> None:
    rest = "胜利市解放县学府路"
    misread = "秘建智" + rest + "759号"
    for crop, by, settled in (
        ("秘建智" + rest, 3.0, "福建省" + rest + "759号"),
        ("生秘建智" + rest, 3.0, "福建省" + rest + "759号"),  # the crop shows a scrap of the label first
        ("秘建智" + rest, 20.0, misread),  # 40 nats worse than read: no province's ink
    ):
        start = crop.index("秘")
        result = _front(address=misread)
        matrix = _slipped_matrix(crop, {start: ("福", by), start + 2: ("省", by)})
        settle_province(result, lambda m=matrix: [m, _slipped_matrix("759号", {})], 0)
        assert result.fields["address"] == settled, crop
        assert "address" in result.low_confidence_fields()  # corrected or not: confirmed by the person
        assert ("field_corrected" in result.warnings) == (settled != misread)
    # An address that kept the label's scrap (生) lines up with the crop only one character later: the
    # province fits the crop there, but replacing the address's first three characters would keep 智.
    result = _front(address="生" + misread)
    matrix = _slipped_matrix("生秘建智" + rest, {1: ("福", 3.0), 3: ("省", 3.0)})
    settle_province(result, lambda: [matrix], 0)
    assert result.fields["address"] == "生" + misread and "address" in result.low_confidence_fields()
    # An address that starts with a province, in full or short, is not read again.
    for address in ("福建省" + rest, "宁夏银川市兴庆区1号", "址北京市东城区1号"):
        result = _front(address=address)
        settle_province(result, _never_read, 0)
        assert result.fields["address"] == address and result.low_confidence_fields() == []
