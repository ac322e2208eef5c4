"""The sync engine: one pass (:meth:`SyncEngine.run_once`) and a background loop (:class:`SyncLoop`).

A pass refreshes the bundle, uploads the outbox in batches of one kind, and sends a heartbeat. Items are
marked only from the server's answer for them; an upload that fails in any way leaves them queued, and the
server's idempotency (by item UUID) makes sending them again harmless. The network is only ever used
outside the store's lock, so the GUI never waits for it. No Qt here: the GUI wraps the loop's status
callback in its own worker helper.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kiosk.bundle import BundleError, BundleStore
from kiosk.central_client import (
    BatchAnswers,
    CentralApi,
    CentralError,
    Refused,
    ServerFailed,
    TooLarge,
    Unauthorised,
    Unavailable,
)
from kiosk.decisions.outcomes import DecisionBook, KnownDecision
from kiosk.outbox import Outbox, OutboxItem
from protocol.decisions import MAX_QUERY_IDS
from protocol.items import ITEM_STATUSES, Answer, ItemStatus, ProtocolError

if TYPE_CHECKING:
    from kiosk.core import KioskCore

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
# Requests a pass may see fail with a server error before the server took anything: past this the server is
# taken to be down (not one bad item), and the pass ends. Enough to halve a batch of 500 down to one item.
ISOLATION_BUDGET = 16
# Times an item must fail alone, while the server takes the others, before it is quarantined: a server
# error that merely happened to fall on a lone item (a restart, a proxy) must not set a good item aside.
LONE_TRIES = 3
# Submissions a pass asks the server about, at most (in requests of MAX_QUERY_IDS): a kiosk with thousands
# waiting for a person asks about them in turns, a few requests a pass, never all at once.
DECISIONS_PER_PASS = 1000
# How often the done page's wait asks again when the upload's answer held no decision yet.
DECISION_POLL_S = 0.25


@dataclass(frozen=True)
class SyncStatus:
    """What the top bar shows: online, items waiting, items the server refused."""

    online: bool
    pending: int
    quarantined: int
    last_success_at: datetime | None = None
    error: str | None = None
    retry_after: float | None = None
    enrolled: bool = True


@dataclass
class PassResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    # Items the server failed on alone before it had taken anything in this pass: left for the next one.
    deferred: int = 0
    bundle_updated: bool = False
    decided: int = 0  # submissions whose decision became known (or changed) in this pass
    bundle_error: str | None = None

    def count(self, status: ItemStatus) -> None:
        if status == "accepted":
            self.accepted += 1
        elif status == "duplicate":
            self.duplicate += 1
        else:
            self.rejected += 1


@dataclass
class _Drain:
    """One pass's delivery: what it learnt about the server, and the items it set aside."""

    result: PassResult
    server_works: bool = False  # the server took an upload in this pass, so a lone failure is the item's
    server_failures: int = 0
    set_aside: dict[int, OutboxItem] = field(default_factory=dict)  # by sequence number
    lone_failures: dict[int, int] = field(default_factory=dict)  # by sequence number


