"""Scaling-law profiles: the ``ScalingLaw`` type, strict YAML parsing, fitting a user's rows, prediction tables.

A law file is ``profiles/laws/<id>.yaml`` with ``kind: law``. It embeds the data points it was
fitted on (with their source rows), each fit's form, parameters, bootstrap intervals, fit quality
and coverage, which fit serves each search method, and the held-out errors that chose the forms.
Reading and writing law files lives in ``planner.files.laws``; the maths in ``planner.accuracy.scaling``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.accuracy import scaling
from planner.accuracy.scaling import FitResult
from planner.errors import InputError, UnknownNameError

SCHEMA_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True, slots=True, kw_only=True)
class LawModel:
    """A model covered by a law: size, the catalog profile that costs it, and its single-sample accuracy.

    ``profile``: the id of the catalog model profile whose architecture runs this model (e.g. the law
    model ``llemma-7b-metamath``, a MetaMath fine-tune, costs as ``llemma-7b``); None when the law does
    not say. ``params_b``: total parameters in billions, unrounded (from the profile or the user).
    ``anchor_accuracy``: single-sample (greedy) accuracy, a fraction, in the law's own evaluator.
    """

    id: str
    name: str
    params_b: float | None = None
    anchor_accuracy: float | None = None
    source: str = ""
    profile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LawAnchor:
    """A catalog model's published single-sample accuracy on the law's task, from another evaluation.

    ``profile``: the catalog model id it anchors; ``model``: the checkpoint as published (base or instruct);
    ``accuracy``: a fraction; ``setting``: shots, prompting, evaluator; ``source``: where it was read.
    """

    profile: str
    model: str
    accuracy: float
    setting: str
    source: str

    def __post_init__(self) -> None:
        if not (isinstance(self.accuracy, (int, float)) and 0.0 < self.accuracy < 1.0):
            raise InputError(f"anchor accuracy of '{self.profile}' must be a fraction in (0, 1), got {self.accuracy!r}")


SIZE_LAW_MARGIN = 2.0  # the size law is used up to this factor beyond its fitted size range, never further


@dataclass(frozen=True, slots=True, kw_only=True)
class LawWorkload:
    """Tokens one sample of the law's task costs: the prompt (read once per problem) and the generated answer.

    ``prompt_tokens`` and ``output_tokens`` are per sample, in tokens; ``source`` says where each figure comes from
    (a paper's number, a derivation from it, or a stated assumption).
    """

    prompt_tokens: float
    output_tokens: float
    source: str

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "output_tokens"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < 1e7):
                raise InputError(f"workload.{name} must be a token count in [0, 1e7), got {v!r}")
        if not self.source.strip():
            raise InputError("workload.source must say where the token counts come from")


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
    """One observed accuracy (fraction) of a method at ``samples`` samples (a whole number, or not for digitized curves)."""

    model: str
    method: str
    samples: int | float
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
    workload: LawWorkload | None = None
    anchors: Mapping[str, LawAnchor] = field(default_factory=dict)  # catalog profile id -> published anchor
    anchor_evaluator_sd: float = 0.0  # 1 sd (fraction) between evaluators of one model's single-sample accuracy

    def __post_init__(self) -> None:
        for name, entry in self.methods.items():
            if entry.fit is not None and entry.fit not in self.fits:
                raise InputError(f"law '{self.id}': method '{name}' refers to unknown fit '{entry.fit}'")
            if entry.derived_from is not None and entry.derived_from not in self.methods:
                raise InputError(f"law '{self.id}': method '{name}' is derived from '{entry.derived_from}', which the law lacks")
        if self.default_model not in self.models:
            raise InputError(f"law '{self.id}': default_model '{self.default_model}' is not among its models")

    def models_for_profile(self, profile: str) -> tuple[str, ...]:
        """Ids of the law's models that the catalog model profile ``profile`` costs (case-insensitive)."""
        key = profile.strip().lower()
        return tuple(mid for mid, m in self.models.items() if m.profile is not None and m.profile.lower() == key)

    def find_model(self, name: str) -> str | None:
        """The law model id that ``name`` means, or None.

        Matches, case-insensitively and in this order: a law model id, its display name, then the catalog
        profile that costs it (when exactly one law model has that profile, or one of them has the same id).
        """
        key = name.strip().lower()
        for mid in self.models:
            if mid.lower() == key:
                return mid
        for mid, m in self.models.items():
            if m.name.strip().lower() == key:
                return mid
        hits = self.models_for_profile(name)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InputError(
                f"law '{self.id}' has several models that run as '{name}' ({', '.join(hits)}): name one of them"
            )
        return None

    def model_names(self) -> tuple[str, ...]:
        """Every name ``find_model`` accepts (ids, display names, profiles), for did-you-mean hints."""
        out = list(self.models)
        out += [m.name for m in self.models.values()]
        out += [m.profile for m in self.models.values() if m.profile]
        return tuple(dict.fromkeys(out))


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


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictionTable:
    """What `planner predict` shows: predictions for several k, with warnings and assumptions."""

    law_id: str
    task: str
    method: str
    precision: str | None
    predictions: tuple[Prediction, ...]
    warnings: tuple[str, ...]
    assumptions: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Prediction


def prediction_table(law: ScalingLaw, method: str, samples: Sequence[int], *, source: str, model: str | None = None,
                     precision: str | None = None, penalty: Any = None, params_b: float | None = None,
                     anchor_accuracy: float | None = None, kv_precision: str | None = None) -> PredictionTable:
    """``predict_table`` with its provenance (``source``: where the law was read from) and assumptions."""
    rows = predict_table(law, method, samples, model=model, precision=precision, penalty=penalty, params_b=params_b,
                         anchor_accuracy=anchor_accuracy, kv_precision=kv_precision)
    first = rows[0]
    assumptions = [f"law {law.id} ({source}); method {first.method}; model {first.model}; form {first.form}",
                   "accuracy is a fraction of problems solved; the interval is a 95 % bootstrap band"]
    if precision or kv_precision:
        what = " + ".join(x for x in (f"weights {precision}" if precision else "", f"KV cache {kv_precision}" if kv_precision else "") if x)
        assumptions.append(f"{what}: the quantization penalty acts on per-sample success before aggregating over samples")
    warnings = tuple(dict.fromkeys(w for p in rows for w in p.warnings))
    return PredictionTable(law_id=law.id, task=law.task, method=method, precision=precision, predictions=tuple(rows),
                           warnings=warnings, assumptions=tuple(assumptions))


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


def precision_transform(precision: str | None, penalty: Any = None, params_b: float | None = None, kv_precision: str | None = None):
    """A per-sample transform from ``accuracy.quantization.apply_penalty`` (None when no precision is asked).

    ``penalty``: the QuantPenalty to apply (the caller reads it from its catalog; the library never does).
    """
    if precision is None and kv_precision is None and penalty is None:
        return None
    precision = precision or "bf16"
    if penalty is None:
        raise InputError(f"precision {precision!r} needs a quantization penalty (none was given)")
    from planner.accuracy import quantization

    n_params = (params_b or 0.0) * 1e9

    def transform(p: np.ndarray) -> np.ndarray:
        return np.asarray(quantization.apply_penalty(p, params=n_params, precision=precision, kv_precision=kv_precision, penalty=penalty), dtype=float)

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
    kv_precision: str | None = None,
) -> list[Prediction]:
    """Predicted accuracy with a 95 % interval for each sample count.

    ``model`` defaults to the law's default model. A model the law has no data for is predicted
    from the law's shared per-method shape, anchored on, in this order: ``anchor_accuracy`` (its
    single-sample accuracy in the same evaluation); the law's published anchor for that catalog
    profile (another evaluator: the evaluator spread is added to the band); the law's size law at
    ``params_b``, only within ``SIZE_LAW_MARGIN`` of its fitted sizes (beyond it: an error). Such rows
    are ``extrapolated`` with the leave-one-model-out error added to the interval.
    ``precision``/``penalty`` (or an explicit ``transform``) act on the per-sample success before
    aggregating over k.
    """
    ks = _check_samples(samples)
    entry, notes = resolve_method(law, method)
    fit = law.fits[entry.fit]  # type: ignore[index]
    if anchor_accuracy is not None and model is not None and law.find_model(model) is not None:
        raise InputError(f"model '{model}' has its own data in law '{law.id}': --anchor-accuracy is for models without data")
    if model is None and anchor_accuracy is not None:
        model = "anchored-model"
    if model is None:
        model_id = law.default_model
        if model_id not in fit.result.models and fit.result.models and anchor_accuracy is None:
            model_id = fit.result.models[0]
            notes.append(f"the law's default model '{law.default_model}' has no {entry.method} data: predicted for '{model_id}'")
    else:
        model_id = _match_model(law, model, anchor_accuracy, params_b)
        info = law.models.get(model_id)
        if info is not None and model.strip().lower() not in (model_id.lower(), info.name.strip().lower()):
            notes.append(f"model '{model}' predicted with the law's data for '{model_id}' ({info.name}), which runs as '{info.profile}'")
    overrides: dict[str, float] = {}
    extra_sigma = 0.0
    model_extrapolated = False
    if model_id not in fit.result.models:
        model_extrapolated = True
        anchor, why, anchor_sigma = _anchor_for(law, model_id, anchor_accuracy, params_b)
        overrides = _anchor_overrides(fit.result, model_id, anchor)
        extra_sigma = math.hypot(law.model_extrapolation_sigma, anchor_sigma)
        known = [law.models[m].anchor_accuracy for m in fit.result.models if m in law.models and law.models[m].anchor_accuracy is not None]
        if known and not min(known) <= anchor <= max(known):
            gap = min(abs(anchor - min(known)), abs(anchor - max(known)))
            extra_sigma += 0.5 * gap  # far from the fitted models' accuracies the shared shape is a guess
            notes.append(f"its single-sample accuracy {anchor * 100:.1f} % is outside the law's fitted range "
                         f"{min(known) * 100:.1f}-{max(known) * 100:.1f} %: interval widened by half the gap")
        notes.append(f"model '{model_id}' has no data in law '{law.id}': {why}; interval widened by the leave-one-model-out error "
                     f"({law.model_extrapolation_sigma * 100:.1f} points, 1 sd)")
    size = params_b if params_b is not None else (law.models[model_id].params_b if model_id in law.models else None)
    if transform is None and (precision is not None or kv_precision is not None) and not size:
        raise InputError(
            f"model '{model_id}' in law '{law.id}' has no size, which the precision penalty needs: "
            "refit with `planner fit --params-b`, or name a catalog model"
        )
    tf = transform if transform is not None else precision_transform(precision, penalty, size, kv_precision)
    if tf is not None and fit.result.form not in ("beta_pass", "beta_vote", "kumaraswamy_pass"):
        notes.append(f"form '{fit.result.form}' has no per-problem distribution: the precision penalty shifts the single-sample level"
                     + (" (and the plateau with it, so the gap shrinks from k = 1 to large k by the factor 1 - h)"
                        if fit.result.form == "saturating_power" else " only"))
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


