"""The finder stage of the QR cascade (``devices.qr_finders``): symbols zxing-cpp does not locate (a finder
pattern under a blot, strong perspective), located by the finder patterns found as nested contours and read
by the grid sampler; and the CPU budget of the grid stages. Each code is built here."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import segno

import devices.qr as qr
from devices.qr import CascadeDecoder, ZxingDecoder
from devices.qr_finders import finder_candidates, read_by_finders, single_placements
from devices.qr_grid import cpu_clock, read_grid

TEXT = "https://example.gov.cn/health?id=finder"


def _blotted(
    role: int,
    skew: float,
    module: int,
    shape: tuple[int, int],
    inverted: bool = False,
    angle: float = 10.0,
    also: tuple[int, ...] = (),
    smudge: float = 2.2,
) -> tuple[np.ndarray, np.ndarray]:
    """A grey picture of ``TEXT``'s code at ``module`` px a module, a dark smudge (``smudge`` modules in
    radius) over the finder pattern at ``role`` (0 top-left, 1 top-right, 2 bottom-left) and those in
    ``also``, two corners pulled in by ``skew`` of the code's side (perspective), turned by ``angle``
    degrees, mild blur and noise; and the code's outer corners there."""
    matrix = np.pad(np.array(segno.make(TEXT, error="m", micro=False).matrix, np.uint8), 4)
    size = matrix.shape[0] - 8
    code = cv2.resize(
        np.where(matrix > 0, 40, 210).astype(np.uint8),
        None,
        fx=module,
        fy=module,
        interpolation=cv2.INTER_NEAREST,
    )
    for smudged in (role, *also):
        ox, oy = [(4, 4), (size - 3, 4), (4, size - 3)][smudged]
        centre = (int((ox + 3.5) * module), int((oy + 3.5) * module))
        cv2.circle(code, centre, int(smudge * module), 40, -1)
    side = code.shape[0]
    height, width = shape
    half = side / 2
    dst = np.array([[-half, -half], [half, -half], [half, half], [-half, half]], np.float32)
    dst[1, 1] += skew * side
    dst[2, 0] -= skew * side
    turn = np.deg2rad(angle)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    dst = dst @ rotation.T + np.array([width / 2, height / 2], np.float32)
    src = np.array([[0, 0], [side, 0], [side, side], [0, side]], np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    picture = cv2.warpPerspective(
        code, warp, (width, height), dst=np.full(shape, 150, np.uint8), borderMode=cv2.BORDER_TRANSPARENT
    )
    picture = cv2.GaussianBlur(picture, (0, 0), 0.8)
    noisy = np.clip(picture + np.random.default_rng(1).normal(0, 3, shape), 0, 255).astype(np.uint8)
    outer = np.array([[4, 4], [4 + size, 4], [4 + size, 4 + size], [4, 4 + size]], np.float32) * module
    corners = cv2.perspectiveTransform(outer.reshape(-1, 1, 2), warp).reshape(4, 2)
    return (255 - noisy if inverted else noisy), corners


def _before() -> CascadeDecoder:
    """The cascade without the finder stage and without the grid stages' budget."""
    return CascadeDecoder(stages=CascadeDecoder.default_stages(finders=False, budget_s=None))


def _unbudgeted() -> CascadeDecoder:
    """The cascade without the grid stages' CPU budget: a loaded test machine's CPU seconds go further than a
    quiet kiosk's, and what is tested here is what the stage reads (the budget is tested below)."""
    return CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=None))


@pytest.mark.parametrize("inverted", [False, True])
def test_finder_stage_reads_a_code_with_a_blotted_finder_in_strong_perspective(inverted: bool) -> None:
    """An 800x600 picture (a photo handed in): the bottom-left finder under a smudge and the code in strong
    perspective. zxing-cpp does not read it, nor does any other stage; the two finders left, found as nested
    contours, place the symbol (the timing patterns tell which pair of corners they are) and it is read."""
    picture, corners = _blotted(role=2, skew=0.3, module=4, shape=(600, 800), inverted=inverted)
    assert ZxingDecoder().decode(picture) == []
    assert _before().decode(picture) == []
    cascade = _unbudgeted()
    found = cascade.decode(cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR))
    assert [s.text for s in found] == [TEXT] and cascade.last_stage == "finder-grid"
    # The corners it reports are the code's (within two modules), whatever its orientation.
    got = np.array(found[0].corners)
    assert max(np.linalg.norm(got - corner, axis=1).min() for corner in corners) < 2 * 4


def test_finder_stage_reads_a_camera_frame_round_what_stage_1_located() -> None:
    """A 1080p camera frame: the top-right finder smudged. Stage 1 locates something there (not the symbol)
    and reads nothing; the finder stage searches round it and reads the code."""
    frame, _ = _blotted(role=1, skew=0.15, module=5, shape=(1080, 1920), angle=20.0)
    _, suspects, _ = ZxingDecoder().decode_located(frame)
    assert suspects
    assert _before().decode(frame) == []
    cascade = _unbudgeted()
    assert [s.text for s in cascade.decode(frame)] == [TEXT] and cascade.last_stage == "finder-grid"


