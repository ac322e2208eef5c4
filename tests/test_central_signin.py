"""Guessing and flooding the managers' sign-in and the enrolment codes: forwarded headers are trusted only
from configured proxies, failures slow down guessing per address and per account without locking the real
manager out, and password checks never hold up the kiosks' uploads."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from itertools import pairwise
from pathlib import Path

import pytest
import requests
from central_helpers import BACKENDS, LiveServer, backend_database, running_server, submission

from central.cli import main as central_main
from central.dashboard import DashboardSettings
from central.signin import AccountThrottle, DeviceCookies
from kiosk.central_client import HttpCentral
from protocol.sealing import b64e
from tools.central_process import ServerProcess

MANAGER, PASSWORD = "zhang.wei", "correct horse battery"


def add_manager(database_url: str, name: str = MANAGER, password: str = PASSWORD) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(password + "\n"))
        assert central_main(["manager-add", name, "--password-stdin", "--database", database_url]) == 0


def sign_in(
    url: str, name: str, password: str, address: str | None = None, timeout: float = 60
) -> requests.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return requests.get(url + "/dashboard", auth=(name, password), headers=headers, timeout=timeout)


def at_once(attempt: Callable[[int], requests.Response], count: int) -> list[int]:
    """``count`` attempts sent together, so that the limit's refill during the test does not matter."""
    with ThreadPoolExecutor(count) as pool:
        return [response.status_code for response in pool.map(attempt, range(count))]


@contextmanager
def served(tmp_path: Path, *options: str) -> Iterator[ServerProcess]:
    """`kiosk-central serve` as deployed, with its own defaults for what the proxy headers are worth."""
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'central.sqlite3'}", tmp_path / "keys", options=list(options)
    )
    server.start()
    try:
        yield server
    finally:
        server.kill()


def test_forwarded_headers_are_not_trusted_unless_configured(tmp_path: Path) -> None:
    with served(tmp_path) as server:
        add_manager(server.database_url)
        # A new X-Forwarded-For on every guess: the limiter must still see one client (the real address).
        answers = at_once(lambda i: sign_in(server.url, f"user{i}", "wrong", f"203.0.113.{i}"), 30)
        assert 429 in answers and set(answers) == {401, 429}


def test_forwarded_headers_from_a_configured_proxy_name_the_client(tmp_path: Path) -> None:
    with served(tmp_path, "--forwarded-allow-ips", "127.0.0.1") as server:
        add_manager(server.database_url)
        # Many clients behind the proxy: each has its own allowance (names differ, so no account slows down).
        answers = at_once(lambda i: sign_in(server.url, f"user{i}", "wrong", f"203.0.113.{i}"), 30)
        assert set(answers) == {401}
        # One client behind the proxy guessing: it alone is limited.
        answers = at_once(lambda i: sign_in(server.url, f"x{i}", "wrong", "198.51.100.7"), 30)
        assert 429 in answers
        assert sign_in(server.url, MANAGER, PASSWORD, "198.51.100.8").status_code == 200


def test_enrolment_code_guesses_are_limited(tmp_path: Path) -> None:
    with served(tmp_path) as server:
        answers = []
        for i in range(14):
            body = {"code": "AAAA-BBBB-CCCC-DDDD", "public_key": b64e(bytes(32)), "name": "x", "version": "1"}
            headers = {"X-Forwarded-For": f"203.0.113.{i}"}
            answers.append(requests.post(server.url + "/v1/enrol", json=body, headers=headers).status_code)
        assert 429 in answers and set(answers) == {403, 429}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    # Loopback is the configured proxy here, so a test can play clients at many addresses.
    settings = DashboardSettings(account_delay=(0.5, 2.0))
    with running_server(tmp_path, dashboard=settings, trusted_proxies=("127.0.0.1",)) as server:
        add_manager(server.database_url)
        yield server


def test_failures_on_one_account_slow_down_guessing_from_anywhere(slow_to_forgive: LiveServer) -> None:
    live = slow_to_forgive
    answers = [sign_in(live.url, MANAGER, f"guess {i}", f"203.0.113.{i}") for i in range(8)]
    # Five free failures, then each further guess waits for the account's delay, whatever its address.
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    assert all(50 <= int(a.headers["Retry-After"]) <= 60 for a in answers[5:])
    # Another account is not slowed down by them.
    assert sign_in(live.url, "li.na", "wrong", "203.0.113.200").status_code == 401


def test_the_account_delay_doubles_up_to_a_cap_and_is_forgotten() -> None:
    now = [1000.0]
    throttle = AccountThrottle(free_failures=2, base_delay_s=1.0, max_delay_s=8.0, clock=lambda: now[0])
    waits = []
    for _ in range(7):
        waits.append(throttle.wait("boss"))
        now[0] += waits[-1]
        throttle.record("boss", ok=False)
    assert waits == [0, 0, 1, 2, 4, 8, 8]
    assert throttle.wait("boss") == 8 and throttle.wait("other") == 0
    throttle.record("boss", ok=True)
    assert throttle.wait("boss") == 0
    for _ in range(5):
        throttle.record("boss", ok=False)
    now[0] += throttle.forget_after_s + 1
    assert throttle.wait("boss") == 0


def test_a_device_cookie_names_one_account_until_it_expires() -> None:
    now = [1_000_000.0]
    cookies = DeviceCookies(b"k" * 32, lifetime_s=60, clock=lambda: now[0])
    issued = cookies.issue("zhang.wei")
    assert cookies.account(issued) == "zhang.wei"
    name, expires, mac = issued.rsplit(".", 2)
    assert cookies.account(f"li.na.{expires}.{mac}") is None  # another account under the same mac
    assert cookies.account(f"{name}.{int(expires) + 999}.{mac}") is None  # lifetime stretched
    assert DeviceCookies(b"x" * 32, clock=lambda: now[0]).account(issued) is None  # another server's key
    assert cookies.account("garbage") is None and cookies.account(None) is None
    now[0] += 61
    assert cookies.account(issued) is None


