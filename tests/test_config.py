from pathlib import Path

import pytest

from kiosk.config import SettingsError, load_settings
from kiosk.paths import resolve_data_dir


def test_defaults_work_with_nothing_configured(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert (s.mode, s.camera, s.language, s.idle_timeout_s, s.duplicate_window_s) == (
        "checkpoint",
        "demo",
        "zh-CN",
        60,
        600,
    )
    assert s.central_url is None


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = 'site_name = "石门收费站"\nidle_timeout_s = 90\nmode = "self-service"\n'
    (tmp_path / "kiosk.toml").write_text(toml)
    assert load_settings(tmp_path).idle_timeout_s == 90
    monkeypatch.setenv("KIOSK_IDLE_TIMEOUT_S", "120")
    monkeypatch.setenv("KIOSK_SOUND", "off")
    s = load_settings(tmp_path, {"mode": "checkpoint", "camera": None})
    got = (s.site_name, s.idle_timeout_s, s.mode, s.sound, s.camera)
    assert got == ("石门收费站", 120, "checkpoint", False, "demo")


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('mode = "bank"', "'mode'"),
        ("idle_timeout_s = 1", "'idle_timeout_s'"),
        ('idle_timeout_s = "soon"', "'idle_timeout_s'"),
        ("colour = 3", "unknown setting(s) colour"),
        ("mode = ", "kiosk.toml"),
    ],
)
def test_bad_settings_are_refused_with_the_key(tmp_path: Path, toml: str, words: str) -> None:
    (tmp_path / "kiosk.toml").write_text(toml)
    with pytest.raises(SettingsError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_settings(tmp_path)


def test_data_dir_flag_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert (tmp_path / "flag").is_dir()
