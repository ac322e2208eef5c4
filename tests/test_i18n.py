import json
import re
from pathlib import Path

from kiosk.i18n import LANGUAGES, Message, render, translate
from kiosk.paths import ASSETS_DIR, PROJECT_ROOT


def _catalogues() -> dict[str, dict[str, str]]:
    return {lang: json.loads((ASSETS_DIR / "i18n" / f"{lang}.json").read_text("utf-8")) for lang in LANGUAGES}


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    cats = _catalogues()
    assert cats["zh-CN"].keys() == cats["en"].keys()
    for key, text in cats["zh-CN"].items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", cats["en"][key])), key


def test_every_key_used_in_code_exists() -> None:
    keys = _catalogues()["zh-CN"].keys()
    pattern = re.compile(r"""(?:translate|Message|_tr|tr)\(\s*["']([a-z][\w.-]+)["']""")
    used: set[str] = set()
    for folder in ("kiosk", "ui", "devices", "printing"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            used.update(pattern.findall(path.read_text("utf-8")))
    assert used, "the pattern found no keys at all; it is out of date"
    assert sorted(used - keys) == []


def test_translate_fills_parameters_and_survives_a_missing_key() -> None:
    assert translate("duplicate.already", "en", time="09:30").startswith("Already inspected at 09:30")
    assert translate("no.such.key", "en") == "no.such.key"
    assert render(Message("url.unverified", {"host": "a.cn"}), "zh-CN").startswith("网址链接（a.cn）")


def test_shipped_font_is_truetype_with_cjk_glyphs() -> None:
    font = (ASSETS_DIR / "fonts" / "DroidSansFallbackFull.ttf").read_bytes()
    assert font[:4] == b"\x00\x01\x00\x00"  # TrueType outlines (reportlab cannot embed CFF)
    assert b"glyf" in font[:1024]
    assert Path(ASSETS_DIR / "fonts" / "LICENSE-Apache-2.0.txt").exists()


def test_every_card_warning_has_a_message_and_no_message_is_left_unused() -> None:
    # The ID-capture screen says each warning of kiosk.idcard.model.WARNINGS in words; a message key for a
    # warning the reader can no longer raise would be dead text.
    from kiosk.idcard.model import WARNINGS

    keys = {k.removeprefix("ocr.warning.") for k in _catalogues()["zh-CN"] if k.startswith("ocr.warning.")}
    assert keys == set(WARNINGS)
