"""Logging set-up: a rotating file in the data folder plus stderr. Nothing personal is ever passed to a log
call (no code texts, no ID numbers, no names); messages carry kinds, verdicts, counts and reasons."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path


class _LogFile(logging.handlers.RotatingFileHandler):
    """A log file that cannot be written (a full disk) is said once on stderr, not with a traceback for
    every message: the kiosk goes on without its log rather than stop."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            error = sys.exc_info()[1]
            print(f"kiosk: cannot write the log file ({error}); going on without it", file=sys.stderr)


def configure_logging(data_dir: Path, verbose: bool = False) -> None:
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = _LogFile(log_dir / "kiosk.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    file_handler.setFormatter(fmt)
    console = logging.StreamHandler()
    console.setFormatter(fmt)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [file_handler, console]
    root.setLevel(logging.INFO)
