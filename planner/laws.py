"""Scaling-law profiles: the ``ScalingLaw`` type, strict YAML parsing, fitting a user's rows, prediction tables.

A law file is ``profiles/laws/<id>.yaml`` with ``kind: law``. It embeds the data points it was
fitted on (with their source rows), each fit's form, parameters, bootstrap intervals, fit quality
and coverage, which fit serves each search method, and the held-out errors that chose the forms.
File I/O goes through ``planner.profiles``; the maths lives in ``planner.scaling``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from planner import scaling
from planner.errors import FitError, InputError, ProfileError, UnknownNameError, suggest
from planner.scaling import METHODS, FitResult, Point

SCHEMA_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True, slots=True, kw_only=True)
class LawModel:
    """A model covered by a law: size and its single-sample (greedy) accuracy in the law's evaluator."""

    id: str
    name: str
    params_b: float | None = None
    anchor_accuracy: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LawFit:
    """One fitted form covering one or more methods; ``published`` when the parameters are a paper's, not refitted."""

    id: str
    result: FitResult
    published: bool = False
    heldout_error_pts: Mapping[str, float] = field(default_factory=dict)  # form -> held-out mean |error|, accuracy points
    chosen_because: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodEntry:
    """Which fit predicts a method, or which method it is derived from."""

    method: str
    fit: str | None = None
    derived_from: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LawPoint:
    model: str
    method: str
    samples: int
    accuracy: float
    n_problems: int | None = None
    source: str = ""
    row: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScalingLaw:
    """Accuracy versus samples per search method for one task, fitted with uncertainty."""

    id: str
    task: str
    description: str
    models: Mapping[str, LawModel]
    default_model: str
    fits: Mapping[str, LawFit]
    methods: Mapping[str, MethodEntry]
    points: tuple[LawPoint, ...]
    sources: Mapping[str, str]
    k_range: tuple[int, int]
    params_range_b: tuple[float, float] | None
    extrapolated: bool = False
    accuracy_scale: str = "fraction"
    model_extrapolation_sigma: float = 0.0  # leave-one-model-out RMSE (fraction) added to anchored predictions
    size_law: scaling.SizeLaw | None = None
    notes: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        for name, entry in self.methods.items():
            if entry.fit is not None and entry.fit not in self.fits:
                raise InputError(f"law '{self.id}': method '{name}' refers to unknown fit '{entry.fit}'")
            if entry.derived_from is not None and entry.derived_from not in self.methods:
                raise InputError(f"law '{self.id}': method '{name}' is derived from '{entry.derived_from}', which the law lacks")
        if self.default_model not in self.models:
            raise InputError(f"law '{self.id}': default_model '{self.default_model}' is not among its models")


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction:
    """One row of a prediction table (fractions)."""

    samples: int
    accuracy: float
    lower: float
    upper: float
    extrapolated: bool
    warnings: tuple[str, ...] = ()
    method: str = ""
    model: str = ""
    form: str = ""


# ---------------------------------------------------------------------------------------------
# Prediction


def resolve_method(law: ScalingLaw, method: str) -> tuple[MethodEntry, list[str]]:
    """The entry that predicts ``method`` (following ``derived_from``) and notes on the derivation."""
    scaling.check_method(method)
    if method not in law.methods:
        have = sorted(law.methods)
        raise InputError(
            f"law '{law.id}' has no curve for method '{method}' (no published data to fit); it covers: {', '.join(have)}"
        )
    notes, entry, seen = [], law.methods[method], {method}
    while entry.derived_from is not None:
        notes.append(f"{entry.method} predicted as {entry.derived_from}" + (f": {entry.note}" if entry.note else ""))
        entry = law.methods[entry.derived_from]
        if entry.method in seen:
            raise InputError(f"law '{law.id}': method derivation loops at '{entry.method}'")
        seen.add(entry.method)
    return entry, notes


def precision_transform(precision: str | None, penalty: Any = None, params_b: float | None = None):
    """A per-sample transform from ``planner.quantization.apply_penalty`` (None when no precision is asked)."""
    if precision is None and penalty is None:
        return None
    try:
        from planner import quantization  # type: ignore[attr-defined]
    except ImportError:
        raise InputError("precision adjustment needs planner.quantization, which is not available in this build") from None
    if penalty is None:
        from planner.profiles import Catalog

        penalty = Catalog().get("quantization", "default", quantization.parse_penalty)
    n_params = (params_b or 0.0) * 1e9

    def transform(p: np.ndarray) -> np.ndarray:
        return np.asarray(quantization.apply_penalty(p, params=n_params, precision=precision, kv_precision=None, penalty=penalty), dtype=float)

    return transform


