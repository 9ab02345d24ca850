"""Inference scaling laws: what extra samples buy, per search method, with uncertainty.

Pure maths and fitting; no file I/O, no printing. scipy is imported inside the functions that
need it so that importing this module stays cheap.

Forms (each judged by held-out error, see ``bench/heldout_scaling.py`` and ``docs/scaling.md``):

``exp_power``
    Coverage c(k) = exp(a * k**b) with a < 0 and b < 0 (Brown et al. 2024, arXiv 2407.21787,
    Sec. 3 / Fig. 5: "log c = a k^b"; their fitted b are negative, e.g. a = -1.33, b = -0.43 for
    Llama-3-8B-Instruct on MATH).
``beta_pass``
    Per-problem success p ~ Beta(alpha, beta); pass@k = 1 - E[(1-p)^k]
    = 1 - B(alpha, beta + k) / B(alpha, beta) (Schaeffer et al. 2025, arXiv 2502.17578, Sec. 3).
``beta_vote``
    Same difficulty distribution, plus an answer model: on a problem with success p, the most
    common wrong answer has probability q = rho * (1 - p) and the remaining wrong mass is spread
    over answers that never form a plurality. A vote (majority, or weighted / best-of-n with a
    method-specific effective rho) is right when the correct answer outnumbers the top wrong one;
    ties are split evenly. As k grows this tends to P(p > rho / (1 + rho)) < pass@k: the plateau
    below coverage of Wu et al. 2024 (arXiv 2408.00724, Theorems 1-2). ``greedy`` is E[p] and
    ``pass-at-k`` the closed form above, so one fit ties all sampling methods of a model together.
``saturating_power``
    acc(k) = A_inf - (A_inf - A_1) * k**(-gamma) with A_inf = A_1 + h * (1 - A_1): a generic
    saturating curve for tree search (REBASE, MCTS) whose per-sample distribution is not i.i.d.
``log_linear``
    acc(k) = A_1 + g * ln k: the "accuracy grows with log compute" baseline (never saturates;
    kept to show that it over-predicts when extrapolated).
``constant``
    acc(k) = A_1: greedy decoding uses one sample whatever k is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from planner.domain import SEARCH_METHODS
from planner.errors import FitError, InputError, suggest

METHODS = SEARCH_METHODS
VOTE_METHODS = ("majority", "best-of-n", "weighted-majority", "ensemble")

Transform = Callable[[np.ndarray], np.ndarray]
"""A per-sample success transform p -> p' (e.g. a quantization penalty), applied before aggregating over k."""

EXTRAPOLATION_FACTOR = 4.0  # warn when k > 4x the largest fitted k
WIDEN_PER_OCTAVE = 0.5  # interval half-width grows by 50 % per doubling of k beyond the data
SPARSE_MIN_PARAMS = 16  # fits with this many parameters use a sparse finite-difference Jacobian
BOOT_TOL = 1e-6  # bootstrap refits start at the optimum; percentile intervals do not need tighter convergence
EXACT_VOTE_MAX_K = 128  # exact trinomial vote up to here, normal approximation above
Z95 = 1.959963984540054


def check_method(method: str) -> str:
    """Return ``method`` if it is a known search-method id, else raise InputError with suggestions."""
    if method not in METHODS:
        hint = suggest(method, METHODS)
        raise InputError(
            f"unknown method '{method}'"
            + (f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else f"; expected one of {', '.join(METHODS)}")
        )
    return method


# ---------------------------------------------------------------------------------------------
# Closed forms (accept scalars or arrays of k)


def exp_power(k, a: float, b: float) -> np.ndarray:
    """Brown et al. 2024 coverage c(k) = exp(a * k**b) (a < 0, b < 0)."""
    k = np.asarray(k, dtype=float)
    return np.exp(a * k**b)


def beta_pass_at_k(k, alpha: float, beta: float) -> np.ndarray:
    """pass@k = 1 - B(alpha, beta + k) / B(alpha, beta) for p ~ Beta(alpha, beta) (Schaeffer et al. 2025, Eq. 3)."""
    from scipy.special import gammaln

    k = np.asarray(k, dtype=float)
    log_ratio = gammaln(beta + k) - gammaln(beta) - gammaln(alpha + beta + k) + gammaln(alpha + beta)
    return 1.0 - np.exp(log_ratio)


def beta_vote_plateau(alpha: float, beta: float, rho: float) -> float:
    """k -> infinity limit of the vote: P(p > rho / (1 + rho)) (Wu et al. 2024, Theorem 1 under this answer model)."""
    from scipy.special import betainc

    tau = rho / (1.0 + rho)
    return float(1.0 - betainc(alpha, beta, tau))


def saturating_power(k, a1: float, a_inf: float, gamma: float) -> np.ndarray:
    """acc(k) = A_inf - (A_inf - A_1) * k**(-gamma)."""
    k = np.asarray(k, dtype=float)
    return a_inf - (a_inf - a1) * k ** (-gamma)


