"""Accuracy estimators from samples: unbiased pass@k, majority@k, best-of-n@k, weighted@k, and the human-pick win rate.

The pass@k estimator is the unbiased one of Chen et al. 2021 (arXiv 2107.03374, §2.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from planner.domain import check_values
from planner.errors import InputError

# ---------------------------------------------------------------------------------------------
# Human pick


def human_pick_win_rate(k: float | np.ndarray, m: float | np.ndarray, disagreement: float | np.ndarray = 0.2) -> float | np.ndarray:
    """Probability that the sample a person picks from k beats the best of m independent draws.

    All k + m samples are i.i.d. with a continuous quality. A perfect ranker picks the best of its k,
    which beats the best of m exactly when the overall best of k + m lies among the k: k/(k + m).
    A person who disagrees with ground truth a fraction d of the time picks a uniformly random one of
    the k instead; a random one of k is distributed as a single draw, so it beats the best of m with
    probability 1/(1 + m). Hence  win = (1 - d)·k/(k + m) + d/(1 + m).
    """
    check_values("k", k, minimum=1.0)
    check_values("m", m)
    d = np.asarray(disagreement, dtype=float)
    if np.any((d < 0) | (d > 1)) or not np.all(np.isfinite(d)):
        raise InputError(f"disagreement must be in [0, 1], got {disagreement!r}")
    return (1.0 - disagreement) * k / (k + m) + disagreement / (1.0 + m)


# ---------------------------------------------------------------------------------------------
# Unbiased estimators from n samples per problem


def _estimate_pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)   (Chen et al. 2021, §2.1, stable form)
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=float)))


def pass_at_k(n, c, k):
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k)/C(n, k) (Chen et al. 2021).

    Accepts integers or arrays (broadcast); requires 0 ≤ c ≤ n and 1 ≤ k ≤ n.
    """
    n_a, c_a, k_a = np.broadcast_arrays(np.asarray(n), np.asarray(c), np.asarray(k))
    if np.any(c_a < 0) or np.any(c_a > n_a) or np.any(k_a < 1) or np.any(k_a > n_a):
        raise InputError("pass_at_k needs 0 ≤ c ≤ n and 1 ≤ k ≤ n")
    out = np.array([_estimate_pass_at_k(int(a), int(b), int(d)) for a, b, d in zip(n_a.ravel(), c_a.ravel(), k_a.ravel())])
    out = out.reshape(n_a.shape)
    return float(out) if out.ndim == 0 else out


def _check_k(n: int, k: int) -> None:
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise InputError(f"k must be an integer in [1, n={n}], got {k!r}")


def majority_at_k(answers: Sequence, correct, k: int) -> float:
    """Unbiased majority@k: the chance that plurality vote over a uniformly random k-subset of the n
    samples (without replacement) returns the correct answer, ties broken uniformly at random.

    answers: the n final answers (hashable); correct: the correct answer. Exact, by counting subsets:
    for each count j of correct answers in the subset, a dynamic programme over the other answers counts
    the subsets where every other answer appears fewer than j times, and those where t others tie at j
    (weight 1/(t+1)).
    """
    n = len(answers)
    _check_k(n, k)
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    c = counts.pop(correct, 0)
    others = list(counts.values())
    total = math.comb(n, k)
    win = 0.0
    for j in range(1, min(c, k) + 1):
        rest = k - j
        # ways[s][t] = subsets of size s from the groups so far with every group < j, except t groups == j
        ways: dict[tuple[int, int], int] = {(0, 0): 1}
        for g in others:
            nxt: dict[tuple[int, int], int] = {}
            for (s, t), w in ways.items():
                for x in range(min(g, j, rest - s) + 1):
                    key = (s + x, t + (x == j))
                    nxt[key] = nxt.get(key, 0) + w * math.comb(g, x)
            ways = nxt
        subsets = sum(w / (t + 1) for (s, t), w in ways.items() if s == rest)
        win += math.comb(c, j) * subsets
    return win / total


def best_of_n_at_k(rewards: Sequence[float], correct: Sequence[bool], k: int) -> float:
    """Unbiased best-of-n@k: the chance that the highest-reward sample of a random k-subset is correct.

    With samples sorted by reward, the one with r samples above it is the subset maximum with probability
    C(n-1-r, k-1)/C(n, k). Tied rewards share their probability equally (random tie-break).
    """
    r = np.asarray(rewards, dtype=float)
    ok = np.asarray(correct, dtype=float)
    n = r.size
    if ok.size != n:
        raise InputError("rewards and correct must have the same length")
    _check_k(n, k)
    order = np.argsort(-r, kind="stable")
    r_sorted, ok_sorted = r[order], ok[order]
    total = math.comb(n, k)
    p_max = np.array([math.comb(n - 1 - i, k - 1) / total for i in range(n)])
    out = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and r_sorted[j + 1] == r_sorted[i]:
            j += 1
        out += p_max[i : j + 1].sum() * ok_sorted[i : j + 1].mean()
        i = j + 1
    return float(out)


