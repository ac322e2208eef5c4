"""Closed vocabularies of the resident ID card: the 56 ethnicities, the province of each region code.

The province table is a shipped data file (``assets/idcard/provinces.json``, GB/T 2260 first two digits);
the first two digits of the ID number are all the address check needs, so the 3,000-odd county codes are not
shipped. The surnames are one too (``assets/idcard/surnames.txt``: the classic 百家姓 and the common surnames
it lacks); a name starting with none of them is not wrong, only worth a second look.
"""

from __future__ import annotations

import json
from functools import cache

import opencc

from kiosk.paths import ASSETS_DIR

# As printed in the 民族 field (without the trailing 族), in the order of GB/T 3304.
ETHNICITIES: tuple[str, ...] = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
    "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西",
    "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌",
    "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
    "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip


@cache
def provinces() -> dict[str, str]:
    """Two-digit region prefix → the province's full name as an address starts with it (``"44"`` → 广东省)."""
    with (ASSETS_DIR / "idcard" / "provinces.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) from ``assets/idcard/surnames.txt``, where a line
    holding spaces lists compound surnames and any other line single ones written together."""
    single: set[str] = set()
    compound: set[str] = set()
    with (ASSETS_DIR / "idcard" / "surnames.txt").open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if " " in line:
                compound.update(line.split())
            else:
                single.update(line)
    return frozenset(single), frozenset(compound)


def starts_with_surname(name: str) -> bool:
    """Whether ``name`` starts with a listed surname (one character, or a compound one of two)."""
    single, compound = surnames()
    return name[:1] in single or name[:2] in compound


def province_short(full_name: str) -> str:
    """The name without its administrative suffix, as short addresses write it (广西壮族自治区 → 广西)."""
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市"):
        if full_name.endswith(suffix):
            return full_name[: -len(suffix)]
    return full_name


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")  # OpenCC's character and phrase tables ship inside its wheel


def simplified(text: str) -> str:
    """``text`` with each traditional character replaced by its simplified form (黃 → 黄), character by
    character: a name is no phrase, so OpenCC's phrase table must not change a character by its neighbour."""
    convert = _to_simplified().convert
    return "".join(convert(ch) for ch in text)
