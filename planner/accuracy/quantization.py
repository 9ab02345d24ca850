"""Precision as an accuracy lever: the penalty that weight/activation and KV-cache quantization puts on
the per-sample success probability, as a function of model size.

Form (chosen by leave-one-model-out error, see ``docs/quantization.md``)::

    logit(p_q) = logit(p) - delta,    delta = (c_w[precision] + c_kv[kv_precision]) * (N / 1e9) ** (-alpha)

It acts on the per-sample success probability p, so it can be applied before aggregating over k samples
(pass@k, majority@k). Hardness enters through p: the same logit shift costs most accuracy near p = 0.5
and little near 0 or 1. ``p / (p + (1 - p) * exp(delta))`` is the same map without infinities at 0 and 1.

Coefficients are fitted by ``bench/fit_quantization.py`` from published bf16-vs-quantized pairs
(Liu et al. 2025, arXiv 2504.04823, Tables 1-3; Neural Magic / Red Hat Llama-3.1 and DeepSeek-R1-Distill
model cards; NVIDIA NVFP4 cards; ISTA-DASLab FP-Quant; Intel AutoRound docs) and shipped in
``profiles/quantization/default.yaml``. Only ``profiles`` reads files; ``parse_penalty`` validates a mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from planner.errors import FitError, InputError, UnknownNameError

LOSSLESS = ("fp32", "bf16", "fp16")  # the reference precisions: zero penalty by definition
FORMS = ("logit-power", "logit-constant", "relative-power")
REFERENCE_PARAMS = 1e9


# ---------------------------------------------------------------------------------------------
# The penalty


@dataclass(frozen=True, slots=True, kw_only=True)
class QuantPenalty:
    """A fitted quantization penalty.

    weight: logit-shift coefficient at N = 1e9 parameters per weight/activation format (planner ids
        fp8, int8, int4, fp4, plus fitted extras such as int3, mxfp4, int4-w4a4 that the planner does not
        deploy). kv: the same for KV-cache formats (int8, int4, int3); ``kv_aliases`` maps a KV id with no
        data of its own onto a fitted one (fp8 -> int8, an assumption).
    alpha: size exponent, delta = c * (N / 1e9) ** -alpha.
    form: one of FORMS ("relative-power": p_q = p * (1 - min(1, c * (N/1e9)**-alpha))).
    """

    id: str
    form: str
    alpha: float
    weight: Mapping[str, float]
    kv: Mapping[str, float] = field(default_factory=dict)
    kv_aliases: Mapping[str, str] = field(default_factory=dict)
    weight_aliases: Mapping[str, str] = field(default_factory=dict)  # a weight id with no data of its own -> a fitted one
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    fit: Mapping[str, Any] = field(default_factory=dict)
    params_range: tuple[float, float] = (0.0, math.inf)
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise InputError(f"form must be one of {', '.join(FORMS)}, got {self.form!r}")
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            raise InputError(f"alpha must be ≥ 0, got {self.alpha!r}")
        for group, values in (("weight", self.weight), ("kv", self.kv)):
            for key, value in values.items():
                if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                    raise InputError(f"{group}.{key} must be a number ≥ 0, got {value!r}")
        for alias, target in self.kv_aliases.items():
            if target not in self.kv:
                raise InputError(f"kv_aliases.{alias} points to '{target}', which has no coefficient")
        for alias, target in self.weight_aliases.items():
            if target not in self.weight:
                raise InputError(f"weight_aliases.{alias} points to '{target}', which has no coefficient")
        object.__setattr__(self, "weight", MappingProxyType(dict(self.weight)))
        object.__setattr__(self, "kv", MappingProxyType(dict(self.kv)))
        object.__setattr__(self, "kv_aliases", MappingProxyType(dict(self.kv_aliases)))
        object.__setattr__(self, "weight_aliases", MappingProxyType(dict(self.weight_aliases)))

    @property
    def precisions(self) -> tuple[str, ...]:
        return LOSSLESS + tuple(self.weight) + tuple(self.weight_aliases)

    @property
    def kv_precisions(self) -> tuple[str, ...]:
        return LOSSLESS + tuple(self.kv) + tuple(self.kv_aliases)

    def coefficient(self, precision: str, kv_precision: str | None = None) -> float:
        """c_w + c_kv (logit units at 1e9 parameters) for a weight and an optional KV-cache precision."""
        key = str(precision).strip().lower()
        key = self.weight_aliases.get(key, key)
        if key in LOSSLESS:
            c = 0.0
        elif key in self.weight:
            c = float(self.weight[key])
        else:
            raise UnknownNameError("precision", precision, self.precisions)
        if kv_precision is not None:
            kv = str(kv_precision).strip().lower()
            kv = self.kv_aliases.get(kv, kv)
            if kv in LOSSLESS:
                pass
            elif kv in self.kv:
                c += float(self.kv[kv])
            else:
                raise UnknownNameError("KV-cache precision", kv_precision, self.kv_precisions)
        return c

    def delta(self, params, precision: str, kv_precision: str | None = None):
        """The size-scaled penalty strength: c * (N / 1e9) ** -alpha (logit units, or a fraction of p)."""
        n = np.asarray(params, dtype=float)
        if np.any(~np.isfinite(n) | (n <= 0)):
            raise InputError(f"params must be a positive parameter count, got {params!r}")
        out = self.coefficient(precision, kv_precision) * (n / REFERENCE_PARAMS) ** (-self.alpha)
        return float(out) if np.ndim(out) == 0 else out


def _shift(p, d, form: str):
    if form == "relative-power":
        return p * (1.0 - np.minimum(d, 1.0))
    # logit(p_q) = logit(p) - d, written without division by zero at p in {0, 1}
    return p / (p + (1.0 - p) * np.exp(d))


def apply_penalty(p, *, params, precision: str, kv_precision: str | None = None, penalty: QuantPenalty):
    """Per-sample success probability after quantization; same shape as ``p`` (broadcast with params).

    p: success probability at bf16, in [0, 1]. params: parameter count (total, e.g. 8.03e9).
    precision: weight/activation format (bf16, fp16, fp8, int8, int4, fp4, ...).
    kv_precision: KV-cache format, or None for a 16-bit cache.
    The result never exceeds p and equals p at bf16/fp16 with a 16-bit cache.
    """
    arr = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(arr) | (arr < 0) | (arr > 1)):
        raise InputError("p must be a probability in [0, 1]")
    d = penalty.delta(params, precision, kv_precision)
    out = np.minimum(_shift(arr, d, penalty.form), arr)
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------------------------------------
# Parsing a profile mapping

@dataclass(frozen=True, slots=True, kw_only=True)
class QuantPoint:
    """One published accuracy pair. Accuracies are fractions in [0, 1]."""

    model: str
    params: float
    dataset: str
    weight: str | None  # fitted weight key, or None when only the KV cache is quantized
    kv: str | None
    baseline: float
    accuracy: float
    source: str = ""
    label: str = ""


def classify_precision(label: str) -> tuple[str | None, str | None] | None:
    """Map a published precision label (``int4:W4A16-AWQ-g128``) to (weight key, KV key).

    Returns None for labels the model does not cover (QAT checkpoints, 2-bit GGUF).
    Planner ids: fp8 (W8A8 FP8), int8 (W8A8 INT8), int4 (W4A16, GGUF Q4_K_M), fp4 (NVFP4 W4A4).
    Fitted extras: int3 (W3A16), mxfp4 (MXFP4 W4A4 with plain rounding), int4-w4a4 (integer W4A4).
    KV keys: int8 (KV8), int4 (KV4), int3 (KV3).
    """
    head, _, detail = label.partition(":")
    d = detail.upper()
    kv = None
    for bits in ("8", "4", "3"):
        if f"KV{bits}" in d:
            kv = f"int{bits}"
    if "QAT" in d:
        return None
    if head == "kv4" or head == "kv3":
        return None, kv
    if head == "fp8":
        return "fp8", kv
    if head == "int8":
        return "int8", kv
    if head == "int4":
        return ("int4-w4a4" if "W4A4" in d else "int4"), kv
    if head == "int3":
        return "int3", kv
    if head == "fp4":
        return ("mxfp4" if "MXFP4" in d else "fp4"), kv
    return None


_AGGREGATE_WORDS = ("average", "avg")


def is_aggregate(dataset: str) -> bool:
    """Averages over other rows' tasks: excluded so no task is counted twice."""
    low = dataset.lower()
    return any(w in low for w in _AGGREGATE_WORDS)


