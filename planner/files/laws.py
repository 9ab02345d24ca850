"""Law files: strict YAML parsing into ``ScalingLaw`` and the mapping written back (round-trips)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner.accuracy import scaling
from planner.accuracy.laws import (
    SCHEMA_VERSION,
    LawAnchor,
    LawFit,
    LawModel,
    LawPoint,
    LawWorkload,
    MethodEntry,
    ScalingLaw,
)
from planner.accuracy.scaling import METHODS, FitResult
from planner.errors import suggest
from planner.files.checker import Checker

# ---------------------------------------------------------------------------------------------
# YAML: parse and dump

_TOP = {"kind", "schema_version", "id", "task", "description", "default_model", "models", "fits", "methods", "points",
        "sources", "coverage", "extrapolated", "accuracy_scale", "model_extrapolation_sigma", "size_law", "notes", "workload", "anchors", "anchor_evaluator_sd"}
_TOP_REQUIRED = {"kind", "id", "task", "models", "fits", "methods", "points", "sources"}
_MODEL = {"name", "params_b", "anchor_accuracy", "source", "profile"}
_WORKLOAD = {"prompt_tokens", "output_tokens", "source"}
_ANCHOR = {"model", "accuracy", "setting", "source"}
_FIT = {"form", "published", "methods", "models", "params", "intervals", "covariance", "quality", "k_range", "seed",
        "n_boot", "heldout_error_pts", "chosen_because"}
_FIT_REQUIRED = {"form", "params", "intervals", "quality", "k_range"}
_QUALITY = {"n_points", "n_params", "rmse", "max_abs_residual", "success", "message", "warnings", "residuals"}
_METHOD = {"fit", "derived_from", "note"}
_POINT = {"model", "method", "samples", "accuracy", "n_problems", "source", "row"}
_COVERAGE = {"k_range", "params_b_range", "models"}
_SIZE = {"intercept", "slope", "n_models", "params_b_range", "residual_sd"}


def parse_law(data: dict, path, *, check_id: bool = True) -> ScalingLaw:
    """Build a ScalingLaw from a YAML mapping; raises every problem found (ProfileError / ProfileErrors, with lines).

    ``check_id``: require ``id`` to equal the file name (catalog folders look laws up by file name); a law file
    named on the command line may carry any id.
    """
    path = Path(path)
    c = Checker(path, data)
    with c.collecting():
        law = _parse_law_fields(c, data, path, check_id)
    return law


def _parse_law_fields(c: Checker, data: dict, path: Path, check_id: bool) -> ScalingLaw:
    c.keys(data, _TOP, _TOP_REQUIRED)
    if "kind" in data and data["kind"] != "law":
        c.fail("kind", f"expected 'law', got {data['kind']!r}")
    law_id = c.text(data, "id", required=True)
    if not law_id.strip():
        c.fail("id", "expected a non-empty id")
    if check_id and path.suffix in (".yaml", ".yml") and law_id != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {law_id!r}")
    if "schema_version" in data and data["schema_version"] != SCHEMA_VERSION:
        c.fail("schema_version", f"expected {SCHEMA_VERSION}, got {data['schema_version']!r}")
    models_raw = data.get("models")
    if not isinstance(models_raw, dict) or not models_raw:
        c.fail("models", "expected a non-empty mapping of model id -> {name, params_b, ...}")
    models = {}
    for mid, m in (models_raw.items() if isinstance(models_raw, dict) else ()):
        p = f"models.{mid}."
        c.keys(m, _MODEL, {"name"}, p)
        models[str(mid)] = LawModel(
            id=str(mid),
            name=c.text(m, "name", p, required=True),
            params_b=c.number(m, "params_b", p, lo=1e-6, required=False),
            anchor_accuracy=c.number(m, "anchor_accuracy", p, lo=0.0, hi=1.0, required=False),
            source=c.text(m, "source", p),
            profile=c.text(m, "profile", p, default=None),
        )
    fits_raw = data.get("fits")
    if not isinstance(fits_raw, dict) or not fits_raw:
        c.fail("fits", "expected a non-empty mapping of fit id -> fitted form")
    fits = {fid: _parse_fit(c, str(fid), f) for fid, f in (fits_raw.items() if isinstance(fits_raw, dict) else ())}
    methods_raw = data.get("methods")
    if not isinstance(methods_raw, dict) or not methods_raw:
        c.fail("methods", "expected a mapping of method id -> {fit: ...} or {derived_from: ...}")
    methods = {}
    for name, m in (methods_raw.items() if isinstance(methods_raw, dict) else ()):
        p = f"methods.{name}."
        c.choice(name, f"methods.{name}", METHODS, "method")
        c.keys(m, _METHOD, set(), p)
        fit_id = c.text(m, "fit", p, default=None)
        derived = c.text(m, "derived_from", p, default=None)
        if (fit_id is None) == (derived is None):
            c.fail(f"methods.{name}", "give exactly one of 'fit' or 'derived_from'")
        if fit_id is not None and fit_id not in fits:
            hint = suggest(fit_id, fits)
            c.fail(f"{p}fit", f"unknown fit {fit_id!r}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if derived is not None:
            c.choice(derived, f"{p}derived_from", METHODS, "method")
            if derived not in methods_raw:
                c.fail(f"{p}derived_from", f"method {derived!r} is not defined in this law")
        if fit_id is not None:
            form = scaling.FORMS[fits[fit_id].result.form]
            if name not in form.methods:
                c.fail(f"{p}fit", f"form '{form.name}' of fit '{fit_id}' cannot describe method '{name}'")
        methods[name] = MethodEntry(method=name, fit=fit_id, derived_from=derived, note=c.text(m, "note", p))
    points_raw = data.get("points")
    if not isinstance(points_raw, list):
        c.fail("points", "expected a list of data points")
    points = []
    for i, pt in enumerate(points_raw if isinstance(points_raw, list) else ()):
        p = f"points[{i}]."
        before = len(c.problems)
        c.keys(pt, _POINT, {"model", "method", "samples", "accuracy"}, p)
        if not isinstance(pt, dict):
            continue
        fields = dict(
            model=c.text(pt, "model", p, required=True),
            method=c.choice(pt.get("method"), f"{p}method", METHODS, "method"),
            samples=_samples(c.number(pt, "samples", p, lo=1.0, hi=1e6)),
            accuracy=c.number(pt, "accuracy", p, lo=0.0, hi=1.0),
            n_problems=c.integer(pt, "n_problems", p, minimum=1, required=False, default=None),
            source=c.text(pt, "source", p),
            row=c.text(pt, "row", p),
        )
        if len(c.problems) == before:
            points.append(LawPoint(**fields))
    sources = data.get("sources")
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
            n_models=c.integer(s, "n_models", "size_law.", minimum=2, required=True),
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
        workload=_parse_workload(c, data.get("workload")),
        anchors=_parse_anchors(c, data.get("anchors")),
        anchor_evaluator_sd=c.number(data, "anchor_evaluator_sd", lo=0.0, hi=0.5, required=False, default=0.0),
    )


def _parse_anchors(c: Checker, raw) -> dict[str, LawAnchor]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        c.fail("anchors", "expected a mapping of catalog model id -> {model, accuracy, setting, source}")
        return {}
    out = {}
    for key, a in raw.items():
        p = f"anchors.{key}."
        c.keys(a, _ANCHOR, _ANCHOR, p)
        if not isinstance(a, dict):
            continue
        acc = c.number(a, "accuracy", p, lo=1e-6, hi=1 - 1e-6)
        model = c.text(a, "model", p, required=True)
        setting = c.text(a, "setting", p, required=True)
        source = c.text(a, "source", p, required=True)
        if acc is not None and model and source:
            out[str(key)] = LawAnchor(profile=str(key), model=model, accuracy=acc, setting=setting, source=source)
    return out


def _samples(value: float | None) -> int | float:
    """A point's k: an int when whole (digitized curves may carry non-integer k)."""
    if value is None:
        return 1
    return int(value) if float(value).is_integer() else float(value)


