"""Building laws from points: the built-in fits and a user's own evaluation rows (aggregate or per problem)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from planner.accuracy import estimators, scaling
from planner.accuracy.laws import (
    LawFit,
    LawModel,
    LawPoint,
    LawWorkload,
    MethodEntry,
    ScalingLaw,
)
from planner.accuracy.scaling import METHODS, Point
from planner.errors import FitError, InputError, suggest

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
    workload: LawWorkload | None = None,
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
        workload=workload,
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
    sizes_b: Mapping[str, float] | None = None,
    lookup_model: Callable[[str], tuple[str, float] | None] | None = None,
) -> ScalingLaw:
    """Fit a law to a user's rows (e.g. ``csv.DictReader`` output).

    Each model's size is recorded so that precision penalties apply to the fitted law: ``sizes_b`` gives
    sizes in billions by model name (the user's ``--params-b``); otherwise ``lookup_model(name)`` may return
    (catalog profile id, size in billions) for a model the catalog knows. A model with neither has no size.

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
            models[p.model] = _user_model(p.model, greedy[0] if greedy else None, sizes_b or {}, lookup_model)
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


def _user_model(name: str, anchor: float | None, sizes_b: Mapping[str, float], lookup_model) -> LawModel:
    hit = lookup_model(name) if lookup_model is not None else None
    profile, size, source = (hit[0], float(hit[1]), f"size from catalog model profile '{hit[0]}'") if hit else (None, None, "")
    if name in sizes_b:
        size, source = float(sizes_b[name]), "size given by the user (--params-b)"
    if size is not None and not (math.isfinite(size) and 1e-4 <= size <= 1e5):
        raise InputError(f"model '{name}': size must be between 1e-4 and 1e5 billion parameters, got {size!r}")
    return LawModel(id=name, name=name, params_b=size, anchor_accuracy=anchor, source=source, profile=profile)


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
    ks = [2**j for j in range(int(math.log2(n_min)) + 1)]
    if len(ks) < 2:
        raise FitError("too few samples per problem to fit a curve (need k = 1 and 2 at least)")
    n_prob = len(problems)
    out = []
    sums = {m: np.zeros(len(ks)) for m in ("pass-at-k", "majority", "best-of-n", "weighted-majority")}
    for samples in problems.values():
        correct = [s[0] for s in samples]
        c = sum(correct)
        n = len(samples)
        sums["pass-at-k"] += [estimators.pass_at_k(n, c, k) for k in ks]
        if has_answer:
            answers = [s[1] for s in samples]
            right = next((s[1] for s in samples if s[0]), None)
            sums["majority"] += [estimators.majority_at_k(answers, right, k) if right is not None else 0.0 for k in ks]
            if has_score:
                scores = [s[2] for s in samples]
                sums["weighted-majority"] += [estimators.weighted_at_k(answers, scores, right, k, n_draws=400, seed=0) if right is not None else 0.0 for k in ks]
        if has_score:
            sums["best-of-n"] += [estimators.best_of_n_at_k([s[2] for s in samples], correct, k) for k in ks]
    methods = ["pass-at-k"] + (["majority"] if has_answer else []) + (["best-of-n"] if has_score else []) + (["weighted-majority"] if has_answer and has_score else [])
    for m in methods:
        for k, total in zip(ks, sums[m]):
            out.append(LawPoint(model=model, method=m, samples=k, accuracy=float(np.clip(total / n_prob, 0, 1)),
                                n_problems=n_prob, source=source, row=f"{m}@{k} from {n_prob} problems"))
    # k = 1 of any method is the single-sample accuracy: record it as greedy-equivalent anchor
    out.append(LawPoint(model=model, method="greedy", samples=1, accuracy=float(sums["pass-at-k"][0] / n_prob),
                        n_problems=n_prob, source=source, row="mean per-sample accuracy (sampled, k=1)"))
    return out
