"""ID-card chip reader: milliseconds from a card placed on the reader to its fields, and the share read whole.

    python -m bench.id_reader [--cards N] [--noise P] [--seed S] [--out FILE]

The real serial code (devices/id_reader.py, polling as the GUI does every ``POLL_S``) reads cards from the
simulated reader of ``tools/id_reader_sim.py`` on a pseudo-terminal. The simulator spends on every frame
the time its bytes take at 115200 baud, so the figure is the protocol's time, not the pty's. ``--noise``
garbles that share of the reader's answers (line noise on a long USB-serial cable): a read is "whole" when
the retries got every frame through and the chip's fields passed the card's checks.

Baseline, measured in the same run: the wire time alone of one find-select-read exchange at 115200 baud
(``READ_EXCHANGE_BYTES``), which no implementation can beat; the ratio says what polling and the host add.
Cards come from ``--seed``; seed 1 is the one the tests and development used, other seeds are held apart.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from devices.id_reader import (
    POLL_S,
    READ_EXCHANGE_BYTES,
    ReaderError,
    ReaderMonitor,
    SerialIdReader,
    wire_ms,
)
from kiosk.id_reader_spec import DEFAULT_BAUD
from kiosk.idcard.chip import ChipRefused, decode_text
from kiosk.idcard.data import ETHNICITIES, provinces
from kiosk.idcard.rules import add_years, age_on, allowed_span
from kiosk.idnumber import check_digit
from tools.id_reader_sim import ReaderSimulator, text_block

TODAY = date(2026, 12, 7)
SURNAMES = "王李张刘陈杨黄赵吴周厍禤䶮欧阳司马"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英䶮"


def random_card(rng: random.Random) -> dict[str, str]:
    prefix = rng.choice(sorted(provinces()))
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
    issued = born + timedelta(days=rng.randrange(365 * 16, (TODAY - born).days))
    span = allowed_span(age_on(born, issued))
    sex = rng.choice("男女")
    seq = f"{rng.randrange(100):02d}{rng.choice('13579' if sex == '男' else '02468')}"
    first17 = f"{prefix}0102{born:%Y%m%d}{seq}"
    return {
        "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
        "sex": sex,
        "ethnicity": rng.choice(ETHNICITIES),
        "birth_date": born.isoformat(),
        "address": provinces()[prefix] + "某市某区人民路" + str(rng.randint(1, 999)) + "号",
        "id_number": first17 + check_digit(first17),
        "authority": "某市公安局某分局",
        "valid_from": issued.isoformat(),
        "valid_until": "长期" if span is None else add_years(issued, span).isoformat(),
    }


def run(cards: int, noise: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    sim = ReaderSimulator(baud=DEFAULT_BAUD)
    monitor = ReaderMonitor("serial", lambda _spec: SerialIdReader(sim.device, DEFAULT_BAUD))
    latencies, whole = [], 0
    try:
        for _ in range(cards):
            card = random_card(rng)
            sim.garble = 0
            placed = time.perf_counter()
            sim.card = text_block(card)
            # The card lands somewhere within a polling period: the next poll is up to POLL_S away.
            time.sleep(rng.uniform(0, POLL_S))
            got = None
            while got is None and time.perf_counter() - placed < 5:
                # Noise hits each answer independently: decided afresh before every poll's exchange.
                sim.garble = sum(rng.random() < noise for _ in range(3))
                try:
                    read = monitor.poll()
                    if read is not None:
                        got = decode_text(read.text, TODAY).fields
                except (ReaderError, ChipRefused):
                    break  # not read whole; the person would place it again or use the camera
                if got is None:
                    time.sleep(POLL_S)
            if got == card:
                whole += 1
                latencies.append((time.perf_counter() - placed) * 1000)
            sim.card = None
            sim.garble = 0
            monitor.poll()  # the card is taken away
    finally:
        monitor.close()
        sim.close()
    return {
        "cards": cards,
        "whole": whole / cards,
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "p90_ms": statistics.quantiles(latencies, n=10)[-1] if len(latencies) > 1 else float("nan"),
        "wire_ms": wire_ms(READ_EXCHANGE_BYTES),
    }


def direct_read_ms(repeat: int) -> float:
    """One find-select-read with the card already there (no polling wait), median."""
    sim = ReaderSimulator(text_block(random_card(random.Random(0))), baud=DEFAULT_BAUD)
    reader = SerialIdReader(sim.device)
    try:
        return statistics.median(reader.read_card().ms for _ in range(repeat))
    finally:
        reader.close()
        sim.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=40)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    clean = run(args.cards, 0.0, args.seed)
    noisy = run(args.cards, args.noise, args.seed)
    direct = direct_read_ms(10)
    wire = clean["wire_ms"]
    lines = [
        f"`python -m bench.id_reader --cards {args.cards} --noise {args.noise} --seed {args.seed}`",
        "",
        "| case | cards | read whole | median ms placed→fields | p90 ms | × wire time |",
        "|---|---|---|---|---|---|",
        f"| clean line | {clean['cards']} | {clean['whole']:.0%} | {clean['median_ms']:.0f} |"
        f" {clean['p90_ms']:.0f} | {clean['median_ms'] / wire:.1f} |",
        f"| {args.noise:.0%} of answers garbled | {noisy['cards']} | {noisy['whole']:.0%} |"
        f" {noisy['median_ms']:.0f} | {noisy['p90_ms']:.0f} | {noisy['median_ms'] / wire:.1f} |",
        f"| one read, card already there | 10 | | {direct:.0f} | | {direct / wire:.2f} |",
        "",
        f"Baseline: {READ_EXCHANGE_BYTES} bytes on the wire = {wire:.0f} ms at {DEFAULT_BAUD} baud;"
        f" polling every {POLL_S * 1000:.0f} ms.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