# -- the difficulty grid used to integrate over p ~ Beta ------------------------------------------


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Cell edges and nodes on [0, 1], uniform in logit p (fine near 0 and 1 where Beta mass piles up)."""
    z = np.linspace(-14.0, 14.0, 281)
    inner = 1.0 / (1.0 + np.exp(-z))
    edges = np.concatenate([[0.0], inner, [1.0]])
    zmid = 0.5 * (z[1:] + z[:-1])
    nodes = np.concatenate([[inner[0] / 2], 1.0 / (1.0 + np.exp(-zmid)), [(1.0 + inner[-1]) / 2]])
    return edges, nodes


_EDGES, _NODES = _grid()
_RHO_GRID = np.linspace(0.0, 1.0, 81)


def beta_cell_masses(alpha: float, beta: float) -> np.ndarray:
    """Exact Beta(alpha, beta) probability of each grid cell (cached: fits evaluate the same model many times)."""
    return _beta_cell_masses(float(alpha), float(beta))


@lru_cache(maxsize=256)
def _beta_cell_masses(alpha: float, beta: float) -> np.ndarray:
    from scipy.special import betainc

    cdf = betainc(alpha, beta, _EDGES)
    out = np.clip(np.diff(cdf), 0.0, None)
    out.setflags(write=False)
    return out


def _vote_exact(p: np.ndarray, rho: np.ndarray, k: int) -> np.ndarray:
    """P(vote picks the correct answer | p) for k samples, exactly (see module docstring).

    m = number of samples that are correct or the top wrong answer ~ Binomial(k, p + q);
    given m, correct count ~ Binomial(m, p / (p + q)); correct wins if it exceeds m / 2,
    half the ties go to it; with m = 0 the scattered answers win.
    """
    from scipy.special import bdtrc, gammaln
    from scipy.special import errstate as special_errstate

    p = np.asarray(p, dtype=float)[..., None]
    q = np.asarray(rho, dtype=float)[..., None] * (1.0 - p)
    t = np.clip(p + q, 1e-300, 1.0)
    s = np.clip(p / t, 0.0, 1.0)
    m = np.arange(k + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_comb = gammaln(k + 1) - gammaln(m + 1) - gammaln(k - m + 1)
        log_pm = log_comb + m * np.log(t) + (k - m) * np.log1p(-np.clip(t, 0, 1 - 1e-16))
        w = np.exp(np.where(np.isfinite(log_pm), log_pm, -np.inf))
        half = np.floor(m / 2)
        # P(X > floor(m/2)), X ~ Bin(m, s); m = 0 is handled below (bdtrc(0, 0, s) is outside its domain)
        with special_errstate(all="ignore"):
            wins = bdtrc(half.astype(np.int64), np.maximum(m, 1.0).astype(np.int64), s)
        even = (m % 2 == 0) & (m > 0)
        log_tie = (gammaln(m + 1) - 2 * gammaln(half + 1)) + half * np.log(np.clip(s, 1e-300, 1)) + half * np.log(np.clip(1 - s, 1e-300, 1))
        tie = np.where(even, np.exp(np.where(np.isfinite(log_tie), log_tie, -np.inf)), 0.0)
        wins = np.where(m > 0, wins, 0.0)
        out = np.sum(w * (wins + 0.5 * tie), axis=-1)
    return np.clip(out, 0.0, 1.0)


def _vote_normal(p: np.ndarray, rho: np.ndarray, k: int) -> np.ndarray:
    """Normal approximation of ``_vote_exact`` for large k, capped by 1 - (1-p)^k (a vote needs one correct sample)."""
    from scipy.special import ndtr

    p = np.asarray(p, dtype=float)
    q = np.asarray(rho, dtype=float) * (1.0 - p)
    mean = p - q
    var = np.clip(p + q - mean**2, 1e-12, None)
    with np.errstate(over="ignore", under="ignore"):
        approx = ndtr(mean * math.sqrt(k) / np.sqrt(var))
        cap = 1.0 - np.exp(k * np.log1p(-np.clip(p, 0.0, 1 - 1e-16)))
    return np.clip(np.minimum(approx, cap), 0.0, 1.0)


@lru_cache(maxsize=256)
def _vote_table(k: int) -> np.ndarray:
    """Exact vote probability on the (rho grid x p nodes) table for one k (cached; k <= EXACT_VOTE_MAX_K)."""
    rho = np.repeat(_RHO_GRID[:, None], _NODES.size, axis=1)
    p = np.repeat(_NODES[None, :], _RHO_GRID.size, axis=0)
    table = _vote_exact(p, rho, k)
    table.setflags(write=False)
    return table


def vote_probability(p, rho, k: int) -> np.ndarray:
    """P(correct | per-sample success p) of a k-sample vote with top-wrong share rho (vectorised in p and rho)."""
    p = np.asarray(p, dtype=float)
    rho = np.broadcast_to(np.asarray(rho, dtype=float), p.shape) if np.ndim(rho) else np.full(p.shape, float(rho))
    if k <= 0:
        raise InputError(f"samples must be ≥ 1, got {k}")
    if k > EXACT_VOTE_MAX_K:
        return _vote_normal(p, rho, k)
    table = _vote_table(int(k))
    # bilinear interpolation: rho on a linear grid, p on the logit grid of the nodes
    r = np.clip(rho, 0.0, 1.0) * (_RHO_GRID.size - 1)
    i0 = np.clip(np.floor(r).astype(int), 0, _RHO_GRID.size - 2)
    fr = r - i0
    zp = np.log(np.clip(p, 1e-300, None)) - np.log1p(-np.clip(p, 0.0, 1 - 1e-16))
    znodes = np.log(_NODES) - np.log1p(-_NODES)
    j = np.clip(np.searchsorted(znodes, zp) - 1, 0, _NODES.size - 2)
    fz = np.clip((zp - znodes[j]) / (znodes[j + 1] - znodes[j]), 0.0, 1.0)
    low = table[i0, j] * (1 - fz) + table[i0, j + 1] * fz
    high = table[i0 + 1, j] * (1 - fz) + table[i0 + 1, j + 1] * fz
    return np.clip(low * (1 - fr) + high * fr, 0.0, 1.0)


def beta_expectation(alpha: float, beta: float, g: Callable[[np.ndarray], np.ndarray], transform: Transform | None = None) -> float:
    """E[g(T(p))] for p ~ Beta(alpha, beta) on the fixed grid (T = per-sample transform)."""
    masses = beta_cell_masses(alpha, beta)
    p = _NODES if transform is None else np.clip(np.asarray(transform(_NODES.copy()), dtype=float), 0.0, 1.0)
    return float(np.dot(masses, g(p)) / max(masses.sum(), 1e-300))


@lru_cache(maxsize=64)
def _vote_stack(ks: tuple[int, ...]) -> np.ndarray:
    """Exact vote tables for several whole k, stacked (len(ks), rho grid, p nodes); read-only, cached."""
    stack = np.stack([_vote_table(k) for k in ks])
    stack.setflags(write=False)
    return stack


def _votes_on_nodes(rho: float, ks: tuple[int, ...]) -> np.ndarray:
    """P(vote right | p) at the grid nodes (rows: the whole k in ``ks``), interpolated in rho only."""
    exact = tuple(k for k in ks if k <= EXACT_VOTE_MAX_K)
    out = np.empty((len(ks), _NODES.size))
    if exact:
        r = min(max(rho, 0.0), 1.0) * (_RHO_GRID.size - 1)
        i0 = min(math.floor(r), _RHO_GRID.size - 2)
        fr = r - i0
        stack = _vote_stack(exact)
        rows = stack[:, i0] * (1.0 - fr) + stack[:, i0 + 1] * fr
        j = 0
        for i, k in enumerate(ks):
            if k <= EXACT_VOTE_MAX_K:
                out[i] = rows[j]
                j += 1
    for i, k in enumerate(ks):
        if k > EXACT_VOTE_MAX_K:
            out[i] = _vote_normal(_NODES, np.full(_NODES.shape, rho), k)
    return out


def beta_vote_at_k(k, alpha: float, beta: float, rho: float, transform: Transform | None = None) -> np.ndarray:
    """Vote accuracy at each k under Beta difficulty and the top-wrong-answer model.

    A non-integer k (digitized curves) is interpolated linearly between the whole k on either side.
    Vectorised over k: the Beta cell masses once per call, the vote tables read at the grid nodes.
    """
    ks = np.atleast_1d(np.asarray(k, dtype=float))
    if np.any(~np.isfinite(ks)) or np.any(ks < 1):
        raise InputError(f"samples must be ≥ 1, got {ks.tolist()}")
    masses = beta_cell_masses(alpha, beta)
    total = max(masses.sum(), 1e-300)
    lo = np.floor(ks.ravel()).astype(np.int64)
    frac = ks.ravel() - lo
    whole = tuple(sorted(set(lo.tolist()) | {int(v) + 1 for v, f in zip(lo, frac) if f > 1e-12}))
    if transform is None:
        probs = _votes_on_nodes(float(rho), whole)
    else:
        p_t = np.clip(np.asarray(transform(_NODES.copy()), dtype=float), 0.0, 1.0)
        probs = np.stack([vote_probability(p_t, rho, kk) for kk in whole])
    values = dict(zip(whole, probs @ masses / total))
    out = np.array([values[int(a)] + (f * (values[int(a) + 1] - values[int(a)]) if f > 1e-12 else 0.0) for a, f in zip(lo, frac)])
    out = out.reshape(ks.shape)
    return out if np.ndim(k) else out[0]


def beta_pass_transformed(k, alpha: float, beta: float, transform: Transform | None) -> np.ndarray:
    """pass@k; closed form without a transform, grid integral of 1 - (1 - T(p))^k with one."""
    if transform is None:
        return beta_pass_at_k(k, alpha, beta)
    ks = np.atleast_1d(np.asarray(k, dtype=float))
    out = np.array([beta_expectation(alpha, beta, lambda p, kk=kk: 1.0 - np.exp(kk * np.log1p(-np.clip(p, 0, 1 - 1e-16))), transform) for kk in ks.ravel()])
    return out.reshape(ks.shape) if np.ndim(k) else out[0]


# ---------------------------------------------------------------------------------------------
# Forms: parameters (with scope and transformed space) and a curve function


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of a form.

    scope: ``model`` (one per model), ``method`` (one per method, shared across models),
    ``curve`` (one per model x method) or ``shared``.
    space: the space least_squares works in: ``logit`` (0 < v < 1), ``log`` (v > 0), ``neglog`` (v < 0).
    """

    name: str
    scope: str
    space: str
    lower: float
    upper: float
    starts: tuple[float, ...]
    skip_methods: tuple[str, ...] = ()