def predict_table(
    law: ScalingLaw,
    method: str,
    samples: Sequence[int],
    model: str | None = None,
    precision: str | None = None,
    penalty: Any = None,
    *,
    anchor_accuracy: float | None = None,
    params_b: float | None = None,
    transform: scaling.Transform | None = None,
) -> list[Prediction]:
    """Predicted accuracy with a 95 % interval for each sample count.

    ``model`` defaults to the law's default model. A model the law has no data for is predicted
    from the law's shared per-method shape, anchored on ``anchor_accuracy`` (its single-sample
    accuracy in the same evaluator) or, failing that, on the law's size law at ``params_b``; such
    rows are ``extrapolated`` with the leave-one-model-out error added to the interval.
    ``precision``/``penalty`` (or an explicit ``transform``) act on the per-sample success before
    aggregating over k.
    """
    ks = _check_samples(samples)
    entry, notes = resolve_method(law, method)
    fit = law.fits[entry.fit]  # type: ignore[index]
    model_id = law.default_model if model is None else _match_model(law, model, fit, anchor_accuracy, params_b)
    overrides: dict[str, float] = {}
    extra_sigma = 0.0
    model_extrapolated = False
    if model_id not in fit.result.models:
        model_extrapolated = True
        anchor, why = _anchor_for(law, model_id, anchor_accuracy, params_b)
        overrides = _anchor_overrides(fit.result, model_id, anchor)
        extra_sigma = law.model_extrapolation_sigma
        known = [law.models[m].anchor_accuracy for m in fit.result.models if m in law.models and law.models[m].anchor_accuracy is not None]
        if known and not min(known) <= anchor <= max(known):
            gap = min(abs(anchor - min(known)), abs(anchor - max(known)))
            extra_sigma += 0.5 * gap  # far from the fitted models' accuracies the shared shape is a guess
            notes.append(f"its single-sample accuracy {anchor * 100:.1f} % is outside the law's fitted range "
                         f"{min(known) * 100:.1f}-{max(known) * 100:.1f} %: interval widened by half the gap")
        notes.append(f"model '{model_id}' has no data in law '{law.id}': {why}; interval widened by the leave-one-model-out error "
                     f"({law.model_extrapolation_sigma * 100:.1f} points, 1 sd)")
    size = params_b if params_b is not None else (law.models[model_id].params_b if model_id in law.models else None)
    tf = transform if transform is not None else precision_transform(precision, penalty, size)
    if tf is not None and fit.result.form not in ("beta_pass", "beta_vote"):
        notes.append(f"form '{fit.result.form}' has no per-problem distribution: the precision penalty shifts the single-sample level only")
    pred = scaling.predict(fit.result, ks, model=model_id, method=entry.method, transform=tf, overrides=overrides, extra_sigma=extra_sigma)
    rows = []
    kmax = fit.result.k_range[1]
    for i, k in enumerate(ks):
        w = list(notes) + list(pred.warnings)
        far = k > scaling.EXTRAPOLATION_FACTOR * kmax and entry.method != "greedy"
        if far and pred.extrapolation_warning:
            w.insert(0, f"k = {k} is more than {scaling.EXTRAPOLATION_FACTOR:g}x the largest fitted k ({kmax}): extrapolated, interval widened")
        rows.append(
            Prediction(
                samples=int(k),
                accuracy=float(pred.accuracy[i]),
                lower=float(pred.lower[i]),
                upper=float(pred.upper[i]),
                extrapolated=bool(far or model_extrapolated or law.extrapolated),
                warnings=tuple(w),
                method=method,
                model=model_id,
                form=fit.result.form,
            )
        )
    return rows


def _check_samples(samples) -> list[int]:
    out = []
    for s in samples:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise InputError(f"sample counts must be integers ≥ 1, got {s!r}")
        out.append(int(s))
    if not out:
        raise InputError("no sample counts given")
    return out


def _match_model(law: ScalingLaw, model: str, fit: LawFit, anchor, params_b) -> str:
    if model in law.models:
        return model
    lowered = {m.lower(): m for m in law.models}
    for m, info in law.models.items():
        lowered.setdefault(info.name.lower(), m)
    if model.lower() in lowered:
        return lowered[model.lower()]
    if anchor is None and params_b is None:
        raise UnknownNameError(f"model in law '{law.id}' (give its single-sample accuracy to extrapolate)", model, law.models)
    return model


def _anchor_for(law: ScalingLaw, model_id: str, anchor, params_b) -> tuple[float, str]:
    if anchor is not None:
        a = float(anchor)
        if a > 1.0:
            a /= 100.0
        if not 0.0 < a < 1.0:
            raise InputError(f"anchor accuracy must be in (0, 1) or (0, 100) %, got {anchor!r}")
        return a, f"anchored on its single-sample accuracy {a * 100:.1f} %"
    if model_id in law.models and law.models[model_id].anchor_accuracy is not None:
        a = law.models[model_id].anchor_accuracy
        return a, f"anchored on its single-sample accuracy {a * 100:.1f} %"
    if params_b is not None and law.size_law is not None:
        a = law.size_law.single_sample_accuracy(float(params_b))
        lo, hi = law.size_law.params_range_b
        where = "inside" if lo <= params_b <= hi else "OUTSIDE"
        return a, f"single-sample accuracy {a * 100:.1f} % from the law's size law at {params_b:g} B ({where} the fitted {lo:g}-{hi:g} B)"
    raise InputError(f"model '{model_id}' has no data in law '{law.id}': give its single-sample accuracy (or its size, when the law has a size law)")


def _anchor_overrides(result: FitResult, model_id: str, anchor: float) -> dict[str, float]:
    form = scaling.get_form(result.form)
    out = {}
    for spec in form.params:
        if spec.scope == "model":
            key = f"{spec.name}[{model_id}]"
            if spec.name in ("a1", "mu"):
                out[key] = anchor
            else:  # other per-model parameters: the median over the law's models
                vals = [v for k, v in result.params.items() if k.startswith(spec.name + "[")]
                out[key] = float(np.median(vals)) if vals else spec.starts[0]
        elif spec.scope == "curve":
            raise InputError(f"form '{result.form}' has per-curve parameters: it cannot predict a model without data")
    return out


