"""The shipped decided services (智慧批) on example applications and example data sets: every outcome of the
vehicle pass (blocked plate, listed risk area, a declared symptom for a person) and of the disability
subsidies (残疾人两项补贴), a missing or stale data set of each shipped decision falls to a person, the
public risk-area list in clear, and a fourth decided service added by files alone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.decisions.datasets import (
    ReferenceSet,
    build_reference_set,
    keyed_hash,
    load_reference_set,
    parse_reference_set,
)
from kiosk.decisions.rules import DECISIONS_DIR, decide, decision_for
from kiosk.fileio import FileProblem
from kiosk.forms.answers import example_answers, validate_answers
from kiosk.forms.definition import SERVICES_DIR, catalogue_for, load_definition
from main import main

EXAMPLES = Path(__file__).parent / "data" / "decisions"
EXAMPLE_KEY = b"example key: not for production"  # the key the example sets were hashed with
NOW = datetime(2026, 12, 7, 9, 30)
SHIPPED_DECIDED = ("vehicle-pass", "elderly-allowance", "disability-subsidy")

# People of the example sets (all born in 440305 but the last).
GRADE_1_REASSESSING = "440305195001010036"  # low income, already receives the living subsidy
GRADE_3 = "440305194103120020"  # registered, not on minimum living support
REVOKED_MOVED_OUT = "440305194606070010"  # certificate revoked, household moved out
NOBODY = "11010519460101002X"  # in none of the sets
GRADE_2_LOW_INCOME = "440305197205150013"  # registered, 特困, receives nothing yet
DRIVER = "440305198811020037"

VEHICLE_REASONS = {
    "blocked": {
        "zh-CN": "该车辆在车辆登记的禁止通行名单中",
        "en": "The vehicle is on the vehicle register's blocked list",
    },
    "risk": {
        "zh-CN": "出发地属于已公布的中高风险地区",
        "en": "The place of departure is a listed medium- or high-risk area",
    },
}
DISABILITY_REASONS = {
    "no-certificate": {
        "zh-CN": "申请人没有第二代残疾人证登记",
        "en": "The applicant holds no registered disability certificate",
    },
    "certificate-void": {
        "zh-CN": "申请人的残疾人证已注销或过期",
        "en": "The applicant's disability certificate is revoked or expired",
    },
    "no-household": {
        "zh-CN": "本市户籍登记中没有申请人",
        "en": "The applicant is not in the city's household register",
    },
    "left-city": {
        "zh-CN": "申请人户籍已不在本市（迁出或注销）",
        "en": "The applicant's household registration is no longer in the city",
    },
    "nursing-grade": {
        "zh-CN": "重度残疾人护理补贴只发给残疾等级为一级、二级的残疾人",
        "en": "The nursing subsidy is for disability grades one and two only",
    },
    "living-low-income": {
        "zh-CN": "困难残疾人生活补贴只发给享受低保或特困供养的残疾人",
        "en": "The living subsidy is for people with disabilities on minimum living support",
    },
    "already": {"zh-CN": "申请人已在领取该项补贴", "en": "The applicant already receives this subsidy"},
}


def example_sets(loaded_at: datetime = NOW - timedelta(hours=1)) -> dict[str, ReferenceSet]:
    """Every example set, by its name, as if loaded at ``loaded_at``."""
    return {
        path.name.removesuffix(".example.json"): load_reference_set(path, EXAMPLE_KEY, loaded_at)
        for path in sorted(EXAMPLES.glob("*.example.json"))
    }


def _answers(service_id: str, **changes: Any) -> dict[str, Any]:
    """The service's example application with ``changes``, checked and normalised as the kiosk does."""
    definition = load_definition(SERVICES_DIR / f"{service_id}.json")
    answers = example_answers(definition, NOW.date()) | changes
    return validate_answers(definition, answers, NOW.date())


