"""Every candidate of the search, evaluated as numpy arrays.

A candidate is (model, precision, method, k, hardware, tensor-parallel degree). The roofline runs once per
(model, hardware, precision, tp), with the decode step evaluated for every parallel width at once; the
scaling law runs once per (model, method, precision) for every k at once; the search-method token counts
(``cost.methods.search_cost``) once per (model, method) for every k. Candidates are then combined with array
arithmetic: no Python loop per candidate.

Accounting (docs/recommend.md):

* latency (the query's own critical path) = prefill of the shared prompt at batch 1 + the remaining decode
  steps at batch = the method's parallel width (k samples decode together) + reward-model scoring (one pass
  over the k samples; for tree methods one pass per round over the width) + reading time (human-pick) or an
  oracle check (pass-at-k).
* shared counting (default): the query runs on a busy deployment at its serving batch and pays
  device-seconds per prefilled and generated token at that batch (plus the reward model's tokens).
* dedicated counting: the query owns its devices (generator and reward model) for its whole latency.
* cost = device-seconds × $/h / 3600; energy = device-seconds × rated power; FLOPs = 2·N per token
  (``SearchCost.total_flops``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.accuracy.laws import ScalingLaw, predict_table
from planner.cost import roofline
from planner.cost.methods import SearchCost, search_cost
from planner.domain import SEARCH_METHODS, HardwareProfile, ModelProfile, method
from planner.domain import precision as lookup_precision
from planner.errors import PlannerError, UnknownNameError
from planner.optimizer.request import (
    DEFAULT_PRECISIONS,
    OPT_IN_METHODS,
    READING_WORDS_PER_MINUTE,
    SERVING_BATCH_CAP,
    TP_CHOICES,
    WORDS_PER_TOKEN,
    SearchRequest,
)

RM_PRECISION = "bf16"  # reward models are scored in 16 bit (Wu et al. 2024 run their PRM unquantized)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOption:
    """A model the search may pick: the catalog profile that costs it and the id the law predicts it with."""

    id: str  # catalog model profile id
    law_model: str  # the law's model id (or the catalog id, predicted through the law's size law)
    profile: ModelProfile
    extrapolated: bool  # the law has no data for it: accuracy from its size law / anchors, wider band


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """Everything the grid is built from (profiles already loaded by the caller)."""

    law: ScalingLaw
    law_source: str
    models: tuple[ModelOption, ...]
    hardware: tuple[HardwareProfile, ...]
    reward_model: ModelProfile
    engine: Any  # domain engine profile: fixed overheads, collective latency, scheduler limits
    penalty: Any  # accuracy.quantization.QuantPenalty
    request: SearchRequest
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateTable:
    """Struct of arrays, one entry per candidate. Index columns point into the tuples."""

    models: tuple[ModelOption, ...]
    hardware: tuple[HardwareProfile, ...]
    precisions: tuple[str, ...]
    methods: tuple[str, ...]
    model: np.ndarray
    hw: np.ndarray
    precision: np.ndarray
    method: np.ndarray
    tp: np.ndarray
    samples: np.ndarray
    devices: np.ndarray  # generator tp + reward-model devices
    reward_devices: np.ndarray
    accuracy: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    extrapolated: np.ndarray
    latency_s: np.ndarray
    ttft_s: np.ndarray
    flops: np.ndarray  # generator + reward model
    generator_flops: np.ndarray  # generator only (what Wu et al. 2024 tabulate)
    device_seconds_shared: np.ndarray
    device_seconds_dedicated: np.ndarray
    price_usd_per_hour: np.ndarray  # NaN where the device has no price
    power_w: np.ndarray
    kv_fits: np.ndarray  # the k samples' KV cache fits next to the weights
    prompt_tokens: float
    output_tokens: float
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.samples.size)

    def device_seconds(self, dedicated: bool) -> np.ndarray:
        return self.device_seconds_dedicated if dedicated else self.device_seconds_shared

    def cost_usd(self, dedicated: bool) -> np.ndarray:
        return self.device_seconds(dedicated) * self.price_usd_per_hour / 3600.0

    def energy_j(self, dedicated: bool) -> np.ndarray:
        return self.device_seconds(dedicated) * self.power_w


def methods_for(law: ScalingLaw, request: SearchRequest) -> tuple[str, ...]:
    """The law's methods the search considers, in the domain table's order."""
    if request.methods:
        for name in request.methods:
            method(name)  # unknown ids raise with a suggestion
            if name not in law.methods:
                raise UnknownNameError(f"method in law '{law.id}'", name, law.methods)
        wanted = set(request.methods)
    else:
        wanted = {m for m in law.methods if m not in OPT_IN_METHODS}
    return tuple(m for m in SEARCH_METHODS if m in wanted)


def precisions_for(request: SearchRequest) -> tuple[str, ...]:
    names = request.precisions or DEFAULT_PRECISIONS
    return tuple(lookup_precision(n).name for n in names)


def k_grid(law: ScalingLaw, method_id: str, max_samples: int) -> np.ndarray:
    """Powers of two up to ``max_samples`` plus the k values of the law's own data for this method."""
    spec = method(method_id)
    if spec.forced_samples is not None:
        return np.array([float(spec.forced_samples)])
    ks = {2**i for i in range(int(math.log2(max_samples)) + 1)}
    ks |= {int(p.samples) for p in law.points if p.method == method_id and p.samples <= max_samples}
    return np.array(sorted(ks), dtype=float)