def test_finder_stage_does_not_search_a_camera_frame_where_nothing_was_located(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most camera frames hold no code: on a 1080p frame where stage 1 located nothing the finder stage
    returns at once (its contour search would cost about as much as zxing-cpp's pass)."""
    calls = []
    monkeypatch.setattr(qr, "read_by_finders", lambda *args: calls.append(args))
    frame = np.random.default_rng(2).normal(128, 20, (1080, 1920)).clip(0, 255).astype(np.uint8)
    assert CascadeDecoder().decode(frame) == [] and calls == []
    small = cv2.resize(frame, (800, 600))
    CascadeDecoder().decode(small)
    assert len(calls) == 1  # a picture of photo size is searched whole


def test_grid_reader_stops_at_its_deadline() -> None:
    """The grid stages share a CPU budget per frame: ``read_grid`` past its deadline gives up, even on a
    code it reads without one."""
    picture, corners = _blotted(role=2, skew=0.0, module=6, shape=(600, 800))
    quad = tuple((float(x), float(y)) for x, y in corners)
    size = segno.make(TEXT, error="m", micro=False).symbol_size(border=0)[0]
    assert read_grid(picture, quad, size) == TEXT
    assert read_grid(picture, quad, size, deadline=cpu_clock() - 1.0) is None


def test_cascade_with_no_budget_left_skips_the_finder_stage() -> None:
    picture, _ = _blotted(role=2, skew=0.3, module=4, shape=(600, 800))
    starved = CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=0.0))
    assert starved.decode(picture) == []
    assert [s.text for s in _unbudgeted().decode(picture)] == [TEXT]


def test_true_geometry_of_a_render_is_what_the_grid_reader_reads() -> None:
    """``bench.qr_misses`` sorts misses by whether ``read_grid`` reads a render from the renderer's own
    corners and size: on clean renders (no effect drawn) those must read."""
    from bench.qr_misses import true_geometry
    from tools.qr_photos import oracle_read, qr_photo_set

    clean = [p for p in qr_photo_set(40, 11) if not p.effects and oracle_read(p) == p.text][:3]
    assert clean
    for photo in clean:
        corners, size, finders, module = true_geometry(photo)
        grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY)
        assert read_grid(grey, corners, size) == photo.text
        assert size == segno.make(photo.text, error=photo.error, micro=False).symbol_size(border=0)[0]
        assert len(finders) == 3 and module > 1.0


@pytest.mark.parametrize("left", [0, 1, 2])
def test_finder_stage_places_a_code_from_one_finder_pattern(left: int) -> None:
    """Two of the three finder patterns under smudges, mild perspective: no pair of finders is left, and
    neither zxing-cpp nor the cascade without the one-finder placement reads it. The finder left (in each
    of its three roles) gives the axes and the timing pattern leaving it the size, and the code is read."""
    blotted = tuple(role for role in range(3) if role != left)
    picture, corners = _blotted(
        role=blotted[0], also=blotted[1:], skew=0.06, module=5, shape=(600, 800), smudge=3.0
    )
    assert ZxingDecoder().decode(picture) == []
    without = CascadeDecoder(stages=CascadeDecoder.default_stages(budget_s=None, finder_alone=False))
    assert without.decode(picture) == []
    cascade = _unbudgeted()
    found = cascade.decode(picture)
    assert [s.text for s in found] == [TEXT] and cascade.last_stage == "finder-grid"
    got = np.array(found[0].corners)
    # An affine extrapolation from one finder: within three modules.
    assert max(np.linalg.norm(got - corner, axis=1).min() for corner in corners) < 3 * 5


def test_one_finder_pattern_without_a_code_places_nothing_and_costs_little() -> None:
    """A finder-like square on a code-free textured picture: the one-finder placement is tried (a single
    candidate) and finds no symbol to read, in a few milliseconds of CPU."""
    rng = np.random.default_rng(5)
    picture = cv2.GaussianBlur(rng.normal(150, 30, (600, 800)).clip(0, 255).astype(np.uint8), (0, 0), 2.0)
    square = np.full((7, 7), 40, np.uint8)
    square[1:6, 1:6] = 210
    square[2:5, 2:5] = 40
    picture[300:335, 400:435] = cv2.resize(square, (35, 35), interpolation=cv2.INTER_NEAREST)
    candidates = finder_candidates(picture, inverted=False)
    assert len(candidates) == 1 and candidates[0].quad is not None
    assert all(score < 0.6 for score, *_ in single_placements(picture, candidates[0]))
    start = cpu_clock()
    assert read_by_finders(picture) is None
    assert cpu_clock() - start < 0.05