@pytest.mark.parametrize(
    ("changes", "outcome", "reasons"),
    [
        ({}, "approved", []),
        # The blocked list holds 粤A88888 as a keyed hash; the answer is normalised like the register's plate.
        ({"plate": "粤a·88888"}, "rejected", ["blocked"]),
        ({"plate": "粤BD12345"}, "rejected", ["blocked"]),  # a new-energy plate
        # 深圳市罗湖区 is listed: a longer origin naming a place within it is found.
        ({"origin": "广东省深圳市罗湖区东门街道"}, "rejected", ["risk"]),
        ({"origin": "东莞市"}, "rejected", ["risk"]),  # a whole city is listed
        ({"origin": "深圳市南山区"}, "approved", []),  # the same city, a district that is not listed
        ({"plate": "粤A88888", "origin": "韶关市浈江区"}, "rejected", ["blocked", "risk"]),
        # What the driver declares is not a refusal by itself: a person at the checkpoint decides.
        ({"symptoms": True}, "manual", []),
        ({"risk_area": True}, "manual", []),
        ({"symptoms": True, "plate": "粤A88888"}, "rejected", ["blocked"]),
    ],
)
def test_vehicle_pass_outcomes_on_the_example_sets(
    changes: dict[str, Any], outcome: str, reasons: list[str]
) -> None:
    answers = _answers("vehicle-pass", driver_id=DRIVER, **changes)
    decision = decide(decision_for("vehicle-pass.json"), answers, example_sets(), NOW)
    assert decision.outcome == outcome
    assert list(decision.reasons) == [VEHICLE_REASONS[r] for r in reasons]
    assert decision.rule == "vehicle-pass@1"
    assert decision.datasets == {"vehicle-register-blocked": "2026-12-06.4", "risk-areas": "2026-12-07.1"}


@pytest.mark.parametrize(
    ("id_number", "subsidy", "outcome", "reasons"),
    [
        (GRADE_2_LOW_INCOME, "living", "approved", []),
        (GRADE_2_LOW_INCOME, "nursing", "approved", []),
        (GRADE_3, "nursing", "rejected", ["nursing-grade"]),
        (GRADE_3, "living", "rejected", ["living-low-income"]),
        (GRADE_1_REASSESSING, "living", "rejected", ["already"]),
        # Grade one and not yet receiving the nursing subsidy, but the grade is being assessed again.
        (GRADE_1_REASSESSING, "nursing", "manual", []),
        (REVOKED_MOVED_OUT, "nursing", "rejected", ["certificate-void", "left-city"]),
        (NOBODY, "living", "rejected", ["no-certificate", "no-household", "living-low-income"]),
    ],
)
def test_disability_subsidy_outcomes_on_the_example_sets(
    id_number: str, subsidy: str, outcome: str, reasons: list[str]
) -> None:
    answers = _answers("disability-subsidy", id_number=id_number, subsidy=subsidy)
    decision = decide(decision_for("disability-subsidy.json"), answers, example_sets(), NOW)
    assert decision.outcome == outcome
    assert list(decision.reasons) == [DISABILITY_REASONS[r] for r in reasons]
    assert decision.rule == "disability-subsidy@1"
    assert decision.datasets == {
        "disability-register": "2026-12-05.2",
        "household-extract": "2026-12-07.1",
        "low-income-register": "2026-11-30.1",
        "disability-subsidy-register": "2026-12-06.1",
    }


def _approved_example(service_id: str) -> dict[str, Any]:
    if service_id == "disability-subsidy":
        return _answers(service_id, id_number=GRADE_2_LOW_INCOME)
    if service_id == "vehicle-pass":
        return _answers(service_id, driver_id=DRIVER)
    return _answers(service_id)


def _lookups(service_id: str) -> list[tuple[str, timedelta]]:
    rules = decision_for(f"{service_id}.json")
    return [(spec.set, spec.max_age) for spec in rules.lookups.values()]


@pytest.mark.parametrize(
    ("service_id", "dataset", "max_age"),
    [(s, name, age) for s in SHIPPED_DECIDED for name, age in _lookups(s)],
)
def test_a_missing_or_stale_set_of_a_shipped_decision_falls_to_a_person(
    service_id: str, dataset: str, max_age: timedelta
) -> None:
    rules, answers = decision_for(f"{service_id}.json"), _approved_example(service_id)
    assert decide(rules, answers, example_sets(), NOW).outcome == "approved"
    sets = example_sets()
    del sets[dataset]
    decision = decide(rules, answers, sets, NOW)
    assert (decision.outcome, decision.reasons) == ("manual", ())
    assert f"data set {dataset!r} is not loaded" in decision.note
    # Loaded a minute longer ago than the rule allows: stale; a minute within it: still good.
    sets = example_sets() | {dataset: example_sets(NOW - max_age - timedelta(minutes=1))[dataset]}
    decision = decide(rules, answers, sets, NOW)
    assert decision.outcome == "manual" and "stale" in decision.note
    sets = example_sets() | {dataset: example_sets(NOW - max_age + timedelta(minutes=1))[dataset]}
    assert decide(rules, answers, sets, NOW).outcome == "approved"


