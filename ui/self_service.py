"""Self-service in the window: the loaded services, the form screen, storing and printing.

Confirming a form stores it on a worker thread (:class:`SubmissionDesk`: checked, sealed, numbered,
queued and its print job created in one transaction) and only then shows the done page; the receipt is
printed afterwards, on another worker, so a slow or failed printer never holds up or loses a submission.
"""

from __future__ import annotations

import errno
import logging
import time
import uuid
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from devices.printer import Printer, PrinterState
from kiosk import pinyin
from kiosk.core import KioskCore
from kiosk.decisions.outcomes import KnownDecision, on_receipt
from kiosk.disk import storage_full
from kiosk.forms.definition import Catalogue, ServiceDefinition, catalogue_for
from kiosk.forms.slots import SlotSource, SlotTaken
from kiosk.forms.submissions import Submission, SubmissionDesk
from kiosk.sync import SyncEngine
from printing.jobs import PrintOutcome, PrintQueue
from ui.operations import Lane, run_op
from ui.screens.id_step import IdCaptureStep, ManualIdCapture
from ui.screens.service import ServiceScreen
from ui.watchdog import PrintRunner

log = logging.getLogger(__name__)
QUEUE_TICKET_SERVICE = "queue-ticket"
# How long the done page waits for a decided service's central decision before it says the result will
# follow (the bound): the submission is stored before, so nothing waits on it but the receipt.
DECISION_WAIT_S = 2.0