def pass_k_of(dataset: str) -> int:
    """k of a ``pass@k`` dataset label (1 when none is given)."""
    low = dataset.lower()
    if "pass@" in low:
        digits = "".join(ch for ch in low.split("pass@", 1)[1] if ch.isdigit())
        return int(digits or 1)
    return 1


# ---------------------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True, slots=True, kw_only=True)
class PenaltyFit:
    """Result of a least-squares fit: parameters, residuals in accuracy points, diagnostics."""

    form: str
    alpha: float
    weight: Mapping[str, float]
    kv: Mapping[str, float]
    success: bool
    n_points: int
    rmse_points: float
    mae_points: float
    residuals_points: np.ndarray
    cost: float

    def penalty(self, id: str = "fit", **extra) -> QuantPenalty:
        return QuantPenalty(id=id, form=self.form, alpha=self.alpha, weight=self.weight, kv=self.kv, **extra)


def predict(points: Sequence[QuantPoint], form: str, alpha: float, weight: Mapping[str, float], kv: Mapping[str, float]) -> np.ndarray:
    """Predicted quantized accuracy (fraction) for each point."""
    base = np.array([pt.baseline for pt in points])
    n = np.array([pt.params for pt in points])
    c = np.array([(weight.get(pt.weight, 0.0) if pt.weight else 0.0) + (kv.get(pt.kv, 0.0) if pt.kv else 0.0) for pt in points])
    d = c * (n / REFERENCE_PARAMS) ** (-alpha)
    return np.minimum(_shift(base, d, form), base)