def test_every_shipped_decided_service_names_a_decision_its_answers_can_feed(tmp_path: Path) -> None:
    decided = [d for d in catalogue_for(tmp_path).ordered() if d.decision]
    assert [d.id for d in decided] == list(SHIPPED_DECIDED)
    for definition in decided:
        assert definition.decision is not None
        rules = decision_for(definition.decision)
        assert rules.id == definition.id
        fields = {f.id: f for f in definition.fields}
        assert fields[rules.identity_field].type == "id_number"
        assert {spec.key for spec in rules.lookups.values()} <= set(fields)
        assert {spec.set for spec in rules.lookups.values()} <= set(example_sets())


def test_the_vehicle_pass_keeps_its_own_signed_code(tmp_path: Path, capsys: Any) -> None:
    # Naming a decision changes nothing at the kiosk: the pass is stored and its code is the vehicle pass's.
    assert main(["services", "example", "vehicle-pass", "--data-dir", str(tmp_path)]) == 0
    (tmp_path / "answers.json").write_text(capsys.readouterr().out, "utf-8")
    submit = ["submit", "--service", "vehicle-pass", "--answers", str(tmp_path / "answers.json")]
    assert main([*submit, "--data-dir", str(tmp_path)]) == 0
    definition = catalogue_for(tmp_path).services["vehicle-pass"]
    assert definition.decision == "vehicle-pass.json"
    assert (definition.code.type, definition.code.valid_hours) == ("vehicle-pass", 24)


def test_the_risk_area_list_is_in_clear_and_matched_within_the_origin() -> None:
    areas = example_sets()["risk-areas"]
    text = (EXAMPLES / "risk-areas.example.json").read_text("utf-8")
    assert "深圳市罗湖区" in text  # a policy officer reads the list as published
    assert areas.lookup("深圳市 罗湖区") == {"level": "high", "since": "2026-12-03"}  # spaces do not count
    assert areas.lookup("广东省东莞市虎门镇") == {"level": "medium", "since": "2026-12-05"}
    assert areas.lookup("深圳市") is None  # a city holding a listed district is not itself listed
    assert areas.lookup("") is None
    # The longest listed name wins: a district listed as high inside a city listed as medium.
    raw = json.loads(text)
    raw["rows"]["东莞市虎门镇"] = {"level": "high", "since": "2026-12-07"}
    assert parse_reference_set(raw, b"", NOW, "x").lookup("东莞市虎门镇")["level"] == "high"  # type: ignore[index]
    # Full-width letters and digits are the same name as half-width ones.
    raw["rows"] = {"Ａ区": {"level": "high", "since": "2026-12-07"}}
    assert parse_reference_set(raw, b"", NOW, "x").lookup("某市A区") is not None
    raw["match"] = "exact"
    assert parse_reference_set(raw, b"", NOW, "x").lookup("某市A区") is None


def test_a_set_in_clear_may_not_hold_identifiers() -> None:
    raw = json.loads((EXAMPLES / "risk-areas.example.json").read_text("utf-8"))
    raw["rows"][GRADE_3] = {"level": "high", "since": "2026-12-07"}
    with pytest.raises(FileProblem, match="may not hold identifiers") as err:
        parse_reference_set(raw, b"", NOW, "bad.json")
    assert GRADE_3 not in str(err.value)
    raw = json.loads((EXAMPLES / "risk-areas.example.json").read_text("utf-8"))
    raw["rows"]["13800138000"] = {"level": "high", "since": "2026-12-07"}
    with pytest.raises(FileProblem, match="may not hold identifiers"):
        parse_reference_set(raw, b"", NOW, "bad.json")
    # A hashed set matches exactly, never "contains": a hash within a text means nothing.
    raw = json.loads((EXAMPLES / "vehicle-register-blocked.example.json").read_text("utf-8"))
    raw["match"] = "contains"
    with pytest.raises(FileProblem, match="exact"):
        parse_reference_set(raw, EXAMPLE_KEY, NOW, "bad.json")


def test_plates_are_keyed_hashes_and_id_number_hashes_are_unchanged() -> None:
    text = (EXAMPLES / "vehicle-register-blocked.example.json").read_text("utf-8")
    assert "88888" not in text and keyed_hash(EXAMPLE_KEY, "粤A88888") in text
    assert keyed_hash(EXAMPLE_KEY, "粤 a·88888") == keyed_hash(EXAMPLE_KEY, "粤A88888")
    # The elderly-allowance sets hashed before plates were looked up still find their people.
    household = example_sets()["household-extract"]
    assert household.lookup(GRADE_3) == {"status": "registered", "district": "440305"}


