"""Why the renders a cascade misses are missed: located or not, readable through the true geometry, how many
finder patterns the nested-contour search finds.

    python -m bench.qr_misses --seed 11                 # 200 renders at 800x600
    python -m bench.qr_misses --seed 30 --hd            # 50 renders at 1920x1080

For every render the geometry oracle reads (``tools.qr_photos.oracle_read``) and the cascade without the
finder stage's placements from one finder pattern misses (both cascades here without the grid stages' CPU
budget, so that what is missed and read depends on the stages, not on this run's load): whether zxing-cpp's
stage 1 located anything, whether ``devices.qr_grid.read_grid`` reads it from the renderer's own corners
and size (then the miss is in locating, not in the modules), how many of its three finder patterns
``devices.qr_finders.finder_candidates`` finds, and whether the kiosk's cascade reads it. Render seeds >= 103
are reserved for the final held-apart report: do not run them here.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.decoders import HEIGHT, WIDTH
from devices.qr import CascadeDecoder, ZxingDecoder, to_grey
from devices.qr_finders import finder_candidates
from devices.qr_grid import read_grid
from tools.qr_photos import QrPhoto, oracle_read, qr_photo_set

QUIET = 4  # modules of quiet zone round the renderer's symbol


def true_geometry(photo: QrPhoto) -> tuple[tuple[tuple[float, float], ...], int, list[np.ndarray], float]:
    """The symbol's outer corners (extrapolated half a module out from the corner modules' centres), its
    size, its three finder centres and its module size near the top-left corner, in picture pixels."""
    c = photo.centres
    n = c.shape[0]
    a, b = QUIET, n - QUIET - 1

    def outer(i: int, j: int, di: int, dj: int) -> tuple[float, float]:
        x, y = c[i, j] - 0.5 * (c[i, j + dj] - c[i, j]) - 0.5 * (c[i + di, j] - c[i, j])
        return float(x), float(y)

    corners = (outer(a, a, 1, 1), outer(a, b, 1, -1), outer(b, b, -1, -1), outer(b, a, -1, 1))
    finders = [c[a + 3, a + 3], c[a + 3, b - 3], c[b - 3, a + 3]]
    module = float(np.linalg.norm(c[a + 1, a] - c[a, a]))
    return corners, n - 2 * QUIET, finders, module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qr_misses", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="render seed (not >= 103: reserved)")
    parser.add_argument("--hd", action="store_true", help="50 renders at 1920x1080 instead of 200 at 800x600")
    args = parser.parse_args(argv)
    if args.seed >= 103:
        parser.error("render seeds >= 103 are reserved for the final held-apart report")
    count, width, height = (50, WIDTH, HEIGHT) if args.hd else (200, 800, 600)
    before = CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=None, finder_alone=False))
    unbudgeted = CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=None))
    rows = []
    for i, photo in enumerate(qr_photo_set(count, args.seed, width, height)):
        if oracle_read(photo) != photo.text:
            continue
        if photo.text in {s.text for s in before.decode(photo.image)}:
            continue
        grey = to_grey(photo.image)
        assert grey is not None
        located = bool(ZxingDecoder().decode_located(grey)[1])
        corners, size, finders, module = true_geometry(photo)
        candidates = finder_candidates(grey, "inverted" in photo.effects, limit=None)
        found = sum(
            any(np.linalg.norm(np.array(f.centre) - centre) < 1.5 * module for f in candidates)
            for centre in finders
        )
        rows.append(
            {
                "located": located,
                "true_corners": read_grid(grey, corners, size) == photo.text,
                "finders": found,
                "cascade": photo.text in {s.text for s in unbudgeted.decode(photo.image)},
            }
        )
        print(f"render-{args.seed}-{i}: {rows[-1]} {','.join(photo.effects)}", flush=True)
    missed = f"{len(rows)} readable renders missed without the one-finder placement"
    print(f"\nseed {args.seed} ({width}x{height}): {missed}")
    for located in (False, True):
        sub = [r for r in rows if r["located"] == located]
        counts = " / ".join(str(sum(r["finders"] == k for r in sub)) for k in range(4))
        print(
            f"  {'located, not read' if located else 'nothing located'}: {len(sub)}; read with the true "
            f"corners {sum(r['true_corners'] for r in sub)}; finders found 0 / 1 / 2 / 3: {counts}; read by "
            f"the cascade (no budget) {sum(r['cascade'] for r in sub)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