def weighted_at_k(answers: Sequence, rewards: Sequence[float], correct, k: int, *, n_draws: int = 4000, seed: int = 0) -> float:
    """Weighted majority@k: the chance that the answer with the largest summed reward over a random
    k-subset is correct (ties broken uniformly).

    Exact (enumerates every subset) when C(n, k) ≤ n_draws; otherwise an unbiased Monte Carlo estimate
    over ``n_draws`` subsets drawn with ``numpy.random.default_rng(seed)`` (no closed form is known).
    """
    import itertools

    n = len(answers)
    r = np.asarray(rewards, dtype=float)
    if r.size != n:
        raise InputError("answers and rewards must have the same length")
    _check_k(n, k)
    labels = {a: i for i, a in enumerate(dict.fromkeys(answers))}
    idx = np.array([labels[a] for a in answers])
    target = labels.get(correct, -1)

    def score(subset) -> float:
        totals = np.bincount(idx[list(subset)], weights=r[list(subset)], minlength=len(labels))
        best = totals.max()
        winners = np.flatnonzero(np.isclose(totals, best, rtol=0, atol=1e-12) & (np.bincount(idx[list(subset)], minlength=len(labels)) > 0))
        return float(target in winners) / len(winners)

    if math.comb(n, k) <= n_draws:
        subsets = list(itertools.combinations(range(n), k))
        return float(np.mean([score(s) for s in subsets]))
    rng = np.random.default_rng(seed)
    return float(np.mean([score(rng.choice(n, size=k, replace=False)) for _ in range(n_draws)]))


# ---------------------------------------------------------------------------------------------
# Vectorised curves over many k at once (what `planner fit` uses on per-problem rows)


def pass_at_k_curve(n, c, ks) -> np.ndarray:
    """Unbiased pass@k for every k in ``ks`` at once: 1 - C(n-c, k)/C(n, k) through log-gamma (Chen et al. 2021).

    ``n``, ``c``: samples and correct samples of one problem (or arrays of problems); returns shape
    ``np.shape(n) + (len(ks),)``. Exact to rounding for any n (no big integers, no per-k loop).
    """
    from scipy.special import gammaln

    n_a = np.asarray(n, dtype=float)[..., None]
    c_a = np.asarray(c, dtype=float)[..., None]
    k = np.asarray(ks, dtype=float)
    if np.any(c_a < 0) or np.any(c_a > n_a) or np.any(k < 1) or np.any(k > n_a):
        raise InputError("pass_at_k needs 0 ≤ c ≤ n and 1 ≤ k ≤ n")
    fail = n_a - c_a
    with np.errstate(invalid="ignore", divide="ignore"):
        log_ratio = gammaln(fail + 1) - gammaln(fail - k + 1) - gammaln(n_a + 1) + gammaln(n_a - k + 1)
        out = 1.0 - np.exp(log_ratio)
    return np.where(fail < k, 1.0, np.clip(out, 0.0, 1.0))


def best_of_n_curve(rewards: Sequence[float], correct: Sequence[bool], ks) -> np.ndarray:
    """Unbiased best-of-n@k for every k in ``ks`` (closed form of ``best_of_n_at_k``, vectorised over samples and k).

    The sample with r samples ranked above it is the maximum of a random k-subset with probability
    C(n-1-r, k-1)/C(n, k); tied rewards share their probability (random tie-break).
    """
    from scipy.special import gammaln

    r = np.asarray(rewards, dtype=float)
    ok = np.asarray(correct, dtype=float)
    n = r.size
    if ok.size != n:
        raise InputError("rewards and correct must have the same length")
    k = np.asarray(ks, dtype=float)[None, :]
    if np.any(k < 1) or np.any(k > n):
        raise InputError(f"k must be in [1, n={n}]")
    order = np.argsort(-r, kind="stable")
    r_sorted, ok_sorted = r[order], ok[order]
    above = np.arange(n, dtype=float)[:, None]  # samples ranked above this one
    rest = n - 1 - above
    with np.errstate(invalid="ignore", divide="ignore"):
        log_p = (gammaln(rest + 1) - gammaln(k) - gammaln(rest - k + 2)) - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
        p_max = np.where(rest >= k - 1, np.exp(log_p), 0.0)
    _, group = np.unique(r_sorted, return_inverse=True)
    share = np.bincount(group, weights=ok_sorted) / np.bincount(group)
    return (p_max * share[group][:, None]).sum(axis=0)


def vote_curves(labels, label_correct, ks, *, rewards=None, n_draws: int = 256, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """majority@k (and weighted@k when ``rewards`` are given) for every k in ``ks``, by Monte Carlo over orderings.

    labels: each sample's answer as an integer 0..L-1; label_correct: whether each answer is correct
    (several answers may be, e.g. equivalent forms). ``n_draws`` random orderings of the n samples are
    drawn from ``rng``; the first k of an ordering is a uniformly random k-subset without replacement, so
    each estimate is unbiased, the k = n one exact, and the curve over k uses common random numbers.
    Plurality (or the largest summed reward) wins; ties are split evenly among the tied answers.
    No closed form is known for the vote over subsets; the Monte Carlo standard error is at most
    0.5/sqrt(n_draws) per problem and shrinks by sqrt(problems) in the mean.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.size
    n_labels = int(labels.max()) + 1
    good = np.asarray(label_correct, dtype=bool)
    order = np.argsort(rng.random((n_draws, n)), axis=1)
    lab = labels[order]
    rew = None if rewards is None else np.asarray(rewards, dtype=float)[order]
    offset = (np.arange(n_draws, dtype=np.int64) * n_labels)[:, None]
    majority, weighted = [], []
    for k in ks:
        k = int(k)
        idx = (offset + lab[:, :k]).ravel()
        counts = np.bincount(idx, minlength=n_draws * n_labels).reshape(n_draws, n_labels)
        win = counts == counts.max(axis=1, keepdims=True)
        majority.append(float(np.mean((win & good).sum(axis=1) / win.sum(axis=1))))
        if rew is not None:
            sums = np.bincount(idx, weights=rew[:, :k].ravel(), minlength=n_draws * n_labels).reshape(n_draws, n_labels)
            sums = np.where(counts > 0, sums, -np.inf)
            top = (np.abs(sums - sums.max(axis=1, keepdims=True)) <= 1e-12) & (counts > 0)
            weighted.append(float(np.mean((top & good).sum(axis=1) / top.sum(axis=1))))
    return np.array(majority), (np.array(weighted) if rew is not None else None)