def test_the_delay_is_no_lock(live: LiveServer) -> None:
    for i in range(50):
        if sign_in(live.url, MANAGER, f"guess {i}", f"203.0.113.{i}").status_code == 429:
            break
    # The delay is on (at least half a second here): the right password waits too...
    assert sign_in(live.url, MANAGER, PASSWORD, "198.51.100.1").status_code == 429
    time.sleep(2.2)  # the longest delay configured for the test
    assert sign_in(live.url, MANAGER, PASSWORD, "198.51.100.1").status_code == 200


@pytest.fixture
def slow_to_forgive(tmp_path: Path) -> Iterator[LiveServer]:
    # A delay longer than the test, so that whatever the test's pace, guessing has the account waiting.
    settings = DashboardSettings(account_delay=(60.0, 120.0))
    with running_server(tmp_path, dashboard=settings, trusted_proxies=("127.0.0.1",)) as server:
        add_manager(server.database_url)
        yield server


def test_a_manager_who_signed_in_before_is_not_locked_out_by_guessing(slow_to_forgive: LiveServer) -> None:
    live = slow_to_forgive
    browser = requests.Session()
    first = browser.get(
        live.url + "/dashboard", auth=(MANAGER, PASSWORD), headers={"X-Forwarded-For": "10.0.0.5"}
    )
    assert first.status_code == 200
    # Guessing from the manager's own address (one office behind one NAT) and from elsewhere.
    for i in range(30):
        sign_in(live.url, MANAGER, f"guess {i}", "10.0.0.5" if i % 2 else f"203.0.113.{i}")
    assert sign_in(live.url, MANAGER, PASSWORD, "10.0.0.5").status_code == 429
    again = browser.get(
        live.url + "/dashboard", auth=(MANAGER, PASSWORD), headers={"X-Forwarded-For": "10.0.0.5"}
    )
    assert again.status_code == 200
    # The cookie is worth something only with the password, and only for its own account.
    stolen = requests.Session()
    stolen.cookies.update(browser.cookies)
    assert (
        stolen.get(
            live.url + "/dashboard", auth=(MANAGER, "guess"), headers={"X-Forwarded-For": "10.0.0.5"}
        ).status_code
        == 401
    )
    forged = requests.Session()
    forged.cookies.set(next(iter(browser.cookies)).name, f"{MANAGER}.9999999999.{'0' * 64}")
    assert (
        forged.get(
            live.url + "/dashboard", auth=(MANAGER, PASSWORD), headers={"X-Forwarded-For": "10.0.0.5"}
        ).status_code
        == 429
    )


@pytest.fixture(params=BACKENDS)
def slow_hash_server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    import central.managers

    real = central.managers._scrypt

    def slow(*args: object, **kwargs: object) -> bytes:
        time.sleep(1.0)  # like scrypt, a wait that lets other threads run
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(central.managers, "_scrypt", slow)
    settings = DashboardSettings(login_rate=(1000.0, 1000.0))
    with (
        backend_database(request.param, tmp_path) as database_url,
        running_server(tmp_path, database_url, device_rate=(1000.0, 1000.0), dashboard=settings) as server,
    ):
        yield server


def test_a_sign_in_flood_does_not_hold_up_uploads(slow_hash_server: LiveServer, tmp_path: Path) -> None:
    server = slow_hash_server
    client = HttpCentral(*server.enrol(tmp_path / "kiosk"))
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            with suppress(requests.RequestException):
                sign_in(server.url, f"u{uuid.uuid4().hex[:8]}", "wrong", timeout=5)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(32)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # every flood thread is waiting on a password check by now
    try:
        took = []
        for _ in range(5):
            item = submission()
            started = time.monotonic()
            assert client.upload("submission", [item])[item["id"]] == ("accepted", None)
            took.append(time.monotonic() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    # Each password check takes a second here: an upload that waited behind one would show it.
    assert sorted(took)[2] < 0.5, took


def test_password_checks_are_paced_and_a_known_browser_skips_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import central.signin as signin

    started: list[tuple[str, float]] = []

    def fake_verify(_stored: str | None, password: str) -> bool:
        started.append((password, time.monotonic()))
        if password != "right":
            time.sleep(0.2)  # a check takes time; the known browser's is quick so that its wait shows
        return password == "right"

    monkeypatch.setattr(signin, "_verify", fake_verify)

    async def scenario() -> float:
        checker = signin.PasswordChecker(max_waiting=3, min_interval_s=0.3, busy_pause_s=0)
        queued = [asyncio.create_task(checker.check(None, f"guess {i}")) for i in range(3)]
        await asyncio.sleep(0.05)  # one being checked, two waiting their turn
        with pytest.raises(signin.SignInBusy):
            await checker.check(None, "one too many")
        begun = time.monotonic()
        assert await checker.check("hash", "right", known=True)
        known_took = time.monotonic() - begun
        assert await asyncio.gather(*queued) == [False, False, False]
        checker.close()
        return known_took

    known_took = asyncio.run(scenario())
    paced = [at for password, at in started if password.startswith("guess")]
    assert len(paced) == 3 and all(b - a >= 0.29 for a, b in pairwise(paced))
    assert known_took < 0.3  # not behind the two guesses still waiting
