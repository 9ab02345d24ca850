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

# Candidate forms per method family, chosen per law by held-in validation on the law's own points
# (docs/scaling.md "Form selection"). The first candidate is the default when nothing can be held out.
PASS_CANDIDATES = ("beta_pass", "exp_power", "kumaraswamy_pass")
VOTE_CANDIDATES = ("saturating_power", "beta_vote")  # beta_vote only when a sampled k = 1 exists
DEFAULT_FORMS = {"pass-at-k": PASS_CANDIDATES[0], "sampling": VOTE_CANDIDATES[0]}
_PASS = ("pass-at-k", "human-pick")
_VOTES = ("majority", "best-of-n", "weighted-majority", "ensemble")


def _configurations(group: str, pts: list[Point], forms: Mapping[str, str] | None) -> tuple[dict[str, list[tuple[str, str, list[Point]]]], str]:
    """Candidate configurations {name: [(fit id, form, points)]} for a method family, and why the set is what it is."""
    fixed = (forms or {}).get(group)
    if group == "pass-at-k":
        names = (fixed,) if fixed else PASS_CANDIDATES
        return {f: [("pass-at-k", f, pts)] for f in names}, ("form fixed by the caller" if fixed else "")
    sampled_k1 = any(p.method in _VOTES and p.samples == 1 for p in pts)
    out = {"saturating_power": [("sampling", "saturating_power", pts)]}
    why = ""
    if fixed and fixed != "beta_vote":
        return {fixed: [("sampling", fixed, pts)]}, "form fixed by the caller"
    if sampled_k1:
        votes = [p for p in pts if p.method in _VOTES or p.method == "greedy"]
        tree = [p for p in pts if p.method not in _VOTES]
        config = [("voting", "beta_vote", votes)]
        if any(p.method != "greedy" for p in tree):
            config.append(("search", "saturating_power", tree))
        out["beta_vote"] = config
        if fixed == "beta_vote":
            return {"beta_vote": config}, "form fixed by the caller"
    else:
        why = ("beta_vote is not a candidate: no sampled k = 1 vote point (a greedy point is not a draw from the "
               "sampling distribution, so it cannot pin the per-problem difficulty distribution)")
    return out, why


TIE_POINTS = 0.1  # validation errors this close (the 0.1-point precision of published accuracies) count as a tie


def _n_params(config) -> int:
    return sum(scaling.n_free_params(form, group) for _, form, group in config)