class SelfService(QObject):
    # The stored submission and the perf_counter() reading when its done page was shown (the benchmark's
    # "confirm to done"), and each print outcome.
    submission_shown = Signal(object, float)
    # A decided service's submission and what was known of its decision when the receipt went to print.
    decision_shown = Signal(object, object)
    printed = Signal(object)
    printer_state = Signal(str)
    home_requested = Signal()

    def __init__(
        self,
        parent: QObject,
        core: KioskCore,
        printer: Printer,
        slots: SlotSource,
        language: str,
        id_step_factory: Callable[[str], IdCaptureStep] = ManualIdCapture,
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.printer = printer
        self.catalogue: Catalogue = catalogue_for(core.settings.data_dir)
        self.desk = SubmissionDesk(core.store, core.current_settings, slots)
        self.queue = PrintQueue(core.store)
        # The sync engine when the kiosk is online (the window sets it from its sync loop), else None: a
        # decided service's done page then sends the submission at once and waits for its decision.
        self.online_engine: Callable[[], SyncEngine | None] = lambda: None
        # Each receipt on a thread of its own, given up after a timeout: a hung printer driver cannot hold
        # a worker (or the kiosk's exit) forever, and the job stays for a reprint.
        self.printing = PrintRunner(self.queue, parent=self)
        self.printing.finished.connect(self._printed)
        self.screen = ServiceScreen(language, id_step_factory, slots)
        self.confirmed_at: float | None = None
        self.last_submission: Submission | None = None
        # The id of the form being confirmed, kept when storing it fails so that a retry books the same
        # appointment place (the booking is idempotent by it) rather than a second one.
        self._submission_id: str | None = None
        self.screen.confirmed.connect(self._confirmed)
        self.screen.home_requested.connect(self.home_requested)
        self.screen.queue_ticket_requested.connect(lambda: self.open(QUEUE_TICKET_SERVICE))
        self.screen.reprint_requested.connect(self.print_job)
        self.language = language
        # The pinyin keyboard's index (about half a second) on a worker now, not on a citizen's first key.
        pinyin.warm_up()

    def services(self) -> list[ServiceDefinition]:
        return self.catalogue.ordered()

    def open(self, service_id: str) -> bool:
        definition = self.catalogue.get(service_id)
        if definition is None:
            log.error("no service %r", service_id)
            return False
        self._submission_id = None
        self.screen.start(definition)
        return True

    def storage_full(self) -> bool:
        """No room for a new submission: the home screen says so instead of opening a form."""
        return storage_full(self.core.settings.data_dir)

    def _confirmed(self, definition: ServiceDefinition, answers: dict) -> None:
        if self.storage_full():
            # The disk filled while the form was being filled in: refuse before storing, not half-way.
            self._refused(OSError(errno.ENOSPC, "no room left for new submissions"))
            return
        self.confirmed_at = time.perf_counter()
        desk, language = self.desk, self.screen.language
        if self._submission_id is None:
            self._submission_id = str(uuid.uuid4())
        submission_id = self._submission_id
        source = self.screen.identity_source
        run_op(
            self,
            lambda: desk.submit(definition, answers, language, submission_id, identity_source=source),
            lane=Lane.IO,
            on_success=self._stored,
            on_failure=self._refused,
        )

    def _stored(self, submission: Submission) -> None:
        self._submission_id = None
        self.last_submission = submission
        self.screen.show_done(submission.number, submission.ticket, submission.print_job_id)
        self.submission_shown.emit(submission, time.perf_counter())
        definition = self.catalogue.get(submission.service_id)
        if definition is None or definition.decision is None:
            self.print_job(submission.print_job_id)
            return
        book, queue, engine = self.desk.decisions, self.queue, self.online_engine()
        if engine is None:
            # Offline: the receipt already says what the kiosk knows (received, or a provisional result).
            run_op(
                self,
                lambda: book.get(submission.id),
                lane=Lane.STORE,
                on_success=lambda known: self._decided(submission, known),
            )
            return
        self.screen.show_decision_waiting()

        def send() -> KnownDecision | None:
            known = engine.send_now(submission.id, DECISION_WAIT_S)
            queue.replace_receipt(submission.print_job_id, on_receipt(submission.receipt, known))
            return known

        run_op(
            self,
            send,
            lane=Lane.IO,
            on_success=lambda known: self._decided(submission, known),
            on_failure=lambda error: self._undecided(submission, error),
        )

    def _decided(self, submission: Submission, known: KnownDecision | None) -> None:
        if self.screen.on_done and self.screen.job_id == submission.print_job_id:
            self.screen.show_decision(known)
        self.decision_shown.emit(submission, known)
        self.print_job(submission.print_job_id)

    def _undecided(self, submission: Submission, error: Exception) -> None:
        # The store could not take the decision (a full disk): the receipt as stored says "received".
        log.warning("decision of %s not shown: %s", submission.number, error)
        self._decided(submission, None)

    def _refused(self, error: Exception) -> None:
        log.warning("submission not stored: %s", error)
        if isinstance(error, SlotTaken):
            # The person chooses another slot; this id may hold the first one, and the server refuses to
            # move a booking, so the next try books under a new id.
            self._submission_id = None
        self.screen.show_submission_error(error)

    def print_decision(self, known: KnownDecision) -> None:
        """The submission's receipt again, now with its decision (and decision code): for one decided
        after its receipt was printed, asked for on the check screen."""
        queue = self.queue

        def update() -> int | None:
            job_id = queue.job_for(known.submission_id)
            if job_id is not None:
                queue.replace_receipt(job_id, on_receipt(queue.get(job_id).receipt, known))
            return job_id

        run_op(
            self,
            update,
            lane=Lane.STORE,
            on_success=lambda job_id: self.print_job(job_id) if job_id is not None else None,
        )

    def print_job(self, job_id: int) -> None:
        self.printing.print_job(job_id, self.printer)

    def _printed(self, outcome: PrintOutcome) -> None:
        self.screen.set_print_state(outcome.printed, outcome.state.value)
        self.printer_state.emit(outcome.state.value)
        self.printed.emit(outcome)

    def check_printer(self) -> None:
        printer = self.printer
        run_op(
            self,
            printer.status,
            lane=Lane.IO,
            on_success=lambda s: self.printer_state.emit(PrinterState(s).value),
        )