def _parse_workload(c: Checker, w) -> LawWorkload | None:
    if w is None:
        return None
    c.keys(w, _WORKLOAD, _WORKLOAD, "workload.")
    if not isinstance(w, dict):
        return None
    prompt = c.number(w, "prompt_tokens", "workload.", lo=0.0, hi=1e7)
    output = c.number(w, "output_tokens", "workload.", lo=0.0, hi=1e7)
    source = c.text(w, "source", "workload.", required=True)
    if prompt is None or output is None or not str(source).strip():
        if source is not None and not str(source).strip():
            c.fail("workload.source", "expected text saying where the token counts come from")
        return None
    return LawWorkload(prompt_tokens=prompt, output_tokens=output, source=source)


def _parse_fit(c: Checker, fid: str, f) -> LawFit:
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
    cov = tuple(tuple(0.0 for _ in range(n)) for _ in range(n))  # also the placeholder when the file's is bad
    if cov_raw is not None:
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
        c.choice(m, f"{p}methods[{i}]", METHODS, "method")
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
        n_points=c.integer(q, "n_points", f"{p}quality.", minimum=1, required=True),
        n_params=c.integer(q, "n_params", f"{p}quality.", minimum=0, required=False, default=len(names)),
        residuals=tuple(float(r) for r in residuals),
        rmse=c.number(q, "rmse", f"{p}quality.", lo=0.0),
        success=c.boolean(q, "success", f"{p}quality.", default=True),
        message=c.text(q, "message", f"{p}quality."),
        warnings=tuple(warnings),
        k_range=c.pair(f, "k_range", p, integer=True),
        models=tuple(models),
        methods=tuple(methods),
        seed=c.integer(f, "seed", p, minimum=0, required=False, default=0),
        n_boot=c.integer(f, "n_boot", p, minimum=0, required=False, default=0),
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
    """A plain mapping for ``files.disk.dump_yaml`` (round-trips through ``parse_law``)."""
    out: dict[str, Any] = {"kind": "law", "schema_version": SCHEMA_VERSION, "id": law.id, "task": law.task}
    if law.description:
        out["description"] = law.description
    out["default_model"] = law.default_model
    out["extrapolated"] = law.extrapolated
    out["accuracy_scale"] = law.accuracy_scale
    out["models"] = {}
    for mid, m in law.models.items():
        d: dict[str, Any] = {"name": m.name}
        if m.profile:
            d["profile"] = m.profile
        if m.params_b is not None:
            d["params_b"] = _r(m.params_b, 12)  # unrounded: compared with catalog sizes
        if m.anchor_accuracy is not None:
            d["anchor_accuracy"] = _r(m.anchor_accuracy)
        if m.source:
            d["source"] = m.source
        out["models"][mid] = d
    if law.anchors:
        out["anchors"] = {k: {"model": a.model, "accuracy": _r(a.accuracy), "setting": a.setting, "source": a.source}
                          for k, a in sorted(law.anchors.items())}
        out["anchor_evaluator_sd"] = _r(law.anchor_evaluator_sd, 4)
    if law.workload is not None:
        out["workload"] = {"prompt_tokens": _r(law.workload.prompt_tokens), "output_tokens": _r(law.workload.output_tokens),
                           "source": law.workload.source}
    out["coverage"] = {"k_range": list(law.k_range), "models": list(law.models)}
    if law.params_range_b:
        out["coverage"]["params_b_range"] = [_r(law.params_range_b[0], 12), _r(law.params_range_b[1], 12)]
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
                           "params_b_range": [_r(s.params_range_b[0], 12), _r(s.params_range_b[1], 12)], "residual_sd": _r(s.residual_sd)}
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
