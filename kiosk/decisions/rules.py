"""Deciding one submission by a decision file: approved, rejected (with reasons in zh-CN and en) or manual.

A decision file (``assets/decisions/*.json``, schema ``decision.schema.json``) names the answer holding the
applicant's ID number, the reference data sets it looks the applicant up in (each with how old a loaded copy
may be), and a GoRules decision graph (JDM, the JSON the GoRules editor reads and writes) that a policy
officer edits as tables. The graph sees::

    answers   the submission's answers
    person    {age (whole years at the decision date), region (first six digits), sex ("M"/"F")}
    lookups   {name: the row found for the applicant in that data set, or null}
    date      the decision date, ISO

and must return ``{"outcome": "approved"}``, ``{"outcome": "rejected", "reasons": [{"zh-CN", "en"}, …]}`` or
``{"outcome": "manual"}``. Everything that is not clearly one of those — a data set missing or older than the
rule allows, an ID number that does not parse, a graph that raises or runs past the time bound, any other
result — decides ``manual``: a person looks at it. Nothing here ever approves by default.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from kiosk.decisions.datasets import DataSet
from kiosk.fileio import FileProblem, read_json
from kiosk.idnumber import IdNumberError, parse_id_number
from kiosk.paths import ASSETS_DIR

log = logging.getLogger(__name__)
_loops = threading.local()

DECISIONS_DIR = ASSETS_DIR / "decisions"
DECISION_SCHEMA_PATH = DECISIONS_DIR / "decision.schema.json"
# Long enough for a table of hundreds of rows on a loaded two-core machine (one takes well under 1 ms);
# short enough that the kiosk's ≤ 2 s wait for a decision is not spent on one runaway rule.
DEFAULT_TIME_BOUND_S = 0.5
# Function nodes run JavaScript and custom nodes call back into host code: a decision file is data, so only
# the nodes whose content is tables and expressions (no loops beyond the data they are given) are accepted.
ALLOWED_NODES = frozenset({"inputNode", "outputNode", "decisionTableNode", "expressionNode", "switchNode"})

Outcome = Literal["approved", "rejected", "manual"]


class DecisionFileError(ValueError):
    """A decision file that cannot be used; the message names the file and the place in it."""


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Mapping[str, str], ...]  # each {"zh-CN": …, "en": …}; only for rejected
    rule: str  # "id@version" of the decision file that produced it
    datasets: Mapping[str, str]  # set name → version, of the sets it looked in
    # Why it fell to a person, for the audit row and the log; never holds answers or identifiers.
    note: str = ""


@dataclass(frozen=True)
class Lookup:
    set: str
    key: str  # the answer holding the identifier to look up
    max_age: timedelta


@dataclass(frozen=True)
class DecisionRules:
    id: str
    version: int
    identity_field: str
    lookups: Mapping[str, Lookup]
    graph: Mapping[str, Any] = field(repr=False)
    source: str = ""
    compiled: Any = field(default=None, repr=False, compare=False)  # the engine's compiled graph

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(DECISION_SCHEMA_PATH.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def parse_decision(raw: Any, source: str) -> DecisionRules:
    import jsonschema

    errors = list(_validator().iter_errors(raw))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = ".".join(map(str, err.absolute_path))
        raise DecisionFileError(f"{source}: {where}: {err.message}" if where else f"{source}: {err.message}")
    for i, node in enumerate(raw["graph"]["nodes"]):
        if node["type"] not in ALLOWED_NODES:
            raise DecisionFileError(
                f"{source}: graph.nodes[{i}].type: {node['type']!r} is not allowed in a decision file"
                f" (allowed: {', '.join(sorted(ALLOWED_NODES))})"
            )
    try:
        compiled = _compile(raw["graph"])
        compiled.validate()
    except Exception as err:  # zen raises its own RuntimeError-like errors with a JSON message
        raise DecisionFileError(f"{source}: graph: {err}") from None
    lookups = {
        name: Lookup(spec["set"], spec["key"], timedelta(hours=spec["max_age_hours"]))
        for name, spec in raw.get("lookups", {}).items()
    }
    return DecisionRules(
        raw["id"], raw["version"], raw["identity_field"], lookups, raw["graph"], source, compiled
    )


def load_decision(path: Path) -> DecisionRules:
    try:
        raw = read_json(path)
    except (OSError, ValueError, FileProblem) as err:
        raise DecisionFileError(f"{path.name}: cannot be read: {err}") from None
    return parse_decision(raw, path.name)


def decision_for(name: str, folder: Path = DECISIONS_DIR) -> DecisionRules:
    """The decision file a service definition names (``decision: FILE``), from the decisions folder."""
    return load_decision(folder / name)


def _compile(graph: Mapping[str, Any]) -> Any:
    import zen

    return zen.ZenEngine().create_decision(json.dumps(graph))


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _reasons(value: Any) -> tuple[Mapping[str, str], ...] | None:
    if not isinstance(value, list) or not value:
        return None
    out: list[Mapping[str, str]] = []
    for reason in value:
        if not isinstance(reason, Mapping):
            return None
        zh, en = reason.get("zh-CN"), reason.get("en")
        if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
            return None
        out.append({"zh-CN": zh, "en": en})
    return tuple(out)


def _read_result(result: Any) -> tuple[Outcome, tuple[Mapping[str, str], ...]] | str:
    """The outcome and reasons, or why the result is not a decision."""
    if not isinstance(result, Mapping):
        return "the rule returned no object"
    outcome = result.get("outcome")
    if outcome == "approved" and not result.get("reasons"):
        return "approved", ()
    if outcome == "rejected":
        reasons = _reasons(result.get("reasons"))
        return ("rejected", reasons) if reasons else "rejected without reasons in zh-CN and en"
    if outcome == "manual":
        return "manual", ()
    return f"the rule returned outcome {str(outcome)[:40]!r}"


async def decide_async(
    rules: DecisionRules,
    answers: Mapping[str, Any],
    datasets: Mapping[str, DataSet],
    now: datetime,
    time_bound_s: float = DEFAULT_TIME_BOUND_S,
) -> Decision:
    """Decide one submission. ``now`` is the decision time: ages are counted to its date, data sets must
    have been loaded within each lookup's ``max_age_hours`` before it."""
    used: dict[str, str] = {}

    def manual(note: str) -> Decision:
        log.warning("decision %s fell to a person: %s", rules.label, note)
        return Decision("manual", (), rules.label, dict(used), note)

    try:
        person = parse_id_number(str(answers.get(rules.identity_field, "")), now.date())
    except IdNumberError as err:
        return manual(f"identity field {rules.identity_field!r}: {err}")
    found: dict[str, Any] = {}
    for name, spec in rules.lookups.items():
        dataset = datasets.get(spec.set)
        if dataset is None:
            return manual(f"data set {spec.set!r} is not loaded")
        used[spec.set] = dataset.version
        if now - dataset.loaded_at > spec.max_age:
            return manual(
                f"data set {spec.set!r} version {dataset.version} is stale (loaded {dataset.loaded_at})"
            )
        try:
            row = dataset.lookup(str(answers.get(spec.key, "")))
        except Exception as err:  # a set that cannot answer must not decide in either direction
            return manual(f"lookup in data set {spec.set!r} failed: {type(err).__name__}")
        found[name] = dict(row) if row is not None else None
    context = {
        "answers": json.loads(json.dumps(dict(answers), default=str)),
        "person": {
            "age": _age(person.birth_date, now.date()),
            "region": person.region,
            "sex": person.sex,
        },
        "lookups": found,
        "date": now.date().isoformat(),
    }
    compiled = rules.compiled if rules.compiled is not None else _compile(rules.graph)
    try:
        # The async evaluation runs on the engine's own threads and gives the interpreter back, so the bound
        # holds even for a rule that loops over a huge range; the sync one would hold the GIL until it ends.
        response = await asyncio.wait_for(compiled.async_evaluate(context), time_bound_s)
    except TimeoutError:
        return manual(f"the rule ran longer than {time_bound_s} s")
    except Exception as err:
        return manual(
            f"the rule raised: {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}"
        )
    read = _read_result(response.get("result") if isinstance(response, Mapping) else None)
    if isinstance(read, str):
        return manual(read)
    outcome, reasons = read
    return Decision(
        outcome, reasons, rules.label, dict(used), "" if outcome != "manual" else "the rule said so"
    )


def decide(
    rules: DecisionRules,
    answers: Mapping[str, Any],
    datasets: Mapping[str, DataSet],
    now: datetime,
    time_bound_s: float = DEFAULT_TIME_BOUND_S,
) -> Decision:
    """:func:`decide_async` for callers without an event loop (the kiosk's worker threads, the CLI)."""
    # One loop per thread, kept: making a new one for every decision (asyncio.run) costs more than the rule.
    loop = getattr(_loops, "loop", None)
    if loop is None:
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(decide_async(rules, answers, datasets, now, time_bound_s))