def fit_penalty(points: Sequence[QuantPoint], *, form: str = "logit-power", f_scale_points: float = 1.0,
                starts: Sequence[float] = (0.05, 0.3, 1.0)) -> PenaltyFit:
    """Fit coefficients (≥ 0) and alpha (0..2) by bounded, robust (soft-L1) least squares on accuracy points.

    Residuals are 100·(predicted − published) quantized accuracy; several deterministic starting points,
    the lowest cost wins. ``logit-constant`` fixes alpha = 0.
    """
    from scipy.optimize import least_squares

    if form not in FORMS:
        raise FitError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    points = list(points)
    wkeys = sorted({pt.weight for pt in points if pt.weight})
    kkeys = sorted({pt.kv for pt in points if pt.kv})
    n_coef = len(wkeys) + len(kkeys)
    fit_alpha = form != "logit-constant"
    if len(points) < n_coef + int(fit_alpha) + 1:
        raise FitError(f"too few points ({len(points)}) for {n_coef + int(fit_alpha)} parameters")
    observed = np.array([pt.accuracy for pt in points])
    upper_c = 1.0 if form == "relative-power" else 20.0

    def unpack(theta):
        alpha = theta[-1] if fit_alpha else 0.0
        return alpha, dict(zip(wkeys, theta[: len(wkeys)])), dict(zip(kkeys, theta[len(wkeys): n_coef]))

    def residuals(theta):
        alpha, w, k = unpack(theta)
        return 100.0 * (predict(points, form, alpha, w, k) - observed)

    lower = np.zeros(n_coef + int(fit_alpha))
    upper = np.full(n_coef + int(fit_alpha), upper_c)
    if fit_alpha:
        upper[-1] = 2.0
    best = None
    for start in starts:
        x0 = np.full(lower.size, min(start, upper_c * 0.5))
        if fit_alpha:
            x0[-1] = 0.5
        res = least_squares(residuals, x0, bounds=(lower, upper), loss="soft_l1", f_scale=f_scale_points,
                            method="trf", max_nfev=2000)
        if best is None or res.cost < best.cost:
            best = res
    alpha, w, k = unpack(best.x)
    r = residuals(best.x)
    return PenaltyFit(form=form, alpha=float(alpha), weight={a: float(b) for a, b in w.items()},
                      kv={a: float(b) for a, b in k.items()}, success=bool(best.success), n_points=len(points),
                      rmse_points=float(np.sqrt(np.mean(r**2))), mae_points=float(np.mean(np.abs(r))),
                      residuals_points=r, cost=float(best.cost))


