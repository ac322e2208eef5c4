"""The operations helper: a store lane that runs one thing at a time, an I/O lane that a slow export or
enrolment does not fill, and the run guard that drops what a replaced or given-up run reports."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject

from ui.operations import IO_THREADS, Lane, RunGuard, run_op


def test_a_submission_does_not_wait_behind_slow_io_nor_store_reads(qapp: Any, qtbot: Any) -> None:
    parent = QObject()
    release = threading.Event()
    stuck: list[bool] = []
    # An administrator's USB export and an enrolment, both stuck on their devices.
    for _ in range(IO_THREADS - 1):
        run_op(parent, lambda: release.wait(10), lane=Lane.IO, on_success=stuck.append)
    # And the store lane busy with a long read.
    run_op(parent, lambda: release.wait(10), lane=Lane.STORE, on_success=stuck.append)
    done: list[str] = []
    started = time.perf_counter()
    run_op(parent, lambda: "stored", lane=Lane.IO, on_success=done.append)
    try:
        qtbot.waitUntil(lambda: done == ["stored"], timeout=3000)
        assert time.perf_counter() - started < 3
    finally:
        release.set()
        # The parent must outlive what it waits for (as the window waits for the lanes when it closes).
        qtbot.waitUntil(lambda: len(stuck) == IO_THREADS, timeout=5000)


def test_the_store_lane_runs_one_operation_at_a_time_in_order(qapp: Any, qtbot: Any) -> None:
    parent = QObject()
    running = 0
    most = 0
    order: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return n

    for n in range(6):
        run_op(parent, lambda n=n: work(n), lane=Lane.STORE, on_success=order.append)
    qtbot.waitUntil(lambda: len(order) == 6, timeout=5000)
    assert most == 1 and order == list(range(6))


def test_the_run_guard_drops_what_a_replaced_or_closed_run_reports(qapp: Any, qtbot: Any) -> None:
    delivered: list[tuple[int, str]] = []
    stale: list[tuple[int, str]] = []
    guard = RunGuard(lambda run, p: delivered.append((run, p)), lambda run, p: stale.append((run, p)))
    first = guard.begin()
    second = guard.begin()  # exclusive: the first is replaced
    assert not guard.is_open(first) and guard.is_open(second)
    threading.Thread(target=lambda: (guard.report(first, "old"), guard.report(second, "new"))).start()
    qtbot.waitUntil(lambda: len(delivered) + len(stale) == 2, timeout=2000)
    assert delivered == [(second, "new")] and stale == [(first, "old")]

    a = guard.begin(exclusive=False)
    b = guard.begin(exclusive=False)
    assert guard.is_open(second) and guard.is_open(a) and guard.is_open(b)
    assert guard.close(a) and not guard.close(a)  # closed once only: a timeout and an outcome cannot both win
    guard.report(a, "late")
    guard.report(b, "on time")
    qtbot.waitUntil(lambda: (b, "on time") in delivered, timeout=2000)
    assert (a, "late") in stale
