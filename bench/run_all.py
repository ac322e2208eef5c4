"""Run every benchmark in turn (``make bench``); each prints its own figures against its targets."""

from __future__ import annotations

import subprocess
import sys

BENCHES = (
    "bench.decoders",
    "bench.gui_latency",
    "bench.signed_codes",
    "bench.idcard_ocr",
    "bench.idcard_latency",
    "bench.sync_drain",
    "bench.central_ingest",
    "bench.signin_flood",
    "bench.self_service",
)


def main() -> int:
    failed = []
    for module in BENCHES:
        print(f"\n=== python -m {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    print(f"\nmissed or failed: {', '.join(failed)}" if failed else "\nall benchmarks ran, all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