def _phase_time(cost: roofline.PhaseCost) -> np.ndarray:
    return np.asarray(cost.time_s, dtype=float)


@dataclass(frozen=True, slots=True)
class _Deployment:
    """Roofline figures of one (model, hardware, precision, tp)."""

    tp: int
    max_batch: int
    ttft_s: float
    widths: np.ndarray
    step_s: np.ndarray  # decode step at each width, mean context
    decode_token_device_s: float  # shared: device-seconds per generated token at the serving batch
    prefill_token_device_s: float  # shared: device-seconds per prefilled token at the serving batch


def _scenario(model: ModelProfile, hw: HardwareProfile, prec: str, tp: int, P: int, T: int, engine: Any) -> roofline.Scenario:
    weights = lookup_precision(prec)
    return roofline.Scenario(model=model, hardware=hw, tp=tp, weight_precision=weights, engine=engine,
                             kv_precision=roofline.default_kv_precision(weights), batch=1, prompt_tokens=P, output_tokens=T)


def _deployments(model: ModelProfile, hw: HardwareProfile, prec: str, widths: np.ndarray, request: SearchRequest,
                 P: int, T: int, engine: Any) -> list[_Deployment]:
    """Every tensor-parallel degree that is valid and fits memory at batch 1, costed once."""
    out = []
    for tp in TP_CHOICES:
        if request.max_devices is not None and tp > request.max_devices:
            break
        s = _scenario(model, hw, prec, tp, P, T, engine)
        try:
            roofline.validate(s)
        except PlannerError:
            continue
        if not roofline.memory_use(s, 1).fits:
            continue
        limit = roofline.max_batch(s)
        if limit < 1:
            continue
        serving = max(1, min(limit, request.serving_batch or SERVING_BATCH_CAP, s.max_batch_limit))
        # One prefill call for the query's own prompt (batch 1: its TTFT) and the serving batch's prompts.
        ttft, prefill = (float(x) for x in _phase_time(roofline.prefill(s, np.array([1.0, serving]))))
        # One pass for every width the methods decode at, and for the serving batch (last element).
        steps = _phase_time(roofline.forward_pass(s, batch=np.append(widths, serving), new_tokens=1, context_tokens=P + T / 2.0))
        out.append(_Deployment(tp=tp, max_batch=limit, ttft_s=ttft, widths=widths, step_s=steps[:-1],
                               decode_token_device_s=tp * float(steps[-1]) / serving,
                               prefill_token_device_s=tp * prefill / (serving * P)))
        if tp >= hw.devices_per_node:
            break
    return out


@dataclass(frozen=True, slots=True)
class _Verifier:
    """The reward model on one device type: its smallest valid tensor-parallel degree and per-token cost."""

    tp: int
    scenario: roofline.Scenario
    prefill_token_device_s: float


def _verifier(rm: ModelProfile, hw: HardwareProfile, request: SearchRequest, P: int, T: int, engine: Any) -> _Verifier | None:
    for d in _deployments(rm, hw, RM_PRECISION, np.array([1.0]), request, P, T, engine):
        return _Verifier(tp=d.tp, scenario=_scenario(rm, hw, RM_PRECISION, d.tp, P, T, engine), prefill_token_device_s=d.prefill_token_device_s)
    return None


def _accuracy(inputs: Inputs, option: ModelOption, method_id: str, prec: str, ks: np.ndarray):
    """(accuracy, lower, upper, extrapolated) arrays over k, or None when the law cannot predict this model/method."""
    reference = prec in ("bf16", "fp16", "fp32")
    rows = predict_table(
        inputs.law, method_id, [int(k) for k in ks], model=option.law_model,
        precision=None if reference else prec, penalty=None if reference else inputs.penalty,
        params_b=option.profile.total_params / 1e9 if option.extrapolated else None,
    )
    acc = np.array([r.accuracy for r in rows])
    lo = np.array([r.lower for r in rows])
    hi = np.array([r.upper for r in rows])
    return acc, lo, hi, option.extrapolated or any(r.extrapolated for r in rows)