def _select(configs, seed: int, n_boot: int, why_set: str) -> tuple[list[tuple[str, scaling.FitResult]], dict[str, float], str]:
    """Score every configuration by held-in validation, keep the best, refit it on all its points."""
    names = list(configs)
    union: list[Point] = []
    seen = set()
    for config in configs.values():
        for _, _, group in config:
            for p in group:
                if id(p) not in seen:
                    seen.add(id(p))
                    union.append(p)
    train, test = scaling.heldin_split(union)
    errors: dict[str, float] = {}
    failed: dict[str, str] = {}
    n_test = 0
    if test:
        for name in names:
            try:
                errors[name], n_test = scaling.heldin_error([(form, group) for _, form, group in configs[name]], train, test)
            except FitError as exc:
                failed[name] = str(exc)
    if errors:
        best = min(errors.values())
        near = [n for n in names if errors.get(n, math.inf) <= best + TIE_POINTS]
        chosen = min(near, key=lambda n: (_n_params(configs[n]), names.index(n)))
        table = ", ".join(f"{n} {errors[n]:.2f}" for n in names if n in errors)
        reason = (f"held-in validation: fitted on k <= K/4 of each curve ({len(train)} points), scored on the other "
                  f"{n_test} (mean |error|, accuracy points): {table}; chosen: {chosen}"
                  + (f" (fewest parameters within {TIE_POINTS} points of the best)" if len(near) > 1 else " (lowest)"))
        if failed:
            reason += "; could not be fitted on the held-in part: " + ", ".join(f"{n} ({m})" for n, m in failed.items())
    else:
        chosen = names[0]
        reason = ("no held-out points (no curve reaches 4x its smallest k), so the default form is kept"
                  if not test else "no candidate could be fitted on the held-in part; the default form is kept")
    if why_set:
        reason += f"; {why_set}"
    results = [(fid, scaling.fit(group, form, seed=seed, n_boot=n_boot)) for fid, form, group in configs[chosen]]
    return results, errors, reason


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
    """Fit a law: per method family, the candidate forms are scored by held-in validation and the best is refitted.

    pass@k family (pass-at-k, human-pick): beta_pass, exp_power, kumaraswamy_pass. Sampling family (greedy,
    votes, tree search): saturating_power jointly (shared per-method shape, per-model level), or, when a sampled
    k = 1 vote point exists, beta_vote for the votes plus saturating_power for tree search. ``forms`` fixes a
    family's form; ``heldout``/``chosen_because`` replace the recorded selection (the built-in laws carry the
    benchmark's comparison). Deterministic for a given seed.
    """
    pts = [Point(model=p.model, method=p.method, samples=p.samples, accuracy=p.accuracy, n_problems=p.n_problems) for p in points]
    fits: dict[str, LawFit] = {}
    methods: dict[str, MethodEntry] = {}
    pass_pts = [p for p in pts if p.method in _PASS]
    sampling_pts = [p for p in pts if p.method not in _PASS]
    if pass_pts:
        configs, why = _configurations("pass-at-k", pass_pts, forms)
        results, errors, reason = _select(configs, seed, n_boot, why)
        for fid, result in results:
            fits[fid] = LawFit(id=fid, result=result, heldout_error_pts=dict((heldout or {}).get(fid, errors)),
                               chosen_because=(chosen_because or {}).get(fid, reason))
            for m in result.methods:
                methods[m] = MethodEntry(method=m, fit=fid)
    if sampling_pts:
        if all(p.method == "greedy" for p in sampling_pts):
            pass_fit = fits.get("pass-at-k")
            models_seen = {p.model for p in sampling_pts}
            if pass_fit is not None and "greedy" in scaling.get_form(pass_fit.result.form).methods and models_seen <= set(pass_fit.result.models):
                methods["greedy"] = MethodEntry(method="greedy", fit="pass-at-k")
            else:
                result = scaling.fit(sampling_pts, "constant", seed=seed, n_boot=n_boot)
                fits["sampling"] = LawFit(id="sampling", result=result, chosen_because="greedy points only: constant")
                methods["greedy"] = MethodEntry(method="greedy", fit="sampling")
        else:
            configs, why = _configurations("sampling", sampling_pts, forms)
            results, errors, reason = _select(configs, seed, n_boot, why)
            for fid, result in results:
                key = "sampling" if fid == "sampling" else fid
                fits[fid] = LawFit(id=fid, result=result, heldout_error_pts=dict((heldout or {}).get(key, errors)),
                                   chosen_because=(chosen_because or {}).get(key, reason))
            for fid, result in results:  # tree search fits first, so greedy ends with the voting fit when both exist
                for m in sorted(result.methods, key=lambda m: m == "greedy"):
                    if m == "greedy" and "greedy" in methods and fid == "search":
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
    main_fit = fits.get("sampling") or fits.get("voting")
    loo = None
    if main_fit is not None and main_fit.result.form != "constant":
        loo_pts = [p for p in pts if p.method in main_fit.result.methods or p.method == "greedy"]
        loo = leave_one_model_out_error(loo_pts, main_fit.result.form)
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
        k_range=(math.floor(min(all_k)), math.ceil(max(all_k))),
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
    n_boot: int = 100,
    sizes_b: Mapping[str, float] | None = None,
    lookup_model: Callable[[str], tuple[str, float] | None] | None = None,
    scale: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScalingLaw:
    """Fit a law to a user's rows (e.g. ``csv.DictReader`` output).

    Each model's size is recorded so that precision penalties apply to the fitted law: ``sizes_b`` gives
    sizes in billions by model name (the user's ``--params-b``); otherwise ``lookup_model(name)`` may return
    (catalog profile id, size in billions) for a model the catalog knows. A model with neither has no size.

    Aggregate rows: ``model,task,method,samples,accuracy[,n_problems]``, accuracy as a fraction or
    a percentage (``scale``, or detected only when unambiguous; recorded in ``accuracy_scale``); k may be
    non-integer (digitized curves). Per-problem rows: ``problem_id,sample_id,correct[,answer,score]``:
    unbiased pass@k, majority@k, best-of-n@k and weighted@k are computed (``accuracy.estimators``,
    vectorised) at k = 1, 2, 4, ... up to the smallest number of samples per problem; without answers only
    pass@k (and the single-sample accuracy) is fitted. ``progress(done, total)`` reports per-problem work.
    """
    rows = list(rows)
    if not rows:
        raise InputError("no rows to fit")
    cols = set(rows[0].keys())
    notes: list[str] = []
    if set(PER_PROBLEM_COLUMNS) <= cols:
        if scale == "percent":
            raise InputError("--scale percent does not apply to per-problem rows (correct is 0/1)")
        points, scale = _points_from_problems(rows, model=model, source=source, seed=seed, progress=progress), "fraction"
    elif {"method", "samples"} <= cols and cols & {"accuracy", "accuracy_pct", "accuracy_percent"}:
        points, scale, notes = _points_from_aggregates(rows, model=model, source=source, scale=scale)
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
        notes="; ".join(notes),
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


