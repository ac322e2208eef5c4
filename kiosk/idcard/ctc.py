"""Scoring text against a CTC recogniser's per-timestep character probabilities (pure numpy).

PP-OCR's recogniser emits, for each horizontal step of a text line, a probability for every character of
its alphabet plus the CTC blank (index 0). Greedy decoding keeps the top character per step; here any
candidate string can be scored instead (its log-likelihood summed over all alignments), which lets a closed
vocabulary (the 56 ethnicities) pick its member directly and lets near-miss alternatives of an open field
(a name) compete with the greedy reading on equal terms.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

BLANK = 0
UNSCORABLE = -1e9  # a candidate with a character outside the recogniser's alphabet can never win


@dataclass(frozen=True)
class CharMatrix:
    """Log-probabilities (T × C) of one text crop; ``alphabet[c]`` is the character of column c."""

    logp: np.ndarray
    alphabet: Sequence[str]
    index: Mapping[str, int]


def log_likelihood(logp: np.ndarray, label: Sequence[int]) -> float:
    """log P(label | crop) under CTC: the forward algorithm over blank-interleaved labels, in log space."""
    return float(log_likelihoods(logp, [label])[0])


def log_likelihoods(logp: np.ndarray, labels: Sequence[Sequence[int]]) -> np.ndarray:
    """``log_likelihood`` of each label. Labels of one length run through the forward algorithm together,
    one row each: a name's few hundred candidates cost a few dozen numpy calls per step instead of a few
    thousand, and each value is computed exactly as it would be alone."""
    out = np.empty(len(labels))
    by_length: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_length.setdefault(len(label), []).append(i)
    steps = logp.shape[0]
    for length, rows in by_length.items():
        if length == 0:
            out[rows] = logp[:, BLANK].sum()
            continue
        if steps < length:
            out[rows] = UNSCORABLE
            continue
        ext = np.full((len(rows), 2 * length + 1), BLANK)
        ext[:, 1::2] = [labels[i] for i in rows]
        # A step may skip the blank between two different characters, never between a repeated one.
        skip = np.zeros(ext.shape, bool)
        skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
        alpha = np.full(ext.shape, -np.inf)
        alpha[:, 0], alpha[:, 1] = logp[0, BLANK], logp[0, ext[:, 1]]
        none = np.full((len(rows), 2), -np.inf)
        for t in range(1, steps):
            stay = alpha
            step = np.concatenate((none[:, :1], alpha[:, :-1]), axis=1)
            jump = np.where(skip, np.concatenate((none, alpha[:, :-2]), axis=1), -np.inf)
            with np.errstate(invalid="ignore"):  # -inf + -inf is -inf here, not a problem
                alpha = np.logaddexp(np.logaddexp(stay, step), jump) + logp[t, ext]
        out[rows] = np.logaddexp(alpha[:, -1], alpha[:, -2])
    return out


def score(matrix: CharMatrix, text: str) -> float:
    return float(scores(matrix, [text])[0])


def scores(matrix: CharMatrix, texts: Sequence[str]) -> np.ndarray:
    """``score`` of each text, the scorable ones computed together."""
    out = np.full(len(texts), UNSCORABLE)
    # None: a text with a character the model cannot write, which cannot be scored.
    ids = [
        [matrix.index[ch] for ch in text] if all(ch in matrix.index for ch in text) else None
        for text in texts
    ]
    known = [i for i, label in enumerate(ids) if label is not None]
    if known:
        out[known] = log_likelihoods(matrix.logp, [label for label in ids if label is not None])
    return out


def greedy(matrix: CharMatrix, alternatives: int = 1) -> tuple[str, list[list[str]]]:
    """The best-path reading, and for each of its characters the ``alternatives`` likeliest characters at
    that step (the read one first; the blank excluded)."""
    best = matrix.logp.argmax(axis=1)
    text: list[str] = []
    options: list[list[str]] = []
    previous = BLANK
    for t, c in enumerate(best):
        if c != BLANK and c != previous:
            text.append(matrix.alphabet[c])
            ranked = np.argsort(-matrix.logp[t])[: alternatives + 1]
            options.append([matrix.alphabet[k] for k in ranked if k != BLANK][:alternatives])
        previous = c
    return "".join(text), options


def one_substitution_candidates(text: str, options: list[list[str]]) -> set[str]:
    """``text`` and every string differing from it in one character, taken from that step's alternatives."""
    out = {text}
    for pos, alts in enumerate(options):
        for alt in alts:
            out.add(text[:pos] + alt + text[pos + 1 :])
    return out


def two_substitution_candidates(text: str, options: list[list[str]], alternatives: int) -> set[str]:
    """Every string differing from ``text`` in two characters, each from its step's first ``alternatives``."""
    out = set()
    for i in range(len(options)):
        for j in range(i + 1, len(options)):
            for a in options[i][:alternatives]:
                for b in options[j][:alternatives]:
                    out.add(text[:i] + a + text[i + 1 : j] + b + text[j + 1 :])
    return out


@dataclass(frozen=True)
class Choice:
    """The best candidate, its share of the probability among all candidates scored, and the runner-up."""

    text: str
    posterior: float
    runner_up: str | None