# ---------------------------------------------------------------------------------------------
# YAML: parse and dump

_TOP = {"kind", "schema_version", "id", "task", "description", "default_model", "models", "fits", "methods", "points",
        "sources", "coverage", "extrapolated", "accuracy_scale", "model_extrapolation_sigma", "size_law", "notes"}
_TOP_REQUIRED = {"kind", "id", "task", "models", "fits", "methods", "points", "sources"}
_MODEL = {"name", "params_b", "anchor_accuracy", "source"}
_FIT = {"form", "published", "methods", "models", "params", "intervals", "covariance", "quality", "k_range", "seed",
        "n_boot", "heldout_error_pts", "chosen_because"}
_FIT_REQUIRED = {"form", "params", "intervals", "quality", "k_range"}
_QUALITY = {"n_points", "n_params", "rmse", "max_abs_residual", "success", "message", "warnings", "residuals"}
_METHOD = {"fit", "derived_from", "note"}
_POINT = {"model", "method", "samples", "accuracy", "n_problems", "source", "row"}
_COVERAGE = {"k_range", "params_b_range", "models"}
_SIZE = {"intercept", "slope", "n_models", "params_b_range", "residual_sd"}


class _Check:
    def __init__(self, path):
        self.path = path

    def fail(self, field, message):
        raise ProfileError(self.path, field, message)

    def keys(self, data, allowed, required, prefix=""):
        if not isinstance(data, dict):
            self.fail(prefix.rstrip(".") or None, f"expected a mapping, got {type(data).__name__}")
        for key in data:
            if key not in allowed:
                hint = suggest(str(key), allowed)
                self.fail(f"{prefix}{key}", "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of: {', '.join(sorted(allowed))}"))
        for key in sorted(required - set(data)):
            self.fail(f"{prefix}{key}", "required field is missing")

    def number(self, data, key, prefix="", *, lo=-math.inf, hi=math.inf, required=True, default=None):
        if key not in data or data[key] is None:
            if required:
                self.fail(f"{prefix}{key}", "required number is missing")
            return default
        v = data[key]
        if isinstance(v, str):
            try:
                v = float(v)  # PyYAML reads 1e-3 (no dot) as a string
            except ValueError:
                self.fail(f"{prefix}{key}", f"expected a number, got {data[key]!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(f"{prefix}{key}", f"expected a finite number, got {data[key]!r}")
        if not lo <= v <= hi:
            self.fail(f"{prefix}{key}", f"expected a number in [{lo:g}, {hi:g}], got {v!r}")
        return float(v)

    def integer(self, data, key, prefix="", *, lo=0, required=True, default=None):
        if key not in data or data[key] is None:
            if required:
                self.fail(f"{prefix}{key}", "required integer is missing")
            return default
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            self.fail(f"{prefix}{key}", f"expected an integer ≥ {lo}, got {v!r}")
        return v

    def text(self, data, key, prefix="", *, required=False, default=""):
        if key not in data or data[key] is None:
            if required:
                self.fail(f"{prefix}{key}", "required text is missing")
            return default
        if not isinstance(data[key], str):
            self.fail(f"{prefix}{key}", f"expected text, got {type(data[key]).__name__}")
        return data[key]

    def boolean(self, data, key, prefix="", default=False):
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.fail(f"{prefix}{key}", f"expected true or false, got {data[key]!r}")
        return data[key]

    def pair(self, data, key, prefix="", *, integer=False, required=True):
        if key not in data:
            if required:
                self.fail(f"{prefix}{key}", "required [low, high] pair is missing")
            return None
        v = data[key]
        if not isinstance(v, list) or len(v) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v):
            self.fail(f"{prefix}{key}", f"expected a [low, high] pair of numbers, got {v!r}")
        if v[0] > v[1]:
            self.fail(f"{prefix}{key}", f"expected low ≤ high, got {v!r}")
        return (int(v[0]), int(v[1])) if integer else (float(v[0]), float(v[1]))

    def method(self, value, field):
        if value not in METHODS:
            hint = suggest(str(value), METHODS)
            self.fail(field, f"unknown method {value!r}" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(METHODS)}"))
        return value