# A fourth decided service: 独生子女父母奖励扶助 (reward for parents of an only child), 60 or older and on the
# family-planning register. Only files: written here into a data folder, nothing imported for it.
FOURTH_SERVICE = {
    "id": "only-child-reward",
    "version": 1,
    "title": {"zh-CN": "独生子女父母奖励扶助申请", "en": "Only-child parents' reward"},
    "decision": "only-child-reward.json",
    "steps": [
        {
            "id": "person",
            "kind": "id_capture",
            "title": {"zh-CN": "申请人身份证", "en": "Applicant's ID card"},
            "fields": [
                {
                    "id": "name",
                    "type": "text",
                    "from_card": "name",
                    "personal": True,
                    "mask": "name",
                    "label": {"zh-CN": "姓名", "en": "Name"},
                },
                {
                    "id": "id_number",
                    "type": "id_number",
                    "from_card": "id_number",
                    "label": {"zh-CN": "身份证号", "en": "ID number"},
                },
            ],
        },
        {"id": "review", "kind": "review", "title": {"zh-CN": "核对信息", "en": "Check your answers"}},
    ],
    "code": {
        "type": "receipt",
        "claims": {"number": {"meta": "number"}, "service": {"meta": "title"}, "time": {"meta": "time"}},
    },
    "receipt": {"fields": ["name"], "instruction": {"zh-CN": "申请已受理。", "en": "Application received."}},
}
FOURTH_REFUSAL = {"zh-CN": "申请人未满60周岁或不在计生奖扶名册中", "en": "Under 60 or not on the register"}
FOURTH_DECISION = {
    "id": "only-child-reward",
    "version": 1,
    "identity_field": "id_number",
    "lookups": {"family": {"set": "family-planning-register", "key": "id_number", "max_age_hours": 720}},
    "graph": {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in"},
            {
                "id": "rule",
                "type": "expressionNode",
                "name": "rule",
                "content": {
                    "expressions": [
                        {
                            "id": "o",
                            "key": "outcome",
                            "value": 'person.age >= 60 and lookups.family != null ? "approved" : "rejected"',
                        },
                        {
                            "id": "r",
                            "key": "reasons",
                            "value": "person.age >= 60 and lookups.family != null ? [] : "
                            + json.dumps([FOURTH_REFUSAL], ensure_ascii=False),
                        },
                    ]
                },
            },
            {"id": "out", "type": "outputNode", "name": "out"},
        ],
        "edges": [
            {"id": "a", "sourceId": "in", "targetId": "rule", "type": "edge"},
            {"id": "b", "sourceId": "rule", "targetId": "out", "type": "edge"},
        ],
    },
}


def test_a_fourth_decided_service_needs_only_files(tmp_path: Path, capsys: Any) -> None:
    data_dir, decisions, sets = tmp_path / "data", tmp_path / "decisions", tmp_path / "sets"
    for folder in (data_dir / "services", decisions, sets):
        folder.mkdir(parents=True)
    (data_dir / "services" / "only-child-reward.json").write_text(json.dumps(FOURTH_SERVICE), "utf-8")
    (decisions / "only-child-reward.json").write_text(json.dumps(FOURTH_DECISION), "utf-8")
    key = b"the server's data-set key"
    register = build_reference_set(
        "family-planning-register", "2026-12-01.1", ("children",), {GRADE_3: {"children": 1}}, key
    )
    (sets / "family-planning-register.json").write_text(json.dumps(register), "utf-8")

    # The kiosk offers it beside the shipped services and takes its application.
    assert main(["services", "list", "--data-dir", str(data_dir)]) == 0
    assert "only-child-reward" in [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    definition = catalogue_for(data_dir).services["only-child-reward"]
    assert definition.decision is not None
    # It is decided by its decision file and its set, found where they were put.
    rules = decision_for(definition.decision, decisions)
    register_path = sets / "family-planning-register.json"
    loaded = {"family-planning-register": load_reference_set(register_path, key, NOW)}

    def decided(id_number: str) -> tuple[str, list[Any]]:
        answers = validate_answers(definition, {"name": "张三", "id_number": id_number}, NOW.date())
        decision = decide(rules, answers, loaded, NOW)
        assert decision.rule == "only-child-reward@1"
        return decision.outcome, list(decision.reasons)

    assert decided(GRADE_3) == ("approved", [])  # 85, on the register
    assert decided(DRIVER) == ("rejected", [FOURTH_REFUSAL])  # 38
    assert decided(NOBODY) == ("rejected", [FOURTH_REFUSAL])  # 80, not on the register
    # Without its set, the same applicant falls to a person.
    answers = validate_answers(definition, {"name": "张三", "id_number": GRADE_3}, NOW.date())
    assert decide(rules, answers, {}, NOW).outcome == "manual"
    # The shipped decisions folder was not touched.
    assert not (DECISIONS_DIR / "only-child-reward.json").exists()