def choose(
    matrices: Sequence[CharMatrix],
    candidates: Iterable[str],
    prefixes: Sequence[str] | None = None,
    evidence: Callable[[str], float] | None = None,
) -> Choice | None:
    """The candidate most likely under all ``matrices`` together (independent views of the same text: their
    log-likelihoods add); ``None`` when nothing is scorable. ``prefixes[i]`` is text that crop i shows in
    front of the candidate (a label the crop could not avoid): it is scored with it, never returned.
    ``evidence`` adds other log-evidence for a candidate (its printed shape), in nats."""
    heads = list(prefixes) if prefixes is not None else [""] * len(matrices)
    texts = sorted({text for text in candidates if text})
    totals = np.zeros(len(texts))
    for matrix, head in zip(matrices, heads, strict=True):
        totals = totals + scores(matrix, [head + text for text in texts])
    scored = {
        text: float(total) + (evidence(text) if evidence is not None else 0.0)
        for text, total in zip(texts, totals, strict=True)
    }
    scored = {text: s for text, s in scored.items() if s > UNSCORABLE / 2}
    if not scored:
        return None
    ranked = sorted(scored, key=lambda t: (-scored[t], t))
    values = np.array([scored[t] for t in ranked])
    shares = np.exp(values - values.max())
    return Choice(
        text=ranked[0],
        posterior=float(shares[0] / shares.sum()),
        runner_up=ranked[1] if len(ranked) > 1 else None,
    )


def spaces_as_blank(matrix: CharMatrix) -> CharMatrix:
    """The matrix with the space's probability counted as the blank's: two recognisers space a letter-spaced
    line differently (one writes 幸 福 屯, the other 幸福屯), and a space is no character of the field, so
    no reading should gain or lose by where a model put one. Readings scored against it have no spaces."""
    space = matrix.index.get(" ")
    if space is None:
        return matrix
    logp = matrix.logp.copy()
    logp[:, BLANK] = np.logaddexp(logp[:, BLANK], logp[:, space])
    logp[:, space] = -np.inf
    return CharMatrix(logp, matrix.alphabet, matrix.index)


def merged_candidates(
    first: str,
    second: str,
    first_options: Sequence[Sequence[str]] = (),
    second_options: Sequence[Sequence[str]] = (),
    limit: int = 256,
) -> set[str]:
    """Readings built from two readings of one line: wherever they differ (aligned, so a character one of
    them dropped does not shift the rest), each stretch is taken from either; where one character stands
    for one character, also from the likeliest characters each model gave that step (``*_options[i]``,
    per character of that reading, as ``greedy`` returns them). Both readings are always among them; when
    the stretches would make more than ``limit`` strings, only the two readings and the strings differing
    from the first in one stretch are kept."""
    pieces: list[list[str]] = []
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append([first[i1:i2]])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                alts = [first[i], second[j]]
                alts += first_options[i] if i < len(first_options) else []
                alts += second_options[j] if j < len(second_options) else []
                pieces.append(list(dict.fromkeys(alts)))
        else:
            pieces.append(list(dict.fromkeys((first[i1:i2], second[j1:j2]))))
    out = {first, second}
    if np.prod([len(p) for p in pieces], dtype=float) <= limit:
        out |= {"".join(parts) for parts in itertools.product(*pieces)}
        return out
    base = [p[0] for p in pieces]
    for k, piece in enumerate(pieces):
        for alt in piece[1:]:
            out.add("".join([*base[:k], alt, *base[k + 1 :]]))
    return out


@dataclass(frozen=True)
class Combined:
    """The reading likeliest under several models together, and by how many nats (summed log-likelihood)
    it leads the next likeliest candidate and the first model's own reading (0 when it is that reading)."""

    text: str
    lead: float
    gain: float
    # Whether the first model alone scores the first reading above every other candidate: only then is
    # its reading its own view of this crop, for the others to outweigh.
    supported: bool = True


def combine(
    matrices: Sequence[CharMatrix],
    candidates: Iterable[str],
    first: str,
    evidence: Callable[[str], float] | None = None,
) -> Combined | None:
    """Product of experts: each candidate scored under every matrix (each a different model's view of the
    same crop), the log-likelihoods summed, plus ``evidence`` (other log-evidence, nats, such as the
    printed shape); ``None`` when ``first`` is not scorable."""
    texts = sorted({text for text in candidates if text} | {first})
    totals = np.zeros(len(texts))
    own = np.zeros(len(texts))
    for k, matrix in enumerate(matrices):
        values = scores(matrix, texts)
        own = values if k == 0 else own
        totals = totals + values
    scored = {
        text: float(total) + (evidence(text) if evidence is not None and total > UNSCORABLE / 2 else 0.0)
        for text, total in zip(texts, totals, strict=True)
    }
    if scored[first] < UNSCORABLE / 2:
        return None
    ranked = sorted(scored, key=lambda t: (-scored[t], t))
    best = ranked[0]
    lead = scored[best] - scored[ranked[1]] if len(ranked) > 1 else float("inf")
    supported = bool(own[texts.index(first)] >= own.max())
    return Combined(best, lead, scored[best] - scored[first], supported)