def _match_model(law: ScalingLaw, model: str, anchor, params_b) -> str:
    found = law.find_model(model)
    if found is not None:
        return found
    published = next((k for k in law.anchors if k.lower() == model.strip().lower()), None)
    if published is not None:
        return published
    if anchor is None and params_b is None:
        raise UnknownNameError(
            f"model in law '{law.id}' (or give its single-sample accuracy with --anchor-accuracy to predict a model without data)",
            model, law.model_names() + tuple(law.anchors),
        )
    return model


def _anchor_for(law: ScalingLaw, model_id: str, anchor, params_b) -> tuple[float, str, float]:
    """(single-sample accuracy, how it was found, its extra 1-sd uncertainty as a fraction)."""
    if anchor is not None:
        a = float(anchor)
        if a > 1.0:
            a /= 100.0
        if not 0.0 < a < 1.0:
            raise InputError(f"anchor accuracy must be in (0, 1) or (0, 100) %, got {anchor!r}")
        return a, f"anchored on the given single-sample accuracy {a * 100:.1f} %", 0.0
    if model_id in law.models and law.models[model_id].anchor_accuracy is not None:
        a = law.models[model_id].anchor_accuracy
        return a, f"anchored on its single-sample accuracy {a * 100:.1f} %", 0.0
    hit = law.anchors.get(model_id) or next((v for k, v in law.anchors.items() if k.lower() == model_id.lower()), None)
    if hit is not None:
        return hit.accuracy, (f"anchored on {hit.model}'s published single-sample accuracy {hit.accuracy * 100:.1f} % "
                              f"({hit.setting}; {hit.source}), a different evaluation from the law's own data: "
                              f"evaluator spread {law.anchor_evaluator_sd * 100:.1f} points (1 sd) added"), law.anchor_evaluator_sd
    if params_b is not None and law.size_law is not None:
        lo, hi = law.size_law.params_range_b
        n = float(params_b)
        if not lo / SIZE_LAW_MARGIN <= n <= hi * SIZE_LAW_MARGIN:
            raise InputError(
                f"model '{model_id}' ({n:.4g} B) is outside the size law of law '{law.id}' (fitted on {lo:.4g}-{hi:.4g} B, "
                f"used up to {SIZE_LAW_MARGIN:g}x beyond): its single-sample accuracy cannot be read off its size; "
                "give it with --anchor-accuracy (a fraction or a percentage, from an evaluation like the law's)"
            )
        a = law.size_law.single_sample_accuracy(n)
        ratio = max(n / hi, lo / n, 1.0)
        sd = a * (1 - a) * law.size_law.residual_sd * (1.0 + math.log2(ratio))
        where = "inside" if ratio == 1.0 else f"NEAR (outside, within the {SIZE_LAW_MARGIN:g}x margin of)"
        return a, (f"single-sample accuracy {a * 100:.1f} % from the law's size law at {n:.4g} B ({where} the fitted "
                   f"{lo:.4g}-{hi:.4g} B; size-law scatter {sd * 100:.1f} points added)"), sd
    raise InputError(f"model '{model_id}' has no data in law '{law.id}': give its single-sample accuracy with --anchor-accuracy "
                     "(or name a catalog model within the law's size range)")


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