def _to_theta(space: str, v):
    v = np.asarray(v, dtype=float)
    if space == "logit":
        return np.log(v) - np.log1p(-v)
    if space == "log":
        return np.log(v)
    if space == "neglog":
        return np.log(-v)
    return v


def _from_theta(space: str, t):
    t = np.asarray(t, dtype=float)
    if space == "logit":
        return 1.0 / (1.0 + np.exp(-t))
    if space == "log":
        return np.exp(t)
    if space == "neglog":
        return -np.exp(t)
    return t


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    params: tuple[ParamSpec, ...]
    source: str
    methods: tuple[str, ...]  # methods this form can describe
    curve: Callable[..., np.ndarray] = field(repr=False)

    def spec(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def _curve_constant(k, v, method, transform):
    a1 = v["a1"] if transform is None else float(np.clip(transform(np.array([v["a1"]])), 0, 1)[0])
    return np.full(np.shape(k), a1, dtype=float)


def _curve_exp_power(k, v, method, transform):
    out = exp_power(k, v["a"], v["b"])
    return out if transform is None else np.clip(transform(out), 0.0, 1.0)


def _alpha_beta(v) -> tuple[float, float]:
    mu, kappa = v["mu"], v["kappa"]
    return mu * kappa, (1.0 - mu) * kappa


def _curve_beta_pass(k, v, method, transform):
    alpha, beta = _alpha_beta(v)
    if method == "greedy":
        return np.full(np.shape(k), beta_expectation(alpha, beta, lambda p: p, transform))
    return np.asarray(beta_pass_transformed(k, alpha, beta, transform), dtype=float)


def _curve_beta_vote(k, v, method, transform):
    alpha, beta = _alpha_beta(v)
    if method == "greedy":
        return np.full(np.shape(k), beta_expectation(alpha, beta, lambda p: p, transform))
    if method in ("pass-at-k", "human-pick"):
        return np.asarray(beta_pass_transformed(k, alpha, beta, transform), dtype=float)
    return np.asarray(beta_vote_at_k(k, alpha, beta, v["rho"], transform), dtype=float)


def _curve_saturating(k, v, method, transform):
    a1 = v["a1"]
    if transform is not None:  # level shift only: no interaction with k is modelled for this form
        a1 = float(np.clip(transform(np.array([a1])), 0, 1)[0])
    if method == "greedy":
        return np.full(np.shape(k), a1)
    a_inf = a1 + v["h"] * (1.0 - a1)
    return saturating_power(k, a1, a_inf, v["gamma"])


def _curve_log_linear(k, v, method, transform):
    a1 = v["a1"]
    if transform is not None:
        a1 = float(np.clip(transform(np.array([a1])), 0, 1)[0])
    if method == "greedy":
        return np.full(np.shape(k), a1)
    return np.clip(a1 + v["g"] * np.log(np.asarray(k, dtype=float)), 0.0, 1.0)


def kumaraswamy_cell_masses(a: float, b: float) -> np.ndarray:
    """Exact Kumaraswamy(a, b) probability of each grid cell: F(x) = 1 - (1 - x^a)^b (Kumaraswamy 1980)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        xa = np.exp(a * np.log(np.clip(_EDGES, 1e-300, 1.0)))
        cdf = -np.expm1(b * np.log1p(-np.clip(xa, 0.0, 1.0 - 1e-16)))
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.clip(np.diff(cdf), 0.0, None)


def kumaraswamy_pass_at_k(k, a: float, b: float, scale: float, transform: Transform | None = None) -> np.ndarray:
    """pass@k = 1 - E[(1 - p)^k] with p = scale * X, X ~ Kumaraswamy(a, b) (Schaeffer et al. 2025, arXiv 2502.17578).

    The three-parameter scaled Kumaraswamy distribution of per-problem success: the shape a sets the left
    tail (density ~ p^(a-1) near 0, which gives the power law of -log pass@k in k), b the right shape, and
    scale <= 1 the largest per-problem success. Integrated on the fixed grid in X with exact cell masses;
    k may be non-integer. ``transform`` acts on each problem's p before aggregating.
    """
    masses = kumaraswamy_cell_masses(a, b)
    p = scale * _NODES
    if transform is not None:
        p = np.clip(np.asarray(transform(p.copy()), dtype=float), 0.0, 1.0)
    ks = np.atleast_1d(np.asarray(k, dtype=float))
    with np.errstate(over="ignore", under="ignore"):
        fail = np.exp(np.outer(ks.ravel(), np.log1p(-np.clip(p, 0.0, 1 - 1e-16))))
    out = 1.0 - fail @ masses / max(masses.sum(), 1e-300)
    out = out.reshape(ks.shape)
    return out if np.ndim(k) else out[0]


def _curve_kumaraswamy(k, v, method, transform):
    if method == "greedy":
        return np.full(np.shape(k), float(kumaraswamy_pass_at_k(1.0, v["a"], v["b"], v["scale"], transform)))
    return np.asarray(kumaraswamy_pass_at_k(k, v["a"], v["b"], v["scale"], transform), dtype=float)


_NOT_GREEDY = ("greedy",)
_NOT_GREEDY_PASS = ("greedy", "pass-at-k", "human-pick")

FORMS: Mapping[str, Form] = {
    "constant": Form(
        name="constant",
        params=(ParamSpec("a1", "model", "logit", 1e-4, 1 - 1e-4, (0.3, 0.7)),),
        source="greedy decoding: one sample whatever k",
        methods=("greedy",),
        curve=_curve_constant,
    ),
    "exp_power": Form(
        name="exp_power",
        params=(
            ParamSpec("a", "curve", "neglog", -50.0, -1e-6, (-1.0, -3.0)),
            ParamSpec("b", "curve", "linear", -2.0, -1e-4, (-0.3, -0.1)),
        ),
        source="Brown et al. 2024, arXiv 2407.21787, Sec. 3 (log c = a k^b)",
        methods=("pass-at-k", "human-pick", "majority", "best-of-n", "weighted-majority", "rebase", "mcts", "ensemble"),
        curve=_curve_exp_power,
    ),
    "beta_pass": Form(
        name="beta_pass",
        params=(
            ParamSpec("mu", "model", "logit", 1e-4, 1 - 1e-4, (0.3, 0.6, 0.1)),
            ParamSpec("kappa", "model", "log", 1e-2, 1e3, (1.0, 0.2, 5.0)),
        ),
        source="Schaeffer et al. 2025, arXiv 2502.17578, Sec. 3 (Beta-distributed per-problem success)",
        methods=("greedy", "pass-at-k", "human-pick"),
        curve=_curve_beta_pass,
    ),
    "beta_vote": Form(
        name="beta_vote",
        params=(
            ParamSpec("mu", "model", "logit", 1e-4, 1 - 1e-4, (0.3, 0.6, 0.1)),
            ParamSpec("kappa", "model", "log", 1e-2, 1e3, (1.0, 0.3, 4.0)),
            ParamSpec("rho", "method", "logit", 1e-4, 1 - 1e-4, (0.5, 0.2, 0.85), skip_methods=_NOT_GREEDY_PASS),
        ),
        source="Schaeffer et al. 2025 (Beta difficulty) + Wu et al. 2024, arXiv 2408.00724, Thms 1-2 (vote plateau)",
        methods=("greedy", "pass-at-k", "human-pick", "majority", "best-of-n", "weighted-majority", "ensemble"),
        curve=_curve_beta_vote,
    ),
    "saturating_power": Form(
        name="saturating_power",
        params=(
            ParamSpec("a1", "model", "logit", 1e-4, 1 - 1e-4, (0.3, 0.6)),
            ParamSpec("h", "method", "logit", 1e-4, 1 - 1e-4, (0.3, 0.1, 0.6), skip_methods=_NOT_GREEDY),
            ParamSpec("gamma", "method", "log", 1e-3, 5.0, (0.5, 0.2, 1.0), skip_methods=_NOT_GREEDY),
        ),
        source="generic saturating power law in k (cf. Wu et al. 2024 Fig. 2-4 plateaus)",
        methods=METHODS,
        curve=_curve_saturating,
    ),
    "kumaraswamy_pass": Form(
        name="kumaraswamy_pass",
        params=(
            ParamSpec("a", "model", "log", 1e-2, 50.0, (0.5, 1.0, 0.2)),
            ParamSpec("b", "model", "log", 1e-2, 1e3, (1.0, 3.0, 0.5)),
            ParamSpec("scale", "model", "logit", 1e-3, 1 - 1e-6, (0.95, 0.8, 0.99)),
        ),
        source="Schaeffer et al. 2025, arXiv 2502.17578 (scaled Kumaraswamy distribution of per-problem success)",
        methods=("greedy", "pass-at-k", "human-pick"),
        curve=_curve_kumaraswamy,
    ),
    "log_linear": Form(
        name="log_linear",
        params=(
            ParamSpec("a1", "model", "logit", 1e-4, 1 - 1e-4, (0.3, 0.6)),
            ParamSpec("g", "method", "linear", -1.0, 1.0, (0.02, 0.0), skip_methods=_NOT_GREEDY),
        ),
        source="baseline: accuracy linear in log samples (no saturation)",
        methods=METHODS,
        curve=_curve_log_linear,
    ),
}


def get_form(name: str) -> Form:
    if name not in FORMS:
        hint = suggest(name, FORMS)
        raise InputError(f"unknown law form '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(FORMS)}"))
    return FORMS[name]


# ---------------------------------------------------------------------------------------------
# Data points and fit results


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One observed accuracy (a fraction) of ``method`` with ``samples`` samples."""

    model: str
    method: str
    samples: int
    accuracy: float
    n_problems: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        check_method(self.method)
        if (isinstance(self.samples, bool) or not isinstance(self.samples, (int, float, np.integer, np.floating))
                or not math.isfinite(self.samples) or self.samples < 1):
            raise InputError(f"samples must be a number ≥ 1, got {self.samples!r}")
        if not (isinstance(self.accuracy, (int, float)) and math.isfinite(self.accuracy)):
            raise InputError(f"accuracy must be a finite number, got {self.accuracy!r}")
        if not 0.0 <= self.accuracy <= 1.0:
            raise InputError(f"accuracy must be a fraction in [0, 1], got {self.accuracy!r}")
        if self.n_problems is not None and (isinstance(self.n_problems, bool) or self.n_problems < 1):
            raise InputError(f"n_problems must be a positive integer, got {self.n_problems!r}")

    @property
    def sigma(self) -> float:
        """Binomial standard error of the accuracy (0.01 when the number of problems is unknown), floored."""
        if self.n_problems:
            se = math.sqrt(max(self.accuracy * (1 - self.accuracy), 0.0025) / self.n_problems)
        else:
            se = 0.01
        return max(se, 0.002)


@dataclass(frozen=True, slots=True, kw_only=True)
class FitResult:
    """A fitted form: point estimates, bootstrap intervals and diagnostics. Never prints.

    ``params`` and ``intervals`` are in natural units (fractions for accuracies); ``theta_names``,
    ``theta`` and ``covariance`` are in the transformed space the optimiser used and drive the
    prediction bands.
    """

    form: str
    params: Mapping[str, float]
    intervals: Mapping[str, tuple[float, float]]
    theta_names: tuple[str, ...]
    theta: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    n_points: int
    n_params: int
    residuals: tuple[float, ...]
    rmse: float
    success: bool
    message: str
    warnings: tuple[str, ...] = ()
    k_range: tuple[int, int] = (1, 1)
    models: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    seed: int = 0
    n_boot: int = 0

    @property
    def max_abs_residual(self) -> float:
        return max((abs(r) for r in self.residuals), default=0.0)


def _param_key(spec: ParamSpec, model: str, method: str) -> str:
    if spec.scope == "model":
        return f"{spec.name}[{model}]"
    if spec.scope == "method":
        return f"{spec.name}[{method}]"
    if spec.scope == "curve":
        return f"{spec.name}[{model}|{method}]"
    return spec.name


def curve_values(form: Form, params: Mapping[str, float], model: str, method: str) -> dict[str, float]:
    """The parameter values of ``form`` that apply to (model, method)."""
    out = {}
    for spec in form.params:
        if method in spec.skip_methods:
            continue
        key = _param_key(spec, model, method)
        if key not in params:
            raise InputError(f"law has no parameter '{key}' for model '{model}', method '{method}'")
        out[spec.name] = float(params[key])
    return out


def n_free_params(form: str | Form, points: Sequence[Point]) -> int:
    """How many parameters ``form`` fits on ``points`` (per model, method or curve, as its specs say)."""
    return len(_layout(get_form(form) if isinstance(form, str) else form, points)[0])


def _layout(form: Form, points: Sequence[Point]) -> tuple[list[str], list[ParamSpec]]:
    names, specs = [], []
    for pt in points:
        for spec in form.params:
            if pt.method in spec.skip_methods:
                continue
            key = _param_key(spec, pt.model, pt.method)
            if key not in names:
                names.append(key)
                specs.append(spec)
    return names, specs


def _evaluate(form: Form, names, specs, theta, groups, transform=None) -> np.ndarray:
    params = {n: float(_from_theta(s.space, t)) for n, s, t in zip(names, specs, theta)}
    out = []
    for (model, method), ks in groups:
        out.append(np.atleast_1d(form.curve(np.asarray(ks, dtype=float), curve_values(form, params, model, method), method, transform)))
    return np.concatenate(out)


def fit(points: Sequence[Point], form: str | Form, *, seed: int = 0, n_boot: int = 200, loss: str = "soft_l1") -> FitResult:
    """Fit ``form`` to ``points`` by bounded robust least squares in a transformed space.

    Residuals are (prediction - observed) / binomial standard error; several deterministic
    starting points; the best converged start wins. Intervals: a seeded parametric bootstrap of
    ``n_boot`` resamples (observed = fitted + N(0, sigma_i * max(1, sqrt(chi2/dof))), refitted).
    Raises FitError on too few points, NaN or no convergence; a weak fit gets warnings instead.
    """
    from scipy.optimize import least_squares

    form = get_form(form) if isinstance(form, str) else form
    points = list(points)
    if len(points) < 1 or (len(points) < 2 and form.name != "constant"):
        raise FitError(f"form '{form.name}' needs at least 2 points, got {len(points)}")
    for pt in points:
        if pt.method not in form.methods:
            raise FitError(f"form '{form.name}' cannot describe method '{pt.method}' (it covers {', '.join(form.methods)})")
    # group points by curve, keeping order deterministic
    keys = sorted({(p.model, p.method) for p in points})
    groups = [(key, [p.samples for p in points if (p.model, p.method) == key]) for key in keys]
    ordered = [p for key in keys for p in points if (p.model, p.method) == key]
    y = np.array([p.accuracy for p in ordered])
    sigma = np.array([p.sigma for p in ordered])
    if not np.all(np.isfinite(y)):
        raise FitError("accuracies contain NaN or infinity")
    names, specs = _layout(form, ordered)
    n_params = len(names)
    if len(ordered) < n_params:
        raise FitError(
            f"form '{form.name}' has {n_params} free parameters but only {len(ordered)} points; "
            "add points (more sample counts, or a greedy/k=1 point per model) or choose a form with fewer parameters"
        )
    lo = np.array([float(_to_theta(s.space, s.lower)) for s in specs])
    hi = np.array([float(_to_theta(s.space, s.upper)) for s in specs])
    if np.any(lo > hi):
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)

    def residuals(theta, target):
        with np.errstate(all="ignore"):
            r = (_evaluate(form, names, specs, theta, groups) - target) / sigma
        return np.where(np.isfinite(r), r, 1e6)

    # which parameters each point depends on: with many models most parameters touch one curve, and a sparse
    # finite-difference Jacobian perturbs those together (a few residual calls instead of one per parameter)
    index = {n: j for j, n in enumerate(names)}
    pattern = np.zeros((len(ordered), n_params), dtype=bool)
    for i, p in enumerate(ordered):
        for key in _used_keys(form, p.model, p.method):
            if key in index:
                pattern[i, index[key]] = True
    sparse = {"jac_sparsity": pattern} if n_params >= SPARSE_MIN_PARAMS and pattern.mean() < 0.5 else {}
    starts = _starting_points(specs, names, ordered, lo, hi)
    best = None
    for x0 in starts:
        try:
            res = least_squares(residuals, x0, args=(y,), bounds=(lo, hi), loss=loss, f_scale=2.0, x_scale=1.0, max_nfev=400, **sparse)
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            continue
        if not np.all(np.isfinite(res.x)) or not np.isfinite(res.cost):
            continue
        if best is None or res.cost < best.cost - 1e-12:
            best = res
    if best is None or not best.success:
        msg = best.message if best is not None else "every starting point failed"
        raise FitError(f"form '{form.name}' did not converge: {msg}")
    theta = best.x
    fitted = _evaluate(form, names, specs, theta, groups)
    resid = fitted - y
    if not np.all(np.isfinite(resid)):
        raise FitError(f"form '{form.name}' produced non-finite predictions")
    rmse = float(np.sqrt(np.mean(resid**2)))
    dof = len(y) - n_params
    chi2 = float(np.sum((resid / sigma) ** 2))
    scale = max(1.0, math.sqrt(chi2 / dof)) if dof > 0 else 1.0

    draws = []
    rng = np.random.default_rng(seed)
    failed = 0
    for _ in range(n_boot):
        target = fitted + rng.normal(0.0, sigma * scale)
        try:
            res = least_squares(residuals, theta, args=(target,), bounds=(lo, hi), loss=loss, f_scale=2.0, max_nfev=100,
                                ftol=BOOT_TOL, xtol=BOOT_TOL, gtol=BOOT_TOL, **sparse)
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            failed += 1
            continue
        if res.success and np.all(np.isfinite(res.x)):
            draws.append(res.x)
        else:
            failed += 1
    warnings: list[str] = []
    if dof <= 0:
        warnings.append(
            f"{n_params} parameters for {len(y)} points: the fit interpolates; intervals reflect only the binomial noise of the data"
        )
    if rmse > 0.03:
        warnings.append(f"weak fit: RMSE {rmse * 100:.1f} accuracy points")
    at_bound = [n for n, t, a, b in zip(names, theta, lo, hi) if min(abs(t - a), abs(t - b)) < 1e-6 * max(1.0, abs(t))]
    if at_bound:
        warnings.append(f"parameters at their bounds: {', '.join(at_bound)}")
    if n_boot and failed > 0.2 * n_boot:
        warnings.append(f"{failed} of {n_boot} bootstrap refits failed; intervals are unreliable")

    params = {n: float(_from_theta(s.space, t)) for n, s, t in zip(names, specs, theta)}
    # linearised (Gauss-Newton) covariance of theta, scaled by the reduced chi-square: drives the delta-method
    # prediction bands; the bootstrap gives the (robust, percentile) parameter intervals
    jac = best.jac.toarray() if hasattr(best.jac, "toarray") else np.asarray(best.jac, dtype=float)
    cov = np.linalg.pinv(jac.T @ jac) * scale**2
    if len(draws) >= 2:
        d = np.array(draws)
        intervals = {}
        for i, (n, s) in enumerate(zip(names, specs)):
            nat = _from_theta(s.space, d[:, i])
            lo_i, hi_i = np.percentile(nat, [2.5, 97.5])
            intervals[n] = (float(min(lo_i, params[n])), float(max(hi_i, params[n])))
    else:
        intervals = {n: (v, v) for n, v in params.items()}
    return FitResult(
        form=form.name,
        params=params,
        intervals=intervals,
        theta_names=tuple(names),
        theta=tuple(float(t) for t in theta),
        covariance=tuple(tuple(float(c) for c in row) for row in cov),
        n_points=len(y),
        n_params=n_params,
        residuals=tuple(float(r) for r in resid),
        rmse=rmse,
        success=True,
        message=str(best.message),
        warnings=tuple(warnings),
        k_range=(math.floor(min(p.samples for p in ordered)), math.ceil(max(p.samples for p in ordered))),
        models=tuple(sorted({p.model for p in ordered})),
        methods=tuple(sorted({p.method for p in ordered})),
        seed=seed,
        n_boot=n_boot,
    )