def backoff_delay(
    failures: int,
    base: float = 1.0,
    cap: float = 300.0,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with jitter (half fixed, half random, so kiosks that lost the link together do
    not come back together), never sooner than the server's Retry-After."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    delay = ceiling / 2 + rng() * ceiling / 2
    return max(delay, retry_after or 0.0)


class SyncEngine:
    def __init__(
        self,
        outbox: Outbox,
        client: CentralApi,
        bundles: BundleStore | None = None,
        batch_size: int = DEFAULT_BATCH,
        version: str = "0",
        on_bundle: Callable[[dict[str, Any], bool], object] | None = None,
        before_pass: Callable[[], object] | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        decisions: DecisionBook | None = None,
    ) -> None:
        """``on_bundle(bundle, changed)`` is called after each pass's bundle check with the good bundle in
        force: ``changed`` when a new one was just kept, not when the server said the kept one is current.
        ``before_pass()`` runs at the start of every pass, before anything is sent (``open_sync`` re-seals
        personal data stored before enrolment there, so a crash between enrolling and re-sealing heals).
        ``decisions``: where the decisions of submissions go, and which ones each pass asks about."""
        self.outbox = outbox
        self.client = client
        self.bundles = bundles
        self.batch_size = batch_size
        self.version = version
        self.on_bundle = on_bundle
        self.before_pass = before_pass
        # The heartbeat's ``health`` object (printer, trust-store age, problems…), read at each heartbeat.
        self.health = health
        self.decisions = decisions
        self.last_success_at: datetime | None = None

    def status(self, online: bool, error: str | None = None, retry_after: float | None = None) -> SyncStatus:
        counts = self.outbox.counts()
        return SyncStatus(
            online, counts.pending, counts.quarantined, self.last_success_at, error, retry_after
        )

    def run_once(self) -> tuple[SyncStatus, PassResult]:
        """One pass. Never raises for server or network trouble: that is in the status it returns."""
        result = PassResult()
        if self.before_pass is not None:
            self.before_pass()
        try:
            self._refresh_bundle(result)
            self._drain(result)
            self._ask_decisions(result)
            counts = self.outbox.counts()
            beat: dict[str, Any] = {
                "version": self.version,
                "queue_depth": counts.pending,
                "quarantined": counts.quarantined,
            }
            if self.health is not None:
                beat["health"] = self._health()
            self.client.heartbeat(beat)
        except Unavailable as err:
            log.info("sync: central unavailable: %s", err)
            return self.status(False, str(err), err.retry_after), result
        except CentralError as err:
            log.warning("sync: %s", err)
            return self.status(False, str(err)), result
        self.last_success_at = datetime.now(UTC)
        return self.status(True, result.bundle_error), result

    def _health(self) -> dict[str, Any]:
        assert self.health is not None
        try:
            return self.health()
        except Exception:  # a broken health probe must not stop the outbox from being delivered
            log.exception("sync: health report failed; heartbeat sent without it")
            return {}

    def _refresh_bundle(self, result: PassResult) -> None:
        if self.bundles is None:
            return
        raw = self.client.fetch_bundle(self.bundles.version())
        if raw is None:
            bundle = self.bundles.current()
        else:
            try:
                bundle = self.bundles.accept(raw)
                result.bundle_updated = True
            except BundleError as err:
                # Keep the last good bundle; the next pass asks again.
                log.error("sync: bundle refused, keeping the previous one: %s", err)
                result.bundle_error = f"bundle refused: {err}"
                return
        if bundle is None or self.on_bundle is None:
            return
        try:
            self.on_bundle(bundle, result.bundle_updated)
        except (OSError, ValueError) as err:
            # The bundle was verified, so this is the disk or a part the checkpoint cannot use: say so,
            # carry on with what the checkpoint had, and deliver the outbox all the same.
            log.error("sync: bundle not applied: %s", err)
            result.bundle_error = f"bundle not applied: {err}"

    def _drain(self, result: PassResult) -> None:
        # Only what was queued when the pass began, so a busy checkpoint cannot keep one pass going forever.
        up_to = self.outbox.last_seq()
        state = _Drain(result)
        # Every batch leaves the queue (answered), is set aside for this pass, or ends the pass (raised).
        while batch := self.outbox.next_batch(self.batch_size, up_to=up_to, skip=state.set_aside):
            self._send(batch, state)
        # Items the server failed on alone are tried alone again, now that the rest is through: an item
        # that fails every time is quarantined, one that met a passing error is delivered.
        for _ in range(LONE_TRIES):
            if not (state.server_works and state.set_aside):
                break
            again, state.set_aside = list(state.set_aside.values()), {}
            for item in again:
                self._send([item], state)
        result.deferred = len(state.set_aside)

    def _wire(self, batch: list[OutboxItem], result: PassResult) -> list[OutboxItem]:
        """The items of ``batch`` that make protocol items; any other is set aside for the admin at once,
        as the server would refuse it, with the field it lacks as the reason."""
        good = []
        for item in batch:
            try:
                item.wire()
            except ProtocolError as err:
                log.warning("sync: %s %s is not a protocol item: %s", item.kind, item.item_id, err)
                self.outbox.quarantine(item.item_id, f"not sendable: {err}")
                result.rejected += 1
            else:
                good.append(item)
        return good

    def _send(self, batch: list[OutboxItem], state: _Drain) -> None:
        result = state.result
        batch = self._wire(batch, result)
        if not batch:
            return
        kind = batch[0].kind
        ids = [item.item_id for item in batch]
        try:
            answers = self.client.upload(kind, [item.wire() for item in batch])
        except TooLarge as err:
            if len(batch) == 1:
                # Too large even alone: the limit is on the way, not a verdict on the item. Back off.
                self.outbox.note_failure(ids, str(err))
                raise
            self._split(batch, state)
            return
        except ServerFailed as err:
            self.outbox.note_failure(ids, str(err))
            if not state.server_works:
                state.server_failures += 1
                if state.server_failures > ISOLATION_BUDGET:
                    raise  # nothing gets through: the server is down, not one item
            if len(batch) > 1:
                self._split(batch, state)
                return
            item = batch[0]
            state.lone_failures[item.seq] = state.lone_failures.get(item.seq, 0) + 1
            if state.server_works and state.lone_failures[item.seq] >= LONE_TRIES:
                # The server takes the others and fails on this one alone: it will never take it as it is.
                log.warning("sync: %s %s fails on the server alone: %s", kind, item.item_id, err)
                self.outbox.quarantine(item.item_id, f"server error on this item alone: {err}")
                result.rejected += 1
            else:
                state.set_aside[item.seq] = item
            return
        except Refused as err:
            if len(batch) == 1:
                # The server will never take this item as it is: set it aside, with the reason, for the admin.
                log.warning("sync: %s %s refused: %s", kind, ids[0], err)
                self.outbox.quarantine(ids[0], str(err))
                result.rejected += 1
                return
            self._split(batch, state)
            return
        except (Unavailable, Unauthorised) as err:
            # RequestRefused included: a refusal of the request, not of its items, quarantines nothing.
            self.outbox.note_failure(ids, str(err))
            raise
        state.server_works = True
        sent = set(ids)
        # An answer with a status outside the protocol (a client that did not check) is no answer.
        mine = {
            item_id: answer
            for item_id, answer in answers.items()
            if item_id in sent and answer[0] in ITEM_STATUSES
        }
        self.outbox.resolve(mine)
        result.decided += len(self._keep_decisions(answers, mine))
        for status, _ in mine.values():
            result.count(status)
        if len(mine) < len(sent):
            # Items without an answer stay queued; stop here rather than loop on them in this pass.
            raise Unavailable(f"server answered for {len(mine)} of {len(sent)} items")

    def _keep_decisions(self, answers: dict[str, Answer], mine: dict[str, Answer]) -> list[str]:
        """Record the decisions that came with an upload's answers (for the items answered); their ids."""
        if self.decisions is None or not isinstance(answers, BatchAnswers):
            return []
        return self.decisions.record(d for item_id, d in answers.decisions.items() if item_id in mine)

    def _ask_decisions(self, result: PassResult) -> None:
        """Ask about the delivered submissions that have no final decision here, in turns."""
        if self.decisions is None:
            return
        waiting = self.decisions.awaiting(DECISIONS_PER_PASS)
        for start in range(0, len(waiting), MAX_QUERY_IDS):
            ids = waiting[start : start + MAX_QUERY_IDS]
            try:
                found = self.client.query_decisions(ids)
            except Refused as err:
                # A server that decides nothing (an older one) has no such path: nothing to ask it.
                log.info("sync: decisions not asked for: %s", err)
                return
            changed = self.decisions.record(d for d in found if d["submission_id"] in set(ids))
            self.decisions.asked(set(ids) - set(changed))
            result.decided += len(changed)

    def send_now(self, submission_id: str, within_s: float, fresh: bool = False) -> KnownDecision | None:
        """Deliver one submission at once and wait up to ``within_s`` in all for its central decision (the
        done page's wait); then what is known of it. ``fresh``: ask the server even when a decision is known
        already (a ``manual`` one a manager may have decided since: the check screen). Never raises for
        server or network trouble: the submission stays queued for the sync loop, and the person is told
        the result will follow."""
        if self.decisions is None:
            return None
        until = time.monotonic() + within_s
        try:
            item = self.outbox.item(submission_id)
            if item is not None:
                answers = self.client.hurried(within_s).upload("submission", [item.wire()])
                mine = {k: v for k, v in answers.items() if k == submission_id and v[0] in ITEM_STATUSES}
                self.outbox.resolve(mine)
                self._keep_decisions(answers, mine)
            asked = False
            while not (_central(self.decisions.get(submission_id)) and (asked or not fresh)):
                left = until - time.monotonic()
                if left <= DECISION_POLL_S:
                    break
                found = self.client.hurried(left).query_decisions([submission_id])
                asked = True
                self.decisions.record(d for d in found if d["submission_id"] == submission_id)
                if not found:
                    time.sleep(DECISION_POLL_S)
        except (CentralError, ProtocolError) as err:
            log.info("submission %s: no decision within %g s: %s", submission_id, within_s, err)
        return self.decisions.get(submission_id)

    def _split(self, batch: list[OutboxItem], state: _Drain) -> None:
        """Find the bad item(s) by halving, so that one bad item does not hold back the others."""
        middle = len(batch) // 2
        self._send(batch[:middle], state)
        self._send(batch[middle:], state)


def _central(known: KnownDecision | None) -> bool:
    return known is not None and known.outcome is not None and not known.provisional


class SyncLoop:
    """Runs passes on a daemon thread: every ``interval_s`` when all is well, with backoff after failures,
    at once after :meth:`wake`. ``on_status`` is called from that thread after each pass."""

    def __init__(
        self,
        engine: SyncEngine,
        interval_s: float = 30.0,
        on_status: Callable[[SyncStatus], None] | None = None,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.on_status = on_status
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: SyncStatus | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Sync soon (a new item was queued); a backoff in progress still runs its course."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the loop to end and wait up to ``timeout``; True when it has ended.

        False means a pass is still waiting on the network (up to the client's timeout). It then ends
        without calling ``on_status`` or starting another pass, and whatever it fails to write because its
        store was closed meanwhile stays queued and is sent again next time (the server answers
        "duplicate")."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                status, _ = self.engine.run_once()
            except Exception as err:  # a bug must not kill the thread that delivers everything
                if self._stop.is_set():
                    return  # the kiosk is shutting down: its store may be gone already
                log.exception("sync pass failed")
                status = replace(self.engine.status(False), error=f"internal error: {err}")
            if self._stop.is_set():
                return  # whoever listened to on_status may be gone
            self.latest = status
            if self.on_status is not None:
                self.on_status(status)
            if status.online:
                failures = 0
                self._wake.wait(self.interval_s)
                self._wake.clear()
            else:
                failures += 1
                delay = backoff_delay(failures, self.backoff_base_s, self.backoff_cap_s, status.retry_after)
                self._stop.wait(delay)


def open_sync(core: KioskCore, health: Callable[[], dict[str, Any]] | None = None) -> SyncEngine | None:
    """The engine for an enrolled kiosk, or None when it has not been enrolled yet.

    It talks to ``settings.central_url`` when that is set (the server moved; the enrolment still holds),
    else to the address the kiosk enrolled with. Each good bundle's trust store and revocations go to the
    core's code registry at once. Every pass first re-seals personal data stored before enrolment.
    ``health`` gives the heartbeat's health object (the GUI's, with its devices); without it, what the disk
    and the store tell (``kiosk.admin.health.core_health``)."""
    from kiosk import __version__
    from kiosk.admin.health import core_health
    from kiosk.central_client import DEVICE_KEY_FILE, HttpCentral, load_credentials
    from kiosk.codes.setup import install_bundle_trust
    from kiosk.forms.protect import reseal_pending
    from kiosk.keystore import load_or_create_secret
    from protocol.sealing import b64d

    settings = core.settings
    credentials = load_credentials(settings.secrets_dir)
    if credentials is None:
        return None
    if settings.central_url:
        credentials = replace(credentials, url=settings.central_url)
    client = HttpCentral(credentials, load_or_create_secret(settings.secrets_dir / DEVICE_KEY_FILE))
    bundles = BundleStore(settings.data_dir / "bundle", b64d(credentials.bundle_signing_key))

    def on_bundle(bundle: dict[str, Any], changed: bool) -> None:
        # The settings in force at this pass, not those at start: a trust-age limit changed in admin mode
        # must not be undone by the formats rebuilt for the next bundle.
        current = core.settings
        if install_bundle_trust(current, core.registry, bundle, changed=changed, now=datetime.now(UTC)):
            log.info("sync: trust store from the central bundle now in force")

    return SyncEngine(
        core.outbox,
        client,
        bundles,
        settings.sync_batch_size,
        __version__,
        on_bundle,
        before_pass=lambda: reseal_pending(core.store, settings.secrets_dir),
        health=health or (lambda: core_health(core.settings, core.store)),
        decisions=DecisionBook.open(core.store, settings.secrets_dir),
    )