def parse_law(data: dict, path) -> ScalingLaw:
    """Build a ScalingLaw from a YAML mapping; any problem raises ProfileError(path, field, message)."""
    path = Path(path)
    c = _Check(path)
    c.keys(data, _TOP, _TOP_REQUIRED)
    if data["kind"] != "law":
        c.fail("kind", f"expected 'law', got {data['kind']!r}")
    law_id = c.text(data, "id", required=True)
    if path.suffix in (".yaml", ".yml") and law_id != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {law_id!r}")
    if "schema_version" in data and data["schema_version"] != SCHEMA_VERSION:
        c.fail("schema_version", f"expected {SCHEMA_VERSION}, got {data['schema_version']!r}")
    models_raw = data["models"]
    if not isinstance(models_raw, dict) or not models_raw:
        c.fail("models", "expected a non-empty mapping of model id -> {name, params_b, ...}")
    models = {}
    for mid, m in models_raw.items():
        p = f"models.{mid}."
        c.keys(m, _MODEL, {"name"}, p)
        models[str(mid)] = LawModel(
            id=str(mid),
            name=c.text(m, "name", p, required=True),
            params_b=c.number(m, "params_b", p, lo=1e-6, required=False),
            anchor_accuracy=c.number(m, "anchor_accuracy", p, lo=0.0, hi=1.0, required=False),
            source=c.text(m, "source", p),
        )
    fits_raw = data["fits"]
    if not isinstance(fits_raw, dict) or not fits_raw:
        c.fail("fits", "expected a non-empty mapping of fit id -> fitted form")
    fits = {fid: _parse_fit(c, str(fid), f) for fid, f in fits_raw.items()}
    methods_raw = data["methods"]
    if not isinstance(methods_raw, dict) or not methods_raw:
        c.fail("methods", "expected a mapping of method id -> {fit: ...} or {derived_from: ...}")
    methods = {}
    for name, m in methods_raw.items():
        p = f"methods.{name}."
        c.method(name, f"methods.{name}")
        c.keys(m, _METHOD, set(), p)
        fit_id = c.text(m, "fit", p, default=None)
        derived = c.text(m, "derived_from", p, default=None)
        if (fit_id is None) == (derived is None):
            c.fail(f"methods.{name}", "give exactly one of 'fit' or 'derived_from'")
        if fit_id is not None and fit_id not in fits:
            hint = suggest(fit_id, fits)
            c.fail(f"{p}fit", f"unknown fit {fit_id!r}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if derived is not None:
            c.method(derived, f"{p}derived_from")
            if derived not in methods_raw:
                c.fail(f"{p}derived_from", f"method {derived!r} is not defined in this law")
        if fit_id is not None:
            form = scaling.FORMS[fits[fit_id].result.form]
            if name not in form.methods:
                c.fail(f"{p}fit", f"form '{form.name}' of fit '{fit_id}' cannot describe method '{name}'")
        methods[name] = MethodEntry(method=name, fit=fit_id, derived_from=derived, note=c.text(m, "note", p))
    points_raw = data["points"]
    if not isinstance(points_raw, list):
        c.fail("points", "expected a list of data points")
    points = []
    for i, pt in enumerate(points_raw):
        p = f"points[{i}]."
        c.keys(pt, _POINT, {"model", "method", "samples", "accuracy"}, p)
        points.append(
            LawPoint(
                model=c.text(pt, "model", p, required=True),
                method=c.method(pt["method"], f"{p}method"),
                samples=c.integer(pt, "samples", p, lo=1),
                accuracy=c.number(pt, "accuracy", p, lo=0.0, hi=1.0),
                n_problems=c.integer(pt, "n_problems", p, lo=1, required=False),
                source=c.text(pt, "source", p),
                row=c.text(pt, "row", p),
            )
        )
    sources = data["sources"]
    if not isinstance(sources, dict) or not sources or not all(isinstance(v, str) and v.strip() for v in sources.values()):
        c.fail("sources", "expected a mapping of source id -> citation text")
    cov = data.get("coverage") or {}
    c.keys(cov, _COVERAGE, set(), "coverage.")
    all_fits = [f.result for f in fits.values()]
    k_range = c.pair(cov, "k_range", "coverage.", integer=True, required=False) or (
        min(r.k_range[0] for r in all_fits), max(r.k_range[1] for r in all_fits))
    sizes = [m.params_b for m in models.values() if m.params_b]
    pr = c.pair(cov, "params_b_range", "coverage.", required=False) or ((min(sizes), max(sizes)) if sizes else None)
    size_law = None
    if data.get("size_law") is not None:
        s = data["size_law"]
        c.keys(s, _SIZE, _SIZE, "size_law.")
        size_law = scaling.SizeLaw(
            intercept=c.number(s, "intercept", "size_law."),
            slope=c.number(s, "slope", "size_law."),
            n_models=c.integer(s, "n_models", "size_law.", lo=2),
            params_range_b=c.pair(s, "params_b_range", "size_law."),
            residual_sd=c.number(s, "residual_sd", "size_law.", lo=0.0),
        )
    default_model = c.text(data, "default_model", default=next(iter(models)))
    if default_model not in models:
        hint = suggest(default_model, models)
        c.fail("default_model", f"unknown model {default_model!r}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    scale = c.text(data, "accuracy_scale", default="fraction")
    if scale not in ("fraction", "percent"):
        c.fail("accuracy_scale", f"expected 'fraction' or 'percent', got {scale!r}")
    return ScalingLaw(
        id=law_id,
        task=c.text(data, "task", required=True),
        description=c.text(data, "description"),
        models=models,
        default_model=default_model,
        fits=fits,
        methods=methods,
        points=tuple(points),
        sources={str(k): v for k, v in sources.items()},
        k_range=k_range,
        params_range_b=pr,
        extrapolated=c.boolean(data, "extrapolated"),
        accuracy_scale=scale,
        model_extrapolation_sigma=c.number(data, "model_extrapolation_sigma", lo=0.0, hi=1.0, required=False, default=0.0),
        size_law=size_law,
        notes=c.text(data, "notes"),
        path=str(path),
    )


def _parse_fit(c: _Check, fid: str, f) -> LawFit:
    p = f"fits.{fid}."
    c.keys(f, _FIT, _FIT_REQUIRED, p)
    form_name = c.text(f, "form", p, required=True)
    if form_name not in scaling.FORMS:
        hint = suggest(form_name, scaling.FORMS)
        c.fail(f"{p}form", f"unknown form {form_name!r}" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(scaling.FORMS)}"))
    form = scaling.FORMS[form_name]
    params_raw = f["params"]
    if not isinstance(params_raw, dict) or not params_raw:
        c.fail(f"{p}params", "expected a non-empty mapping of parameter -> value")
    names, theta, params = [], [], {}
    allowed = {s.name for s in form.params}
    for key in params_raw:
        base = str(key).split("[", 1)[0]
        if base not in allowed:
            hint = suggest(base, allowed)
            c.fail(f"{p}params.{key}", f"unknown parameter of form '{form_name}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        spec = form.spec(base)
        lo, hi = min(spec.lower, spec.upper), max(spec.lower, spec.upper)
        value = c.number(params_raw, key, f"{p}params.", lo=lo, hi=hi)
        names.append(str(key))
        params[str(key)] = value
        theta.append(float(scaling._to_theta(spec.space, value)))
    intervals_raw = f["intervals"]
    if not isinstance(intervals_raw, dict):
        c.fail(f"{p}intervals", "expected a mapping of parameter -> [low, high]")
    intervals = {}
    for key in names:
        if key not in intervals_raw:
            c.fail(f"{p}intervals.{key}", "interval is missing")
        lo_hi = c.pair(intervals_raw, key, f"{p}intervals.")
        intervals[key] = lo_hi
    for key in intervals_raw:
        if key not in params:
            c.fail(f"{p}intervals.{key}", "interval for a parameter that is not in params")
    cov_raw = f.get("covariance")
    n = len(names)
    if cov_raw is None:
        cov = tuple(tuple(0.0 for _ in range(n)) for _ in range(n))
    else:
        if not isinstance(cov_raw, list) or len(cov_raw) != n or any(not isinstance(r, list) or len(r) != n for r in cov_raw):
            c.fail(f"{p}covariance", f"expected a {n}x{n} list of lists (parameter order of params)")
        try:
            cov = tuple(tuple(float(x) for x in row) for row in cov_raw)
        except (TypeError, ValueError):
            c.fail(f"{p}covariance", "expected numbers")
    q = f["quality"]
    c.keys(q, _QUALITY, {"n_points", "rmse", "success"}, f"{p}quality.")
    residuals = q.get("residuals") or []
    if not isinstance(residuals, list) or any(isinstance(r, bool) or not isinstance(r, (int, float)) for r in residuals):
        c.fail(f"{p}quality.residuals", "expected a list of numbers")
    warnings = q.get("warnings") or []
    if not isinstance(warnings, list) or any(not isinstance(w, str) for w in warnings):
        c.fail(f"{p}quality.warnings", "expected a list of text")
    methods = f.get("methods") or []
    models = f.get("models") or []
    for i, m in enumerate(methods):
        c.method(m, f"{p}methods[{i}]")
    if not isinstance(models, list) or any(not isinstance(m, str) for m in models):
        c.fail(f"{p}models", "expected a list of model ids")
    held = f.get("heldout_error_pts") or {}
    if not isinstance(held, dict):
        c.fail(f"{p}heldout_error_pts", "expected a mapping of form -> error in accuracy points")
    result = FitResult(
        form=form_name,
        params=params,
        intervals=intervals,
        theta_names=tuple(names),
        theta=tuple(theta),
        covariance=cov,
        n_points=c.integer(q, "n_points", f"{p}quality.", lo=1),
        n_params=c.integer(q, "n_params", f"{p}quality.", lo=0, required=False, default=len(names)),
        residuals=tuple(float(r) for r in residuals),
        rmse=c.number(q, "rmse", f"{p}quality.", lo=0.0),
        success=c.boolean(q, "success", f"{p}quality.", default=True),
        message=c.text(q, "message", f"{p}quality."),
        warnings=tuple(warnings),
        k_range=c.pair(f, "k_range", p, integer=True),
        models=tuple(models),
        methods=tuple(methods),
        seed=c.integer(f, "seed", p, required=False, default=0),
        n_boot=c.integer(f, "n_boot", p, required=False, default=0),
    )
    return LawFit(
        id=fid,
        result=result,
        published=c.boolean(f, "published", p),
        heldout_error_pts={str(k): c.number(held, k, f"{p}heldout_error_pts.", lo=0.0) for k in held},
        chosen_because=c.text(f, "chosen_because", p),
    )


def _r(x: float, digits: int = 6) -> float:
    """Round to ``digits`` significant figures (deterministic, readable YAML)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def law_to_yaml_dict(law: ScalingLaw) -> dict:
    """A plain mapping for ``planner.profiles.dump_yaml`` (round-trips through ``parse_law``)."""
    out: dict[str, Any] = {"kind": "law", "schema_version": SCHEMA_VERSION, "id": law.id, "task": law.task}
    if law.description:
        out["description"] = law.description
    out["default_model"] = law.default_model
    out["extrapolated"] = law.extrapolated
    out["accuracy_scale"] = law.accuracy_scale
    out["models"] = {}
    for mid, m in law.models.items():
        d: dict[str, Any] = {"name": m.name}
        if m.params_b is not None:
            d["params_b"] = _r(m.params_b)
        if m.anchor_accuracy is not None:
            d["anchor_accuracy"] = _r(m.anchor_accuracy)
        if m.source:
            d["source"] = m.source
        out["models"][mid] = d
    out["coverage"] = {"k_range": list(law.k_range), "models": list(law.models)}
    if law.params_range_b:
        out["coverage"]["params_b_range"] = [_r(law.params_range_b[0]), _r(law.params_range_b[1])]
    out["methods"] = {}
    for name in METHODS:
        if name in law.methods:
            e = law.methods[name]
            d = {"fit": e.fit} if e.fit else {"derived_from": e.derived_from}
            if e.note:
                d["note"] = e.note
            out["methods"][name] = d
    out["fits"] = {}
    for fid, f in law.fits.items():
        r = f.result
        d = {"form": r.form, "published": f.published, "methods": list(r.methods), "models": list(r.models),
             "k_range": list(r.k_range), "seed": r.seed, "n_boot": r.n_boot}
        d["params"] = {k: _r(r.params[k]) for k in r.theta_names}
        d["intervals"] = {k: [_r(r.intervals[k][0]), _r(r.intervals[k][1])] for k in r.theta_names}
        d["covariance"] = [[_r(x, 4) for x in row] for row in r.covariance]
        d["quality"] = {"n_points": r.n_points, "n_params": r.n_params, "rmse": _r(r.rmse, 4),
                        "max_abs_residual": _r(r.max_abs_residual, 4), "success": r.success, "message": r.message,
                        "warnings": list(r.warnings), "residuals": [_r(x, 4) for x in r.residuals]}
        if f.heldout_error_pts:
            d["heldout_error_pts"] = {k: _r(v, 3) for k, v in f.heldout_error_pts.items()}
        if f.chosen_because:
            d["chosen_because"] = f.chosen_because
        out["fits"][fid] = d
    if law.size_law is not None:
        s = law.size_law
        out["size_law"] = {"intercept": _r(s.intercept), "slope": _r(s.slope), "n_models": s.n_models,
                           "params_b_range": [_r(s.params_range_b[0]), _r(s.params_range_b[1])], "residual_sd": _r(s.residual_sd)}
    out["model_extrapolation_sigma"] = _r(law.model_extrapolation_sigma, 4)
    out["points"] = []
    for p in law.points:
        d = {"model": p.model, "method": p.method, "samples": p.samples, "accuracy": _r(p.accuracy)}
        if p.n_problems is not None:
            d["n_problems"] = p.n_problems
        if p.source:
            d["source"] = p.source
        if p.row:
            d["row"] = p.row
        out["points"].append(d)
    out["sources"] = dict(law.sources)
    if law.notes:
        out["notes"] = law.notes
    return out


# ---------------------------------------------------------------------------------------------
# Building laws from points (built-in fits and a user's own data)

# Form per method family, chosen by held-out error (bench/heldout_scaling.py, docs/scaling.md).
DEFAULT_FORMS = {
    "pass-at-k": "beta_pass",
    "sampling": "saturating_power",
}
_PASS = ("pass-at-k", "human-pick")


def build_law(
    points: Sequence[LawPoint],
    *,
    law_id: str,
    task: str,
    models: Mapping[str, LawModel],
    sources: Mapping[str, str],
    description: str = "",
    accuracy_scale: str = "fraction",
    extra_fits: Mapping[str, LawFit] | None = None,
    extra_methods: Mapping[str, MethodEntry] | None = None,
    forms: Mapping[str, str] | None = None,
    heldout: Mapping[str, Mapping[str, float]] | None = None,
    chosen_because: Mapping[str, str] | None = None,
    seed: int = 0,
    n_boot: int = 200,
    notes: str = "",
    size_law_models: Sequence[str] | None = None,
) -> ScalingLaw:
    """Fit the sampling methods jointly (shared per-method shape, per-model level) and pass@k per model."""
    forms = {**DEFAULT_FORMS, **(forms or {})}
    pts = [Point(model=p.model, method=p.method, samples=p.samples, accuracy=p.accuracy, n_problems=p.n_problems) for p in points]
    fits: dict[str, LawFit] = {}
    methods: dict[str, MethodEntry] = {}
    sampling_pts = [p for p in pts if p.method not in _PASS]
    pass_pts = [p for p in pts if p.method in _PASS] + [p for p in pts if p.method == "greedy"]
    groups = [("sampling", sampling_pts), ("pass-at-k", pass_pts)]
    for fid, group in groups:
        if not any(p.method not in ("greedy",) for p in group) and fid == "pass-at-k":
            continue
        if not group:
            continue
        form = forms[fid]
        if all(p.method == "greedy" for p in group):
            form = "constant"
        result = scaling.fit(group, form, seed=seed, n_boot=n_boot)
        fits[fid] = LawFit(id=fid, result=result, heldout_error_pts=dict((heldout or {}).get(fid, {})),
                           chosen_because=(chosen_because or {}).get(fid, ""))
        for m in sorted({p.method for p in group}):
            if fid == "pass-at-k" and m == "greedy":
                continue
            methods[m] = MethodEntry(method=m, fit=fid)
    fits.update(extra_fits or {})
    methods.update(extra_methods or {})
    if "majority" in methods and "ensemble" not in methods:
        methods["ensemble"] = MethodEntry(method="ensemble", derived_from="majority",
                                          note="sampling-and-voting ensemble = majority vote over the pooled samples (Li et al. 2024, arXiv 2402.05120)")
    if "pass-at-k" in methods and "human-pick" not in methods:
        methods["human-pick"] = MethodEntry(method="human-pick", derived_from="pass-at-k",
                                            note="an infallible picker reaches coverage; a real one does worse (upper bound)")
    ordered_methods = {m: methods[m] for m in METHODS if m in methods}
    sizes = [m.params_b for m in models.values() if m.params_b]
    anchors = {mid: (m.params_b, m.anchor_accuracy) for mid, m in models.items()
               if m.params_b and m.anchor_accuracy and (size_law_models is None or mid in size_law_models)}
    size_law = None
    if len({round(n, 6) for n, _ in anchors.values()}) >= 2:
        size_law = scaling.fit_size_law(anchors)
    loo = leave_one_model_out_error(pts, fits["sampling"].result.form) if "sampling" in fits and fits["sampling"].result.form != "constant" else None
    all_k = [p.samples for p in points]
    return ScalingLaw(
        id=law_id,
        task=task,
        description=description,
        models=dict(models),
        default_model=next(iter(models)),
        fits=fits,
        methods=ordered_methods,
        points=tuple(points),
        sources=dict(sources),
        k_range=(min(all_k), max(all_k)),
        params_range_b=(min(sizes), max(sizes)) if sizes else None,
        accuracy_scale=accuracy_scale,
        model_extrapolation_sigma=loo if loo is not None else 0.0,
        size_law=size_law,
        notes=notes,
    )


def leave_one_model_out_error(points: Sequence[Point], form: str) -> float | None:
    """RMSE (fraction) of predicting each model's non-greedy points from the other models' fit plus its own greedy point.

    This is the extra uncertainty of predicting a model without data of its own from its single-sample anchor.
    """
    models = sorted({p.model for p in points})
    errs = []
    for m in models:
        held = [p for p in points if p.model == m and p.method != "greedy" and p.method not in _PASS]
        train = [p for p in points if (p.model != m or p.method == "greedy") and p.method not in _PASS]
        if not held or len({p.model for p in train}) < 2:
            continue
        try:
            res = scaling.fit(train, form, n_boot=0)
        except FitError:
            continue
        for p in held:
            if f"h[{p.method}]" not in res.params and form == "saturating_power":
                continue
            try:
                pred = scaling.predict(res, [p.samples], model=m, method=p.method)
            except InputError:
                continue
            errs.append(float(pred.accuracy[0]) - p.accuracy)
    if not errs:
        return None
    return float(np.sqrt(np.mean(np.square(errs))))


# -- a user's own data -------------------------------------------------------------------------

AGGREGATE_COLUMNS = ("model", "task", "method", "samples", "accuracy")
PER_PROBLEM_COLUMNS = ("problem_id", "sample_id", "correct")


def fit_law_from_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    law_id: str = "user-law",
    task: str | None = None,
    model: str = "user-model",
    source: str = "user data",
    seed: int = 0,
    n_boot: int = 200,
) -> ScalingLaw:
    """Fit a law to a user's rows (e.g. ``csv.DictReader`` output).

    Aggregate rows: ``model,task,method,samples,accuracy[,n_problems]``, accuracy as a fraction or
    a percentage (detected; recorded in ``accuracy_scale``). Per-problem rows:
    ``problem_id,sample_id,correct[,answer,score]``: unbiased pass@k, majority@k, best-of-n@k
    and weighted@k are computed (``planner.strategies`` estimators) at k = 1, 2, 4, ... up to the
    smallest number of samples per problem.
    """
    rows = list(rows)
    if not rows:
        raise InputError("no rows to fit")
    cols = set(rows[0].keys())
    if set(PER_PROBLEM_COLUMNS) <= cols:
        points, scale = _points_from_problems(rows, model=model, source=source), "fraction"
    elif {"method", "samples", "accuracy"} <= cols:
        missing = [c for c in AGGREGATE_COLUMNS if c not in cols and c != "task" and c != "model"]
        if missing:
            raise InputError(f"missing columns: {', '.join(missing)}")
        points, scale = _points_from_aggregates(rows, model=model, source=source)
        tasks = sorted({str(r.get("task") or "").strip() for r in rows} - {""})
        if task is None and tasks:
            task = tasks[0] if len(tasks) == 1 else None
            if task is None:
                raise InputError(f"rows mix several tasks ({', '.join(tasks)}): fit one task per law")
    else:
        have = ", ".join(sorted(cols))
        raise InputError(
            f"unrecognised columns ({have}): expected aggregate rows ({','.join(AGGREGATE_COLUMNS)}[,n_problems]) "
            f"or per-problem rows ({','.join(PER_PROBLEM_COLUMNS)}[,answer,score])"
        )
    models = {}
    for p in points:
        if p.model not in models:
            greedy = [q.accuracy for q in points if q.model == p.model and (q.method == "greedy" or q.samples == 1)]
            models[p.model] = LawModel(id=p.model, name=p.model, anchor_accuracy=greedy[0] if greedy else None)
    return build_law(
        points,
        law_id=law_id,
        task=task or "user-task",
        models=models,
        sources={"user": source},
        description=f"fitted from {len(rows)} user rows ({scale} accuracies)",
        accuracy_scale=scale,
        seed=seed,
        n_boot=n_boot,
    )


def _float(value, what: str) -> float:
    try:
        v = float(str(value).strip())
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{what}: expected a finite number, got {value!r}")
    return v


def _points_from_aggregates(rows, *, model: str, source: str) -> tuple[list[LawPoint], str]:
    raw = []
    for i, r in enumerate(rows, start=2):
        method = str(r.get("method", "")).strip()
        if method not in METHODS:
            hint = suggest(method, METHODS)
            raise InputError(f"row {i}: unknown method {method!r}" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(METHODS)}"))
        k = _float(r.get("samples"), f"row {i}: samples")
        if k < 1 or k != int(k):
            raise InputError(f"row {i}: samples must be an integer ≥ 1, got {r.get('samples')!r}")
        acc = _float(r.get("accuracy"), f"row {i}: accuracy")
        n = r.get("n_problems")
        n_problems = None
        if n not in (None, ""):
            nv = _float(n, f"row {i}: n_problems")
            if nv < 1 or nv != int(nv):
                raise InputError(f"row {i}: n_problems must be a positive integer, got {n!r}")
            n_problems = int(nv)
        raw.append((i, str(r.get("model") or model).strip() or model, method, int(k), acc, n_problems))
    values = [a for *_, a, _ in raw]
    if any(a < 0 for a in values):
        raise InputError("accuracies must be ≥ 0")
    scale = "percent" if any(a > 1.0 for a in values) else "fraction"
    if scale == "percent" and any(a > 100.0 for a in values):
        bad = next(a for a in values if a > 100)
        raise InputError(f"accuracy {bad} is outside [0, 100] %")
    div = 100.0 if scale == "percent" else 1.0
    return [LawPoint(model=m, method=meth, samples=k, accuracy=a / div, n_problems=n, source=source, row=f"row {i}")
            for i, m, meth, k, a, n in raw], scale


def _truthy(value, where: str) -> bool:
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "y", "t", "1.0"):
        return True
    if s in ("0", "false", "no", "n", "f", "0.0"):
        return False
    raise InputError(f"{where}: expected 0/1 or true/false, got {value!r}")


def _points_from_problems(rows, *, model: str, source: str) -> list[LawPoint]:
    from planner import strategies

    problems: dict[str, list[tuple[bool, Any, float | None]]] = {}
    has_answer = all(str(r.get("answer") or "").strip() != "" for r in rows) and "answer" in rows[0]
    has_score = all(str(r.get("score") or "").strip() != "" for r in rows) and "score" in rows[0]
    for i, r in enumerate(rows, start=2):
        pid = str(r["problem_id"]).strip()
        ok = _truthy(r["correct"], f"row {i}: correct")
        score = _float(r["score"], f"row {i}: score") if has_score else None
        problems.setdefault(pid, []).append((ok, str(r.get("answer", "")).strip(), score))
    n_min = min(len(v) for v in problems.values())
    if n_min < 2:
        raise FitError("per-problem rows need at least 2 samples for every problem")
    ks = [2**j for j in range(0, int(math.log2(n_min)) + 1)]
    if len(ks) < 2:
        raise FitError("too few samples per problem to fit a curve (need k = 1 and 2 at least)")
    n_prob = len(problems)
    out = []
    sums = {m: np.zeros(len(ks)) for m in ("pass-at-k", "majority", "best-of-n", "weighted-majority")}
    for samples in problems.values():
        correct = [s[0] for s in samples]
        c = sum(correct)
        n = len(samples)
        sums["pass-at-k"] += [strategies.pass_at_k(n, c, k) for k in ks]
        if has_answer:
            answers = [s[1] for s in samples]
            right = next((s[1] for s in samples if s[0]), None)
            sums["majority"] += [strategies.majority_at_k(answers, right, k) if right is not None else 0.0 for k in ks]
            if has_score:
                scores = [s[2] for s in samples]
                sums["weighted-majority"] += [strategies.weighted_at_k(answers, scores, right, k, n_draws=400, seed=0) if right is not None else 0.0 for k in ks]
        if has_score:
            sums["best-of-n"] += [strategies.best_of_n_at_k([s[2] for s in samples], correct, k) for k in ks]
    methods = ["pass-at-k"] + (["majority"] if has_answer else []) + (["best-of-n"] if has_score else []) + (["weighted-majority"] if has_answer and has_score else [])
    for m in methods:
        for k, total in zip(ks, sums[m]):
            out.append(LawPoint(model=model, method=m, samples=k, accuracy=float(np.clip(total / n_prob, 0, 1)),
                                n_problems=n_prob, source=source, row=f"{m}@{k} from {n_prob} problems"))
    # k = 1 of any method is the single-sample accuracy: record it as greedy-equivalent anchor
    out.append(LawPoint(model=model, method="greedy", samples=1, accuracy=float(sums["pass-at-k"][0] / n_prob),
                        n_problems=n_prob, source=source, row="mean per-sample accuracy (sampled, k=1)"))
    return out
