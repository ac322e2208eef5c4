from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.codes.plain import default_registry
from kiosk.codes.registry import CodeRegistry, CodeResult, Verdict
from kiosk.i18n import render

NOW = datetime.fromisoformat("2026-11-26T09:30:00+08:00")


@pytest.mark.parametrize(
    ("text", "kind", "verdict", "reason"),
    [
        ("11010519491231002X", "id-number", Verdict.GREEN, "id.valid"),
        ("110105194912310021", "id-number", Verdict.RED, "id.bad_checksum"),
        ("https://health.example.gov.cn/c?x=1", "url", Verdict.YELLOW, "url.unverified"),
        ("HTTP://", "url", Verdict.RED, "code.malformed"),
        ("TICKET-0001", "text", Verdict.YELLOW, "code.unrecognised"),
        ("", "malformed", Verdict.RED, "code.malformed"),
        ("abc\x00def", "malformed", Verdict.RED, "code.malformed"),
        ("A" * 10_000, "malformed", Verdict.RED, "code.malformed"),
    ],
)
def test_registry_verdicts(text: str, kind: str, verdict: Verdict, reason: str) -> None:
    result = default_registry().evaluate(text, NOW)
    assert (result.kind, result.verdict, result.reason.key) == (kind, verdict, reason)


def test_id_number_claims_are_masked_and_subject_identifies_the_person() -> None:
    result = default_registry().evaluate("11010519491231002x", NOW)
    assert result.claims == {"id_number": "110***********002X"}
    assert result.subject == "id:11010519491231002X"


def test_url_reason_names_the_host_in_both_languages() -> None:
    result = default_registry().evaluate("https://health.example.gov.cn/c", NOW)
    assert "health.example.gov.cn" in render(result.reason, "zh-CN")
    assert "check by hand" in render(result.reason, "en")


class _Exploding:
    kind = "exploding"

    def matches(self, text: str) -> bool:
        return True

    def evaluate(self, text: str, now: datetime) -> CodeResult:
        raise RuntimeError("format bug")


def test_a_failing_format_yields_red_instead_of_raising() -> None:
    result = CodeRegistry([_Exploding()]).evaluate("anything", NOW)
    assert (result.kind, result.verdict, result.reason.key) == ("exploding", Verdict.RED, "code.error")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_every_text_gets_a_verdict(text: str) -> None:
    result = default_registry().evaluate(text, NOW)
    assert result.verdict in set(Verdict)
    assert render(result.reason, "zh-CN") != result.reason.key  # a real sentence, not a missing key