MAX_SAMPLES = 1_000_000  # a sample count above this is a typo or an overflow, not an evaluation
MAX_PROBLEMS = 100_000_000
PERCENT_THRESHOLD = 1.5  # fractions never exceed 1; a value above 1.5 can only be a percentage
SCALES = ("fraction", "percent")


def _row_model(r, model: str) -> str:
    return str(r.get("model") or "").strip() or model


def _points_from_aggregates(rows, *, model: str, source: str, scale: str | None = None) -> tuple[list[LawPoint], str, list[str]]:
    """Aggregate rows -> points, the accuracy scale used, and notes (non-integer k).

    ``scale``: "fraction", "percent" or None to detect: percent when the header says so (``accuracy_pct``,
    ``accuracy_percent``, or values written with ``%``) or when any value exceeds 1.5; a value in (1, 1.5] with
    no such evidence is ambiguous and an error naming its row.
    """
    if scale is not None and scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    column = next((c for c in ("accuracy", "accuracy_pct", "accuracy_percent") if c in rows[0]), "accuracy")
    header_percent = column != "accuracy" or any(str(r.get(column) or "").strip().endswith("%") for r in rows)
    if header_percent and scale == "fraction":
        raise InputError(f"--scale fraction contradicts the data (column '{column}' or values written with %)")
    raw = []
    seen: dict[tuple[str, str, float], tuple[int, float]] = {}
    notes = []
    for i, r in enumerate(rows, start=2):
        method = str(r.get("method", "")).strip()
        if method not in METHODS:
            hint = suggest(method, METHODS)
            raise InputError(f"row {i}: unknown method {method!r}" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(METHODS)}"))
        k = _float(r.get("samples"), f"row {i}: samples")
        if not 1 <= k <= MAX_SAMPLES:
            raise InputError(f"row {i}: samples must be between 1 and {MAX_SAMPLES:,}, got {r.get('samples')!r}")
        if k != int(k):
            notes.append(f"row {i}: non-integer k = {k:g} accepted (a digitized curve); votes at it are interpolated between whole k")
        text = str(r.get(column) or "").strip().rstrip("%").strip()
        acc = _float(text, f"row {i}: {column}")
        if acc < 0:
            raise InputError(f"row {i}: {column} must be ≥ 0, got {r.get(column)!r}")
        n = r.get("n_problems")
        n_problems = None
        if n not in (None, ""):
            nv = _float(n, f"row {i}: n_problems")
            if not 1 <= nv <= MAX_PROBLEMS or nv != int(nv):
                raise InputError(f"row {i}: n_problems must be a whole number between 1 and {MAX_PROBLEMS:,}, got {n!r}")
            n_problems = int(nv)
        name = _row_model(r, model)
        key = (name, method, k)
        if key in seen:
            j, other = seen[key]
            what = "duplicates" if other == acc else f"conflicts with (accuracy {other:g} there)"
            raise InputError(f"row {i}: {name} {method} at k = {k:g} {what} row {j}; keep one row per model, method and k")
        seen[key] = (i, acc)
        raw.append((i, name, method, float(k) if k != int(k) else int(k), acc, n_problems))
    if scale is None:
        if header_percent or any(a > PERCENT_THRESHOLD for *_, a, _ in raw):
            scale = "percent"
        else:
            bad = next((x for x in raw if x[4] > 1.0), None)
            if bad is not None:
                raise InputError(
                    f"row {bad[0]}: accuracy {bad[4]!r} is above 1 but no value exceeds {PERCENT_THRESHOLD}: "
                    "fraction or percentage is ambiguous; fix the row or pass --scale fraction|percent"
                )
            scale = "fraction"
    limit = 100.0 if scale == "percent" else 1.0
    bad = next((x for x in raw if x[4] > limit), None)
    if bad is not None:
        raise InputError(f"row {bad[0]}: accuracy {bad[4]!r} is outside [0, {limit:g}] ({scale})")
    div = 100.0 if scale == "percent" else 1.0
    points = [LawPoint(model=m, method=meth, samples=k, accuracy=a / div, n_problems=n, source=source, row=f"row {i}")
              for i, m, meth, k, a, n in raw]
    return points, scale, notes[:3] + ([f"... and {len(notes) - 3} more non-integer k"] if len(notes) > 3 else [])


def _truthy(value, where: str) -> bool:
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "y", "t", "1.0"):
        return True
    if s in ("0", "false", "no", "n", "f", "0.0"):
        return False
    raise InputError(f"{where}: expected 0/1 or true/false, got {value!r}")


VOTE_DRAWS = 256  # Monte Carlo orderings per problem for majority@k and weighted@k (seeded)


