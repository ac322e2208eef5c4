"""Scoring text against a CTC recogniser's per-timestep character probabilities (pure numpy).

PP-OCR's recogniser emits, for each horizontal step of a text line, a probability for every character of
its alphabet plus the CTC blank (index 0). Greedy decoding keeps the top character per step; here any
candidate string can be scored instead (its log-likelihood summed over all alignments), which lets a closed
vocabulary (the 56 ethnicities) pick its member directly and lets near-miss alternatives of an open field
(a name) compete with the greedy reading on equal terms.
"""

from __future__ import annotations

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
    if not label:
        return float(logp[:, BLANK].sum())
    ext = np.full(2 * len(label) + 1, BLANK)
    ext[1::2] = label
    steps = logp.shape[0]
    if steps < len(label):
        return UNSCORABLE
    # A step may skip the blank between two different characters, never between a repeated one.
    skip = np.zeros(len(ext), bool)
    skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    alpha = np.full(len(ext), -np.inf)
    alpha[0], alpha[1] = logp[0, BLANK], logp[0, ext[1]]
    for t in range(1, steps):
        stay = alpha
        step = np.concatenate(([-np.inf], alpha[:-1]))
        jump = np.where(skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2])), -np.inf)
        with np.errstate(invalid="ignore"):  # -inf + -inf is -inf here, not a problem
            alpha = np.logaddexp(np.logaddexp(stay, step), jump) + logp[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def score(matrix: CharMatrix, text: str) -> float:
    ids = [matrix.index.get(ch) for ch in text]
    if any(i is None for i in ids):
        return UNSCORABLE
    return log_likelihood(matrix.logp, [i for i in ids if i is not None])


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
    scored = {
        text: sum(score(m, head + text) for m, head in zip(matrices, heads, strict=True))
        + (evidence(text) if evidence is not None else 0.0)
        for text in set(candidates)
        if text
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