def leave_one_model_out(points: Sequence[QuantPoint], *, form: str = "logit-power") -> dict[str, Any]:
    """Refit without each model in turn and predict its rows (rows whose formats the rest lack are skipped).

    Returns the pooled RMSE and MAE in accuracy points, per-model RMSE, and how many rows were scored.
    """
    points = list(points)
    models = sorted({pt.model for pt in points})
    errors: list[float] = []
    by_format: dict[str, list[float]] = {}
    per_model: dict[str, float] = {}
    skipped = 0
    for held in models:
        train = [pt for pt in points if pt.model != held]
        test = [pt for pt in points if pt.model == held]
        fit = fit_penalty(train, form=form)
        known = [pt for pt in test if (pt.weight is None or pt.weight in fit.weight) and (pt.kv is None or pt.kv in fit.kv)]
        skipped += len(test) - len(known)
        if not known:
            continue
        err = 100.0 * (predict(known, form, fit.alpha, fit.weight, fit.kv) - np.array([pt.accuracy for pt in known]))
        per_model[held] = float(np.sqrt(np.mean(err**2)))
        errors.extend(err.tolist())
        for pt, e in zip(known, err):
            by_format.setdefault(format_key(pt), []).append(float(e))
    return _error_summary(errors, by_format, skipped) | {"per_model_rmse_points": per_model}


DEPLOY_FORMATS = ("fp8", "int8", "int4", "fp4")  # weight formats the planner deploys (16-bit KV rows)


def _error_summary(errors: Sequence[float], by_format: Mapping[str, list[float]], skipped: int) -> dict[str, Any]:
    """RMSE and mean absolute error (accuracy points) overall, on the deploy formats and per format."""
    e = np.array(errors)
    deploy = np.array([x for key, v in by_format.items() if key in DEPLOY_FORMATS for x in v])
    return {"rmse_points": float(np.sqrt(np.mean(e**2))), "mae_points": float(np.mean(np.abs(e))),
            "deploy_rmse_points": float(np.sqrt(np.mean(deploy**2))) if deploy.size else math.nan,
            "deploy_mae_points": float(np.mean(np.abs(deploy))) if deploy.size else math.nan,
            "rmse_points_by_format": {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in sorted(by_format.items())},
            "n_scored": int(e.size), "n_skipped": skipped}


def format_key(pt: QuantPoint) -> str:
    """Group label of a point: its weight format, ``<w>+kv<b>`` with a quantized cache, or ``kv-only:<b>``."""
    if pt.weight is None:
        return f"kv-only:{pt.kv}"
    return pt.weight if pt.kv is None else f"{pt.weight}+kv:{pt.kv}"


def bootstrap(points: Sequence[QuantPoint], *, form: str = "logit-power", n_boot: int = 200, seed: int = 0,
              level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile intervals of every parameter from a cluster bootstrap over models (seeded)."""
    points = list(points)
    models = sorted({pt.model for pt in points})
    by_model = {m: [pt for pt in points if pt.model == m] for m in models}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_boot):
        pick = rng.choice(len(models), size=len(models), replace=True)
        sample = [pt for i in pick for pt in by_model[models[i]]]
        try:
            fit = fit_penalty(sample, form=form, starts=(0.3,))
        except FitError:
            continue
        draws.setdefault("alpha", []).append(fit.alpha)
        for key, value in fit.weight.items():
            draws.setdefault(f"weight.{key}", []).append(value)
        for key, value in fit.kv.items():
            draws.setdefault(f"kv.{key}", []).append(value)
    lo, hi = 50 * (1 - level), 50 * (1 + level)
    return {name: (float(np.percentile(v, lo)), float(np.percentile(v, hi))) for name, v in sorted(draws.items())}


def naive_leave_one_model_out(points: Sequence[QuantPoint]) -> dict[str, Any]:
    """The baseline the penalty must beat: predict a held-out model's quantized accuracy as its baseline plus the mean
    published delta (quantized - baseline, accuracy points) of the same format over the other models.

    Same structure as ``leave_one_model_out`` (pooled, deploy-format and per-format RMSE in accuracy points).
    """
    points = list(points)
    models = sorted({pt.model for pt in points})
    errors: list[float] = []
    by_format: dict[str, list[float]] = {}
    skipped = 0
    for held in models:
        deltas: dict[str, list[float]] = {}
        for pt in points:
            if pt.model != held:
                deltas.setdefault(format_key(pt), []).append(pt.accuracy - pt.baseline)
        for pt in (p for p in points if p.model == held):
            key = format_key(pt)
            if key not in deltas:
                skipped += 1
                continue
            err = 100.0 * (pt.baseline + float(np.mean(deltas[key])) - pt.accuracy)
            errors.append(err)
            by_format.setdefault(key, []).append(err)
    return _error_summary(errors, by_format, skipped)