def _points_from_problems(rows, *, model: str, source: str, seed: int = 0, progress=None) -> list[LawPoint]:
    """Per-problem rows -> pass@k, majority@k, best-of-n@k, weighted@k points at k = 1, 2, 4, ... (vectorised).

    Every row is checked first: empty ids, a sample id repeated within a problem (duplicate or conflicting),
    one answer marked both correct and wrong, are errors naming the rows. ``progress(done, total)`` is called
    as problems are processed (for a progress bar; never on stdout).
    """
    cols = rows[0].keys()
    has_answer = "answer" in cols and all(str(r.get("answer") or "").strip() != "" for r in rows)
    has_score = "score" in cols and all(str(r.get("score") or "").strip() != "" for r in rows)
    problems: dict[str, list[tuple[int, bool, str, float | None]]] = {}
    seen: dict[tuple[str, str], tuple[int, tuple]] = {}
    for i, r in enumerate(rows, start=2):
        pid = str(r.get("problem_id") or "").strip()
        sid = str(r.get("sample_id") or "").strip()
        if not pid:
            raise InputError(f"row {i}: empty problem_id")
        if not sid:
            raise InputError(f"row {i}: empty sample_id")
        ok = _truthy(r.get("correct"), f"row {i}: correct")
        answer = str(r.get("answer") or "").strip()
        score = _float(r["score"], f"row {i}: score") if has_score else None
        content = (ok, answer, score)
        if (pid, sid) in seen:
            j, other = seen[(pid, sid)]
            what = "repeats" if other == content else "conflicts with"
            raise InputError(f"row {i}: sample '{sid}' of problem '{pid}' {what} row {j}; each (problem_id, sample_id) must appear once")
        seen[(pid, sid)] = (i, content)
        problems.setdefault(pid, []).append((i, ok, answer, score))
    n_min = min(len(v) for v in problems.values())
    if n_min < 2:
        short = next(p for p, v in problems.items() if len(v) == n_min)
        raise FitError(f"per-problem rows need at least 2 samples for every problem; problem '{short}' has {n_min}")
    ks = [2**j for j in range(int(math.log2(n_min)) + 1)]
    n_prob = len(problems)
    rng = np.random.default_rng(seed)
    sums = {m: np.zeros(len(ks)) for m in ("pass-at-k", "majority", "best-of-n", "weighted-majority")}
    for done, (pid, samples) in enumerate(problems.items(), start=1):
        correct = np.array([s[1] for s in samples])
        sums["pass-at-k"] += estimators.pass_at_k_curve(len(samples), int(correct.sum()), ks)
        if has_answer:
            verdict: dict[str, tuple[bool, int]] = {}
            for i, ok, answer, _ in samples:
                if answer in verdict and verdict[answer][0] != ok:
                    raise InputError(f"row {i}: problem '{pid}' answer {answer[:40]!r} is marked "
                                     f"{'correct' if ok else 'wrong'} here and {'correct' if verdict[answer][0] else 'wrong'} in row {verdict[answer][1]}")
                verdict.setdefault(answer, (ok, i))
            index = {a: j for j, a in enumerate(verdict)}
            labels = np.array([index[s[2]] for s in samples])
            good = np.array([verdict[a][0] for a in verdict])
            scores = np.array([s[3] for s in samples], dtype=float) if has_score else None
            if good.any():
                maj, wei = estimators.vote_curves(labels, good, ks, rewards=scores, n_draws=VOTE_DRAWS, rng=rng)
                maj[0] = correct.mean()  # k = 1: a single sample, exactly
                sums["majority"] += maj
                if wei is not None:
                    wei[0] = correct.mean()
                    sums["weighted-majority"] += wei
        if has_score:
            sums["best-of-n"] += estimators.best_of_n_curve([s[3] for s in samples], correct, ks)
        if progress is not None:
            progress(done, n_prob)
    methods = ["pass-at-k"] + (["majority"] if has_answer else []) + (["best-of-n"] if has_score else []) + (["weighted-majority"] if has_answer and has_score else [])
    out = []
    for m in methods:
        for k, total in zip(ks, sums[m]):
            how = "" if m in ("pass-at-k", "best-of-n") or k in (1, n_min) else f", Monte Carlo over {VOTE_DRAWS} orderings per problem"
            out.append(LawPoint(model=model, method=m, samples=k, accuracy=float(np.clip(total / n_prob, 0, 1)),
                                n_problems=n_prob, source=source, row=f"{m}@{k} from {n_prob} problems{how}"))
    # k = 1 of any method is the single-sample accuracy: record it as the sampled k = 1 (greedy-equivalent) anchor
    out.append(LawPoint(model=model, method="greedy", samples=1, accuracy=float(sums["pass-at-k"][0] / n_prob),
                        n_problems=n_prob, source=source, row="mean per-sample accuracy (sampled, k=1)"))
    return out
