"""Where USB sticks are mounted, for exports from admin mode."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

MOUNT_ROOTS = (Path("/media"), Path("/run/media"))


def removable_mounts(roots: Sequence[Path] = MOUNT_ROOTS) -> list[Path]:
    """Writable folders where desktops mount USB sticks: ``ROOT/LABEL`` and ``ROOT/USER/LABEL``."""
    found: list[Path] = []
    for root in roots:
        try:
            level1 = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for path in level1:
            if os.path.ismount(path):
                found.append(path)
                continue
            try:
                found += sorted(p for p in path.iterdir() if p.is_dir() and os.path.ismount(p))
            except OSError:
                continue
    return [p for p in found if os.access(p, os.W_OK)]