def _starting_points(specs, names, points, lo, hi) -> list[np.ndarray]:
    """Deterministic starts: each spec's listed start values, cycled together, plus data-based a1/mu."""
    n_starts = max(len(s.starts) for s in specs)
    greedy = {}
    for p in points:
        if p.samples == 1 or p.method == "greedy":
            greedy.setdefault(p.model, p.accuracy)
    out = []
    for i in range(n_starts):
        x = []
        for name, spec in zip(names, specs):
            v = spec.starts[i % len(spec.starts)]
            if spec.name in ("a1", "mu") and i == 0:
                model = name[name.index("[") + 1 : -1]
                if model in greedy:
                    v = min(max(greedy[model], 0.01), 0.99)
            x.append(float(_to_theta(spec.space, v)))
        out.append(np.clip(np.array(x), lo, hi))
    return out


# ---------------------------------------------------------------------------------------------
# Prediction


class CurvePrediction(NamedTuple):
    """Predicted accuracy (fractions) at each k with a 95 % band, and any warnings."""

    accuracy: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    extrapolation_warning: str | None
    warnings: tuple[str, ...]


def predict(
    fit_result: FitResult,
    k,
    *,
    model: str,
    method: str,
    transform: Transform | None = None,
    overrides: Mapping[str, float] | None = None,
    extra_sigma: float = 0.0,
) -> CurvePrediction:
    """Accuracy at sample counts ``k`` (vectorised) for (model, method) of a fit, with a 95 % band.

    The band: the delta method on the fit's linearised covariance, widened in quadrature by
    1.96 x (the fit RMSE and ``extra_sigma``), and by ``WIDEN_PER_OCTAVE`` per doubling of k beyond the
    largest fitted k. ``transform`` is applied to the per-sample success before aggregating over k.
    ``overrides`` replaces named parameters (natural units), e.g. an anchored ``mu[model]``.
    """
    check_method(method)
    form = get_form(fit_result.form)
    ks = np.atleast_1d(np.asarray(k))
    if ks.size == 0:
        raise InputError("no sample counts given")
    ks = ks.astype(float)
    if not np.all(np.isfinite(ks)) or np.any(ks < 1):
        raise InputError(f"sample counts must be numbers ≥ 1, got {ks.tolist()}")
    if method not in form.methods:
        raise InputError(f"form '{form.name}' does not describe method '{method}'")
    overrides = dict(overrides or {})
    names = list(fit_result.theta_names)
    specs = [form.spec(n.split("[", 1)[0]) for n in names]
    theta = np.array(fit_result.theta, dtype=float)

    def params_from(th):
        prm = {n: float(_from_theta(s.space, t)) for n, s, t in zip(names, specs, th)}
        prm.update(overrides)
        return prm

    def curve(th):
        with np.errstate(all="ignore"):
            return np.asarray(form.curve(ks.astype(float), curve_values(form, params_from(th), model, method), method, transform), dtype=float)

    center = np.clip(curve(theta), 0.0, 1.0)
    cov = np.array(fit_result.covariance, dtype=float)
    used = [i for i, n in enumerate(names) if n in _used_keys(form, model, method) and n not in overrides]
    if used and np.any(cov[np.ix_(used, used)] != 0):
        # delta method: var f = g' C g with a central-difference gradient in the transformed space
        grads = []
        for i in used:
            step = 1e-4 * max(1.0, abs(theta[i]))
            up_t, dn_t = theta.copy(), theta.copy()
            up_t[i] += step
            dn_t[i] -= step
            grads.append((curve(up_t) - curve(dn_t)) / (2 * step))
        g = np.array(grads)  # (n_used, n_k)
        var = np.einsum("ik,ij,jk->k", g, cov[np.ix_(used, used)], g)
        sd = np.sqrt(np.clip(var, 0.0, None))
        low, high = center - Z95 * sd, center + Z95 * sd
    else:
        low, high = center.copy(), center.copy()
    extra = Z95 * math.hypot(fit_result.rmse, extra_sigma)
    kmax = max(fit_result.k_range[1], 1)
    grow = np.where(ks > kmax, 1.0 + WIDEN_PER_OCTAVE * np.log2(np.maximum(ks, 1) / kmax), 1.0)
    if method == "greedy":
        grow = np.ones_like(grow, dtype=float)
    down = np.hypot(center - low, extra) * grow
    up = np.hypot(high - center, extra) * grow
    lower = np.clip(center - down, 0.0, 1.0)
    upper = np.clip(center + up, 0.0, 1.0)
    warning = None
    far = ks[ks > EXTRAPOLATION_FACTOR * kmax]
    if far.size and method != "greedy":
        warning = (
            f"k = {', '.join(f'{v:g}' for v in far)} is more than {EXTRAPOLATION_FACTOR:g}x the largest fitted k ({kmax}); "
            "the prediction is an extrapolation and its interval is widened"
        )
    notes = []
    if method == "greedy" and np.any(ks > 1):
        notes.append("greedy decoding uses one sample: extra samples do not change its accuracy")
    return CurvePrediction(center, lower, upper, warning, tuple(notes) + fit_result.warnings)


