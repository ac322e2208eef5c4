from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.idnumber import IdNumberError, check_digit, parse_id_number
from kiosk.masking import mask_id_number, mask_name

# Published examples: GB 11643 sample numbers whose check digits are known.
KNOWN = {"11010519491231002": "X", "44052418800101001": "4", "34052419800101001": "X"}


@pytest.mark.parametrize(("first17", "expected"), sorted(KNOWN.items()))
def test_check_digit_matches_published_examples(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


def test_parse_valid_number_gives_birth_date_and_sex() -> None:
    number = parse_id_number(" 11010519491231002x ")
    assert number.value == "11010519491231002X"
    assert number.birth_date == date(1949, 12, 31)
    assert number.sex == "F"  # 17th digit 2 is even
    assert number.region == "110105"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("11010519491231002", "id.bad_shape"),
        ("1101051949123100XX", "id.bad_shape"),
        ("110105194902300021", "id.bad_birth_date"),  # 30 February
        ("110105210001010011", "id.bad_birth_date"),  # born in the future
        ("110105194912310021", "id.bad_checksum"),
    ],
)
def test_invalid_numbers_name_the_problem(text: str, key: str) -> None:
    with pytest.raises(IdNumberError) as err:
        parse_id_number(text, today=date(2026, 1, 1))
    assert err.value.key == key


@given(st.from_regex(r"\d{17}", fullmatch=True), st.integers(0, 10))
def test_exactly_one_check_character_is_accepted(first17: str, wrong: int) -> None:
    good = check_digit(first17)
    bad = "0123456789X"[wrong]
    try:
        parse_id_number(first17 + good)
    except IdNumberError as err:  # random digits rarely form a real date; the checksum must not be blamed
        assert err.key == "id.bad_birth_date"
        return
    if bad != good:
        with pytest.raises(IdNumberError) as err:
            parse_id_number(first17 + bad)
        assert err.value.key == "id.bad_checksum"


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"), ("李", "*"), ("", "")]
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_id_number_hides_birth_date() -> None:
    masked = mask_id_number("11010519491231002X")
    assert masked == "110***********002X"
    assert "19491231" not in masked
