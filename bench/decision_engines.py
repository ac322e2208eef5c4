"""Rules-library candidates for 智慧批 decisions: GoRules zen-engine (JSON decision graphs) against cel-python
(Common Expression Language), on the same rule, the shipped elderly-allowance decision.

    python -m bench.decision_engines            # 2,000 evaluations a candidate, 7 rounds
    python -m bench.decision_engines --short    # 200 evaluations, 3 rounds

Per candidate: the median time of one evaluation (µs, median of the rounds' means), and what happens with a
runaway rule (a map over three million numbers): how long until the caller has an answer when it waits at most
0.2 s. Both run in this one process, one after the other, so the ratio holds on a loaded machine even when the
absolute times do not. cel-python is measured only (``pip install -e '.[bench]'``); the app uses zen-engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kiosk.decisions.datasets import build_reference_set, parse_reference_set
from kiosk.decisions.rules import DECISIONS_DIR, decide, load_decision

KEY = b"bench-key-not-a-secret-0123456789"
NOW = datetime(2026, 12, 7, 9, 0)
APPLICANT = "440305194103120020"  # born 1941: 85 at NOW, registered, not receiving
RUNAWAY_BOUND_S = 0.2

# The same four refusals as assets/decisions/elderly-allowance.json, as one CEL expression.
CEL_RULE = """
(person.age < 80 ? [{"zh-CN": "申请人未满80周岁", "en": "The applicant is under 80 years of age"}] : [])
+ (lookups.household == null ? [{"zh-CN": "本市户籍登记中没有申请人",
                                 "en": "The applicant is not in the city's household register"}] : [])
+ (lookups.household != null && lookups.household.status != "registered"
   ? [{"zh-CN": "申请人户籍已不在本市（迁出或注销）",
       "en": "The applicant's household registration is no longer in the city"}] : [])
+ (lookups.allowance != null ? [{"zh-CN": "申请人已在领取高龄老人津贴",
                                 "en": "The applicant already receives the elderly allowance"}] : [])
"""
CEL_RUNAWAY = "big.map(x, big.map(y, x * y)).size()"
ZEN_RUNAWAY = "sum(map([0..3000000], # * 2))"


def _context() -> dict[str, Any]:
    return {
        "answers": {"id_number": APPLICANT, "phone": "13800138000"},
        "person": {"age": 85, "region": "440305", "sex": "F"},
        "lookups": {"household": {"status": "registered"}, "allowance": None},
        "date": NOW.date().isoformat(),
    }


def _per_call_us(call: Callable[[], Any], count: int, rounds: int) -> float:
    call()  # compile caches, first-call costs
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            call()
        means.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(means)


def _zen_candidates(count: int, rounds: int) -> dict[str, float]:
    rules = load_decision(DECISIONS_DIR / "elderly-allowance.json")
    context = _context()
    sets = {
        "household-extract": parse_reference_set(
            build_reference_set(
                "household-extract", "b1", ("status",), {APPLICANT: {"status": "registered"}}, KEY
            ),
            KEY,
            NOW - timedelta(hours=1),
            "bench",
        ),
        "elderly-allowance-register": parse_reference_set(
            build_reference_set("elderly-allowance-register", "b1", ("since",), {}, KEY),
            KEY,
            NOW - timedelta(hours=1),
            "bench",
        ),
    }
    answers = {"id_number": APPLICANT, "phone": "13800138000"}
    assert rules.compiled.evaluate(context)["result"]["outcome"] == "approved"
    assert decide(rules, answers, sets, NOW).outcome == "approved"
    return {
        "zen-engine: graph only (sync evaluate)": _per_call_us(
            lambda: rules.compiled.evaluate(context), count, rounds
        ),
        "zen-engine: kiosk.decisions.decide (identity, 2 lookups, time bound)": _per_call_us(
            lambda: decide(rules, answers, sets, NOW), count, rounds
        ),
    }


def _cel_candidate(count: int, rounds: int) -> dict[str, float]:
    import celpy

    env = celpy.Environment()
    program = env.program(env.compile(CEL_RULE))
    activation = celpy.json_to_cel(_context())
    assert len(program.evaluate(activation)) == 0
    return {"cel-python: expression only": _per_call_us(lambda: program.evaluate(activation), count, rounds)}


def _zen_runaway() -> float:
    import zen

    graph = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {
                "id": "x",
                "type": "expressionNode",
                "name": "x",
                "content": {"expressions": [{"id": "a", "key": "v", "value": ZEN_RUNAWAY}]},
            },
            {"id": "o", "type": "outputNode", "name": "o"},
        ],
        "edges": [
            {"id": "1", "sourceId": "i", "targetId": "x"},
            {"id": "2", "sourceId": "x", "targetId": "o"},
        ],
    }
    compiled = zen.ZenEngine().create_decision(json.dumps(graph))

    async def bounded() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(compiled.async_evaluate({}), RUNAWAY_BOUND_S)

    start = time.perf_counter()
    asyncio.run(bounded())
    return time.perf_counter() - start


def _cel_runaway() -> tuple[float, float]:
    import celpy

    env = celpy.Environment()
    program = env.program(env.compile(CEL_RUNAWAY))
    activation = celpy.json_to_cel({"big": list(range(100))})
    # cel-python evaluates in Python: the caller's wait ends on time (threads take turns at the GIL), but the
    # rule cannot be stopped and keeps the interpreter busy until it ends.
    done = threading.Event()
    start = time.perf_counter()
    worker = threading.Thread(target=lambda: (program.evaluate(activation), done.set()), daemon=True)
    worker.start()
    done.wait(RUNAWAY_BOUND_S)
    waited = time.perf_counter() - start
    worker.join()
    return waited, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="200 evaluations, 3 rounds")
    args = parser.parse_args(argv)
    count, rounds = (200, 3) if args.short else (2000, 7)
    figures = _zen_candidates(count, rounds) | _cel_candidate(count, rounds)
    base = figures["zen-engine: graph only (sync evaluate)"]
    print(f"| candidate | µs per evaluation (median of {rounds} rounds × {count}) | × zen graph |")
    print("|---|---:|---:|")
    for name, us in figures.items():
        print(f"| {name} | {us:.0f} | {us / base:.1f} |")
    print()
    bound = f"runaway rule, caller waits ≤ {RUNAWAY_BOUND_S} s"
    print(f"| {bound} | s until the caller has an answer | s the rule ran |")
    print("|---|---:|---:|")
    print(f"| zen-engine `{ZEN_RUNAWAY}` (async evaluate, wait_for) | {_zen_runaway():.2f} | not stopped |")
    waited, ran = _cel_runaway()
    print(f"| cel-python `{CEL_RUNAWAY}`, 100 items (thread, Event.wait) | {waited:.2f} | {ran:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
