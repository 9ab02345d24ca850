"""Law files: strict YAML parsing into ``ScalingLaw`` and the mapping written back (round-trips)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


from planner.accuracy import scaling
from planner.accuracy.laws import (
    SCHEMA_VERSION,
    LawFit,
    LawModel,
    LawPoint,
    MethodEntry,
    ScalingLaw,
)
from planner.accuracy.scaling import METHODS, FitResult
from planner.errors import ProfileError, suggest

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
