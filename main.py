"""Entry point of `kiosk` (and `python main.py`): the command line lives in ``kiosk.cli``."""

from __future__ import annotations

import sys

from kiosk.cli import main

if __name__ == "__main__":
    sys.exit(main())