def _used_keys(form: Form, model: str, method: str) -> set[str]:
    return {_param_key(s, model, method) for s in form.params if method not in s.skip_methods}


# ---------------------------------------------------------------------------------------------
# Model size: a law in log N for models without data of their own


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeLaw:
    """logit(single-sample accuracy) = intercept + slope * ln(N / 1e9), across a law's models (one evaluator)."""

    intercept: float
    slope: float
    n_models: int
    params_range_b: tuple[float, float]
    residual_sd: float

    def single_sample_accuracy(self, params_b: float) -> float:
        z = self.intercept + self.slope * math.log(params_b)
        return 1.0 / (1.0 + math.exp(-z))


def fit_size_law(anchors: Mapping[str, tuple[float, float]]) -> SizeLaw:
    """Fit logit(A1) linear in ln N from {model: (params_b, single-sample accuracy)} (>= 2 distinct sizes)."""
    rows = [(float(n), float(a)) for n, a in anchors.values() if n and n > 0 and 0 < a < 1]
    sizes = {round(n, 6) for n, _ in rows}
    if len(sizes) < 2:
        raise FitError("a size law needs single-sample accuracies of at least 2 model sizes")
    x = np.log([n for n, _ in rows])
    z = np.log([a / (1 - a) for _, a in rows])
    slope, intercept = np.polyfit(x, z, 1)
    resid = z - (intercept + slope * x)
    sd = float(np.sqrt(np.sum(resid**2) / max(len(rows) - 2, 1))) if len(rows) > 2 else 0.0
    return SizeLaw(
        intercept=float(intercept),
        slope=float(slope),
        n_models=len(rows),
        params_range_b=(min(n for n, _ in rows), max(n for n, _ in rows)),
        residual_sd=sd,
    )


