"""The date field's day buttons take their words and order from the message catalogues."""

from __future__ import annotations

from datetime import date

import pytest

from ui.widgets.field_editors import day_button_text


@pytest.mark.parametrize(
    ("day", "language", "shown"),
    [
        (date(2026, 12, 7), "zh-CN", "12月7日 周一"),
        (date(2026, 12, 7), "en", "Mon 7 Dec"),
        (date(2027, 3, 14), "zh-CN", "3月14日 周日"),
        (date(2027, 3, 14), "en", "Sun 14 Mar"),
    ],
)
def test_day_buttons_read_naturally_in_both_languages(day: date, language: str, shown: str) -> None:
    assert day_button_text(day, language) == shown