def _search_costs(option: ModelOption, method_id: str, ks: np.ndarray, rm: ModelProfile, request: SearchRequest,
                  P: float, T: float) -> SearchCost:
    spec = method(method_id)
    common = dict(prompt_tokens=P, output_tokens=T)
    if spec.id == "ensemble":  # k runs of the same model (each prefills the prompt: no shared cache across models)
        parts = [search_cost("ensemble", generator=[option.profile] * int(k), **common) for k in ks]
        fields = SearchCost.__dataclass_fields__
        return SearchCost(**{f: (spec.id if f == "method" else np.array([getattr(p, f) for p in parts], dtype=float))
                             for f in fields})
    extra: dict[str, Any] = {}
    if spec.verifier == "reward-model":
        extra["verifier"] = rm
    if spec.tree:
        extra["n_steps"] = request.tree_steps
    return search_cost(spec.id, generator=option.profile, samples=ks, **common, **extra)


@dataclass(frozen=True, slots=True)
class _Block:
    """One model's candidates that do not depend on the deployment, every method and k side by side."""

    method: np.ndarray
    samples: np.ndarray
    width: np.ndarray
    decode_steps: np.ndarray
    rounds: np.ndarray
    prompt_tokens: np.ndarray
    generated_tokens: np.ndarray
    verifier_tokens: np.ndarray
    flops: np.ndarray
    generator_flops: np.ndarray
    uses_rm: np.ndarray
    tree: np.ndarray
    reading_s: np.ndarray  # human-pick: time to read the k answers
    oracle_s: np.ndarray  # pass-at-k: one executable check (the k run in parallel)
    accuracy: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # precision -> (acc, lower, upper, extrapolated)


def _block(inputs: Inputs, option: ModelOption, methods: tuple[str, ...], precisions: tuple[str, ...], P: float, T: float,
           left_out: list[tuple[str, str, str]]) -> _Block | None:
    request = inputs.request
    parts: dict[str, list] = {k: [] for k in ("method", "samples", "width", "decode_steps", "rounds", "prompt_tokens",
                                             "generated_tokens", "verifier_tokens", "flops", "generator_flops", "uses_rm", "tree", "reading_s", "oracle_s")}
    accuracy: dict[int, list[tuple]] = {pi: [] for pi in range(len(precisions))}
    reading_s_per_token = WORDS_PER_TOKEN / READING_WORDS_PER_MINUTE * 60.0
    for mi, mid in enumerate(methods):
        spec = method(mid)
        ks = k_grid(inputs.law, mid, request.max_samples)
        try:
            c = _search_costs(option, mid, ks, inputs.reward_model, request, P, T)
            acc = {pi: _accuracy(inputs, option, mid, prec, ks) for pi, prec in enumerate(precisions)}
        except PlannerError as exc:
            left_out.append((mid, str(exc), option.id))
            continue
        n = ks.size

        def arr(value) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()

        parts["method"].append(np.full(n, mi))
        parts["samples"].append(ks)
        parts["width"].append(arr(c.parallel_width))
        parts["decode_steps"].append(arr(c.decode_steps))
        parts["rounds"].append(arr(c.rounds))
        parts["prompt_tokens"].append(arr(c.prompt_tokens))
        parts["generated_tokens"].append(arr(c.generated_tokens))
        parts["verifier_tokens"].append(arr(c.verifier_tokens))
        parts["flops"].append(arr(c.total_flops))
        parts["generator_flops"].append(arr(c.generator_flops))
        parts["uses_rm"].append(np.full(n, spec.verifier == "reward-model"))
        parts["tree"].append(np.full(n, spec.tree))
        parts["reading_s"].append(ks * T * reading_s_per_token if spec.verifier == "human" else np.zeros(n))
        parts["oracle_s"].append(np.full(n, request.oracle_seconds if spec.verifier == "oracle" else 0.0))
        for pi in accuracy:
            a, lo, up, extrap = acc[pi]
            accuracy[pi].append((a, lo, up, np.full(n, extrap)))
    if not parts["method"]:
        return None
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    acc_cat = {pi: tuple(np.concatenate([row[j] for row in rows]) for j in range(4)) for pi, rows in accuracy.items()}
    return _Block(**cat, accuracy=acc_cat)


