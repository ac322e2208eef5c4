"""Pinyin → characters for the on-screen keyboard: exact readings first, then longer ones, common first."""

from __future__ import annotations

import time

import pytest

from kiosk import pinyin


def test_zhong_gives_zhong_first() -> None:
    assert pinyin.candidates("zhong")[0] == "中"
    assert pinyin.candidates("ZHONG")[0] == "中"  # letters from a physical keyboard with caps lock


def test_u_umlaut_is_typed_v() -> None:
    found = pinyin.candidates("lv")
    assert "绿" in found and "吕" in found
    assert "绿" in pinyin.candidates("lu")  # 绿 lù as well (绿林)
    assert "吕" not in pinyin.candidates("lu")


def test_a_prefix_offers_the_characters_of_longer_readings_common_first() -> None:
    found = pinyin.candidates("zh")
    assert found, "zh is no reading of its own, but begins many"
    assert set(found[:20]) & set("中之知这正主"), found[:20]
    # The characters read exactly so come before those of longer readings (gu: 古 before 光).
    assert pinyin.candidates("gu")[0] in "古故骨谷股顾固鼓"
    assert pinyin.candidates("guang")[:2] == ["光", "广"]


def test_rare_name_characters_stay_reachable_after_the_common_ones() -> None:
    she = pinyin.candidates("she")
    assert {"厍", "佘"} <= set(she)
    assert she.index("社") < she.index("厍") and she.index("设") < she.index("佘")
    assert "芈" in pinyin.candidates("mi")
    yan = pinyin.candidates("yan")
    assert "䶮" in yan  # pypinyin 0.55 knows 䶮 (yǎn, CJK extension A), a name character
    assert yan.index("言") < yan.index("䶮")


def test_gb2312_level_one_before_level_two_before_the_rest() -> None:
    exact = [ch for _, ch in pinyin.index().table["yan"]]  # yan itself; yang, yao… follow, sorted again
    assert pinyin.candidates("yan")[: len(exact)] == exact
    tiers = [pinyin._tier(ch) for ch in exact]
    assert tiers == sorted(tiers) and set(tiers) == {0, 1, 2}
    assert pinyin._tier("中") == 0 and pinyin._tier("厍") == 1 and pinyin._tier("䶮") == 2


@pytest.mark.parametrize("letters", ["", "zh1", "中", "a b", "ü", "xx", "-", "zhongg"])
def test_no_candidates_for_what_is_no_reading(letters: str) -> None:
    assert pinyin.candidates(letters) == []


def test_only_ideographs_are_offered() -> None:
    for letters in ("a", "e", "n", "m", "o"):
        for ch in pinyin.candidates(letters):
            assert pinyin._is_ideograph(ch), (letters, ch)


def test_toneless_readings() -> None:
    assert pinyin.toneless("zhōng") == "zhong"
    assert pinyin.toneless("lǜ") == "lv"
    assert pinyin.toneless("nǚ") == "nv"


def test_the_index_is_built_once_and_quickly() -> None:
    pinyin._index = None
    started = time.perf_counter()
    thread = pinyin.warm_up()
    thread.join(5)
    assert not thread.is_alive()
    built = pinyin._index
    assert built is not None
    assert time.perf_counter() - started < 2.0  # about 0.5 s on a developer machine; slack for CI
    pinyin.candidates("a")
    assert pinyin.index() is built