# ---------------------------------------------------------------------------------------------
# Held-in validation: which form extrapolates the user's own curves best


def heldin_split(points: Sequence[Point]) -> tuple[list[Point], list[Point]]:
    """Split each curve (model x method) at a quarter of its largest k: train on k <= K/4 (plus every greedy point
    and each curve's smallest k, so that every curve keeps a point), validate on the larger k."""
    kmax: dict[tuple[str, str], float] = {}
    kmin: dict[tuple[str, str], float] = {}
    for p in points:
        key = (p.model, p.method)
        kmax[key] = max(kmax.get(key, 0.0), p.samples)
        kmin[key] = min(kmin.get(key, math.inf), p.samples)
    train, test = [], []
    for p in points:
        key = (p.model, p.method)
        keep = p.method == "greedy" or p.samples <= kmax[key] / 4 or p.samples == kmin[key]
        (train if keep else test).append(p)
    return train, test


def heldin_error(parts: Sequence[tuple[str, Sequence[Point]]], train: Sequence[Point], test: Sequence[Point]) -> tuple[float, int]:
    """Mean |error| in accuracy points on ``test`` of the forms in ``parts`` [(form, the points it covers)] fitted on
    ``train`` (n_boot = 0); raises FitError when a form cannot be fitted. Returns (error, number of test points)."""
    errors = []
    for form, covered in parts:
        ids = {id(p) for p in covered}
        tr = [p for p in train if id(p) in ids]
        te = [p for p in test if id(p) in ids]
        if not te:
            continue
        res = fit(tr, form, n_boot=0)
        for p in te:
            if p.model not in res.models:
                raise FitError(f"form '{form}': model '{p.model}' has no training points")
            try:
                pred = predict(res, [p.samples], model=p.model, method=p.method)
            except InputError as exc:
                raise FitError(f"form '{form}': {exc}") from None
            errors.append(100.0 * abs(float(pred.accuracy[0]) - p.accuracy))
    if not errors:
        raise FitError("no held-out points")
    return float(np.mean(errors)), len(errors)