def build(inputs: Inputs) -> CandidateTable:
    """Evaluate every candidate of ``inputs`` (see the module docstring for the accounting)."""
    request, law = inputs.request, inputs.law
    P = float(request.prompt_tokens if request.prompt_tokens is not None else law.workload.prompt_tokens)
    T = float(request.output_tokens if request.output_tokens is not None else law.workload.output_tokens)
    P_int, T_int = max(1, int(round(P))), max(1, int(round(T)))
    methods = methods_for(law, request)
    precisions = precisions_for(request)
    left_out: list[tuple[str, str, str]] = []  # (method, reason, model)
    blocks = [_block(inputs, option, methods, precisions, P, T, left_out) for option in inputs.models]
    notes = list(inputs.notes)
    for (mid, reason) in dict.fromkeys((m, r) for m, r, _ in left_out):
        models = [o for m, r, o in left_out if (m, r) == (mid, reason)]
        notes.append(f"{mid} left out for {len(models)} model{'s' if len(models) > 1 else ''} ({', '.join(models)}): {reason}")
    verifiers = {hi: _verifier(inputs.reward_model, hw, request, P_int, T_int, inputs.engine) for hi, hw in enumerate(inputs.hardware)}

    columns: dict[str, list[np.ndarray]] = {name: [] for name in (
        "model", "hw", "precision", "method", "tp", "samples", "devices", "reward_devices", "accuracy", "lower", "upper",
        "extrapolated", "latency_s", "ttft_s", "flops", "generator_flops", "shared", "dedicated", "price", "power", "kv_fits")}
    for oi, option in enumerate(inputs.models):
        b = blocks[oi]
        if b is None:
            continue
        n = b.samples.size
        widths = np.unique(b.width)
        slot = np.searchsorted(widths, b.width)
        for hi, hw in enumerate(inputs.hardware):
            ver = verifiers[hi]
            keep = np.ones(n, dtype=bool) if ver is not None else ~b.uses_rm
            if not keep.any():
                continue
            # Reward-model scoring on the critical path: one pass over the width per round (tree: a step each).
            if ver is not None and b.uses_rm.any():
                new = np.where(b.tree, T / b.rounds, T)
                context = np.where(b.tree, P + T / 2.0, P)
                score = _phase_time(roofline.forward_pass(ver.scenario, batch=b.width, new_tokens=new, context_tokens=context))
                rm_latency = np.where(b.uses_rm, b.rounds * score, 0.0)
                rm_shared = np.where(b.uses_rm, b.verifier_tokens * ver.prefill_token_device_s, 0.0)
                rm_devices = np.where(b.uses_rm, ver.tp, 0)
            else:
                rm_latency = rm_shared = np.zeros(n)
                rm_devices = np.zeros(n, dtype=int)
            price = np.nan if hw.price_usd_per_hour is None else hw.price_usd_per_hour
            for pi, _ in enumerate(precisions):
                a, lo, up, extrap = b.accuracy[pi]
                for dep in _deployments(option.profile, hw, precisions[pi], widths, request, P_int, T_int, inputs.engine):
                    step = dep.step_s[slot]
                    latency = dep.ttft_s + np.maximum(b.decode_steps - 1.0, 0.0) * step + rm_latency + b.reading_s + b.oracle_s
                    shared = b.prompt_tokens * dep.prefill_token_device_s + b.generated_tokens * dep.decode_token_device_s + rm_shared
                    devices = dep.tp + rm_devices
                    values = {
                        "model": np.full(n, oi), "hw": np.full(n, hi), "precision": np.full(n, pi), "method": b.method,
                        "tp": np.full(n, dep.tp), "samples": b.samples, "devices": devices, "reward_devices": rm_devices,
                        "accuracy": a, "lower": lo, "upper": up, "extrapolated": extrap, "latency_s": latency,
                        "ttft_s": np.full(n, dep.ttft_s), "flops": b.flops, "generator_flops": b.generator_flops, "shared": shared, "dedicated": devices * latency,
                        "price": np.full(n, price), "power": np.full(n, hw.power_w), "kv_fits": b.width <= dep.max_batch,
                    }
                    for name, value in values.items():
                        columns[name].append(value[keep] if not keep.all() else value)

    def cat(name: str, dtype) -> np.ndarray:
        parts = columns[name]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return CandidateTable(
        models=inputs.models, hardware=inputs.hardware, precisions=precisions, methods=methods,
        model=cat("model", np.int32), hw=cat("hw", np.int32), precision=cat("precision", np.int32),
        method=cat("method", np.int32), tp=cat("tp", np.int32), samples=cat("samples", float),
        devices=cat("devices", np.int32), reward_devices=cat("reward_devices", np.int32),
        accuracy=cat("accuracy", float), lower=cat("lower", float), upper=cat("upper", float),
        extrapolated=cat("extrapolated", bool), latency_s=cat("latency_s", float), ttft_s=cat("ttft_s", float),
        flops=cat("flops", float), generator_flops=cat("generator_flops", float), device_seconds_shared=cat("shared", float), device_seconds_dedicated=cat("dedicated", float),
        price_usd_per_hour=cat("price", float), power_w=cat("power", float), kv_fits=cat("kv_fits", bool),
        prompt_tokens=P, output_tokens=T, notes=tuple(dict.fromkeys(notes)),
    )
