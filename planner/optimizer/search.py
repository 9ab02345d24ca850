"""The search: feasibility masks, the recommendation, the Pareto frontier, notable alternatives, binding constraints.

Ties are broken in a documented order (docs/recommend.md): the objective (rounded to 9 significant digits),
then higher accuracy, fewer devices, fewer samples, then model id, hardware id, precision, method and tensor-
parallel degree in catalog order, so the same inputs always give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.accuracy.laws import ScalingLaw
from planner.errors import InputError
from planner.files.catalog import Catalog
from planner.files.quantization import parse_penalty
from planner.optimizer import grid
from planner.optimizer.grid import CandidateTable, ModelOption
from planner.optimizer.request import SearchRequest
from planner.version import __version__

# A catalog model the law has no data for is a candidate by default when the law carries a published anchor for
# it (its single-sample accuracy), or when it lies inside the law's fitted size range (the size law is not
# trusted outside it; name a model with --models to search it anyway).
SIZE_MARGIN = 1.0
DEFAULT_REWARD_MODEL = "llemma-34b"
FRONTIER_RESOLUTION = 0.001  # accuracy (a fraction) a frontier point must add over the previous one: 0.1 point  # Wu et al. 2024 (arXiv 2408.00724) §4.1: Llemma-34B fine-tuned as the PRM

CONSTRAINT_LABELS = {
    "kv": "KV cache of the k samples fits memory",
    "latency": "--max-latency-s",
    "ttft": "--max-ttft-s",
    "devices": "--max-devices",
    "usd_per_1k_queries": "--budget-usd-per-1k-queries",
    "flops_per_query": "--budget-flops-per-query",
    "gpu_seconds_per_query": "--budget-gpu-seconds-per-query",
    "priced": "a price in the hardware profile",
    "target": "--target-accuracy",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One evaluated configuration, as the reports show it. Accuracy as a fraction; SI units."""

    model: str
    law_model: str
    params: float
    extrapolated: bool
    precision: str
    method: str
    samples: int
    hardware: str
    tp: int
    devices: int
    reward_devices: int
    accuracy: float
    accuracy_lower: float
    accuracy_upper: float
    cost_usd_per_query: float | None
    latency_s: float
    ttft_s: float
    energy_j_per_query: float
    flops_per_query: float
    device_seconds_per_query: float

    @property
    def cost_usd_per_1k_queries(self) -> float | None:
        return None if self.cost_usd_per_query is None else self.cost_usd_per_query * 1000.0

    def objective(self, name: str) -> float | None:
        return {"cost": self.cost_usd_per_query, "latency": self.latency_s, "energy": self.energy_j_per_query,
                "flops": self.flops_per_query}[name]

    @property
    def label(self) -> str:
        k = "" if self.method == "greedy" else f" k={self.samples}"
        return f"{self.model} {self.precision} {self.method}{k} on {self.hardware} ×{self.devices}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """A notable configuration that lost, and why (one line)."""

    title: str
    candidate: Candidate | None
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """What `planner recommend` answers; `frontier` fills ``frontier`` and leaves ``best`` None."""

    request: SearchRequest
    task: str
    law_id: str
    mode: str  # target | budget | frontier
    objective: str
    counting: str  # shared | dedicated
    best: Candidate | None
    frontier: tuple[Candidate, ...]
    alternatives: tuple[Alternative, ...]
    binding: tuple[str, ...]
    best_reachable: Candidate | None  # infeasible target: the most accurate candidate within the constraints
    n_candidates: int
    n_feasible: int
    counting_note: str | None
    prompt_tokens: float
    output_tokens: float
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return self.best is not None


# ---------------------------------------------------------------------------------------------
# Inputs from the catalog


def prepare(catalog: Catalog, law: ScalingLaw, law_source: str, request: SearchRequest) -> grid.Inputs:
    """Load what the search needs: model options (law models and extrapolated catalog models), hardware,
    the reward model and the quantization penalty. Unknown names raise with suggestions."""
    if law.workload is None and (request.prompt_tokens is None or request.output_tokens is None):
        raise InputError(f"law '{law.id}' states no workload: give --prompt-tokens and --output-tokens")
    notes: list[str] = []
    options: list[ModelOption] = []
    covered: set[str] = set()
    with_data = {p.model for p in law.points}
    for mid, m in law.models.items():
        if m.profile is None or m.profile not in catalog.names("model"):
            notes.append(f"law model {mid} has no catalog profile to cost it: left out")
            continue
        covered.add(m.profile)
        # A law model without data points is known only by its anchor (single-sample accuracy): extrapolated.
        options.append(ModelOption(id=m.profile, law_model=mid, profile=catalog.model(m.profile), extrapolated=mid not in with_data))
    wanted = None
    if request.models:
        wanted = []
        for name in request.models:
            hit = law.find_model(name)
            if hit is not None and law.models[hit].profile:
                wanted.append(law.models[hit].profile)
            else:
                wanted.append(catalog.file("model", name).id)
    lo, hi = law.params_range_b or (0.0, math.inf)
    for mid in catalog.names("model"):
        if mid in covered:
            continue
        profile = catalog.model(mid)
        size_b = profile.total_params / 1e9
        named = wanted is not None and mid in wanted
        anchored = mid in getattr(law, "anchors", {})  # a published single-sample accuracy: no size law needed
        if named or anchored or lo / SIZE_MARGIN <= size_b <= hi * SIZE_MARGIN:
            options.append(ModelOption(id=mid, law_model=mid, profile=profile, extrapolated=True))
    if wanted is not None:
        options = [o for o in options if o.id in wanted]
    if not options:
        raise InputError(f"no model to search: law '{law.id}' covers {', '.join(sorted(law.models))}")
    # Several law models may run on one profile: keep them apart by their law id.
    hardware = tuple(catalog.hardware(h) for h in (request.hardware or catalog.names("hardware")))
    rm_name = request.reward_model or getattr(law, "verifier", None) or DEFAULT_REWARD_MODEL
    reward_model = catalog.model(rm_name)
    penalty = catalog.get("quantization", "default", parse_penalty)
    engine = catalog.engine(request.engine)
    return grid.Inputs(law=law, law_source=law_source, models=tuple(options), hardware=hardware, reward_model=reward_model,
                       engine=engine, penalty=penalty, request=request, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Masks and picking


def objective_values(table: CandidateTable, name: str, dedicated: bool) -> np.ndarray:
    return {"cost": lambda: table.cost_usd(dedicated), "latency": lambda: table.latency_s,
            "energy": lambda: table.energy_j(dedicated), "flops": lambda: table.flops}[name]()


def constraint_masks(table: CandidateTable, request: SearchRequest, dedicated: bool) -> dict[str, np.ndarray]:
    """One boolean mask per active constraint (True = satisfied). The target is not among them."""
    masks = {"kv": table.kv_fits}
    if request.max_latency_s is not None:
        masks["latency"] = table.latency_s <= request.max_latency_s
    if request.max_ttft_s is not None:
        masks["ttft"] = table.ttft_s <= request.max_ttft_s
    if request.max_devices is not None:
        masks["devices"] = table.devices <= request.max_devices
    budgets = request.budgets
    if "usd_per_1k_queries" in budgets:
        masks["usd_per_1k_queries"] = table.cost_usd(dedicated) * 1000.0 <= budgets["usd_per_1k_queries"]
    if "flops_per_query" in budgets:
        masks["flops_per_query"] = table.flops <= budgets["flops_per_query"]
    if "gpu_seconds_per_query" in budgets:
        masks["gpu_seconds_per_query"] = table.device_seconds(dedicated) <= budgets["gpu_seconds_per_query"]
    if request.minimize == "cost" or "usd_per_1k_queries" in budgets:
        masks["priced"] = np.isfinite(table.price_usd_per_hour)
    return masks


def _all(masks: dict[str, np.ndarray], n: int, skip: str | None = None) -> np.ndarray:
    out = np.ones(n, dtype=bool)
    for name, mask in masks.items():
        if name != skip:
            out &= mask
    return out


def _round_sig(values: np.ndarray, digits: int = 9) -> np.ndarray:
    """Round to ``digits`` significant digits so ties between near-equal floats break by the documented order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(values > 0, 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(np.where(values > 0, values, 1.0))))), 1.0)
        return np.where(np.isfinite(values), np.round(values * scale) / scale, np.inf)


def _order_keys(table: CandidateTable) -> list[np.ndarray]:
    """Catalog-order keys after the primary ones: fewer devices, fewer samples, then ids."""
    model_rank = np.argsort(np.argsort([o.id + "|" + o.law_model for o in table.models]))
    hw_rank = np.argsort(np.argsort([h.id for h in table.hardware]))
    return [table.devices, table.samples, model_rank[table.model], hw_rank[table.hw], table.precision, table.method, table.tp]


def pick(table: CandidateTable, feasible: np.ndarray, objective: np.ndarray, *, maximize_accuracy: bool) -> int | None:
    """Index of the best feasible candidate: the lowest objective (target mode), or the lowest objective among
    those within ``FRONTIER_RESOLUTION`` of the highest accuracy (budget mode)."""
    idx = np.flatnonzero(feasible & np.isfinite(objective))
    if idx.size == 0:
        return None
    if maximize_accuracy:
        # Accuracies within the reports' resolution of the best are a tie, broken by the lower objective:
        # a cheaper configuration that prints the same accuracy wins.
        top = table.accuracy[idx].max()
        idx = idx[table.accuracy[idx] >= top - FRONTIER_RESOLUTION]
    obj = _round_sig(objective[idx])
    acc = _round_sig(table.accuracy[idx])
    rest = [k[idx] for k in _order_keys(table)]
    primary = [obj, -acc]
    order = np.lexsort(list(reversed(primary + rest)))
    return int(idx[order[0]])


def pareto(table: CandidateTable, feasible: np.ndarray, objective: np.ndarray) -> np.ndarray:
    """Indices on the accuracy-vs-objective frontier (objective ascending, accuracy rising by at least
    ``FRONTIER_RESOLUTION`` from point to point)."""
    idx = np.flatnonzero(feasible & np.isfinite(objective))
    if idx.size == 0:
        return idx
    obj = _round_sig(objective[idx])
    acc = _round_sig(table.accuracy[idx])
    rest = [k[idx] for k in _order_keys(table)]
    order = idx[np.lexsort(list(reversed([obj, -acc] + rest)))]
    # Keep a point only when it beats the last kept one by the reports' resolution (0.1 point): rows that
    # print the same accuracy at a higher objective are not worth a line.
    kept, best = [], -np.inf
    for i, a in zip(order, table.accuracy[order]):
        if a >= best + FRONTIER_RESOLUTION - 1e-12:
            kept.append(i)
            best = a
    return np.array(kept, dtype=int)


def candidate(table: CandidateTable, i: int, dedicated: bool) -> Candidate:
    option = table.models[int(table.model[i])]
    price = table.price_usd_per_hour[i]
    seconds = float(table.device_seconds(dedicated)[i])
    return Candidate(
        model=option.id, law_model=option.law_model, params=option.profile.total_params, extrapolated=bool(table.extrapolated[i]),
        precision=table.precisions[int(table.precision[i])], method=table.methods[int(table.method[i])],
        samples=int(table.samples[i]), hardware=table.hardware[int(table.hw[i])].id, tp=int(table.tp[i]),
        devices=int(table.devices[i]), reward_devices=int(table.reward_devices[i]), accuracy=float(table.accuracy[i]),
        accuracy_lower=float(table.lower[i]), accuracy_upper=float(table.upper[i]),
        cost_usd_per_query=None if not math.isfinite(price) else seconds * float(price) / 3600.0,
        latency_s=float(table.latency_s[i]), ttft_s=float(table.ttft_s[i]), energy_j_per_query=seconds * float(table.power_w[i]),
        flops_per_query=float(table.flops[i]), device_seconds_per_query=seconds,
    )


# ---------------------------------------------------------------------------------------------
# Explaining


def _compare(alt: Candidate, best: Candidate, objective: str) -> str:
    a, b = alt.objective(objective), best.objective(objective)
    points = (alt.accuracy - best.accuracy) * 100.0
    what = {"cost": "the cost", "latency": "the latency", "energy": "the energy", "flops": "the FLOPs"}[objective]
    ratio = f"{a / b:.2f}× {what}" if a is not None and b else f"{what} n/a"
    return f"{ratio} for {points:+.1f} points"


def _alternatives(table: CandidateTable, feasible_no_target: np.ndarray, objective: np.ndarray, best: Candidate | None,
                  request: SearchRequest, dedicated: bool, maximize: bool) -> list[Alternative]:
    out: list[Alternative] = []
    if best is None:
        return out
    reach = feasible_no_target if maximize else feasible_no_target & (table.accuracy >= (request.target_accuracy or 0.0))

    def add(title: str, mask: np.ndarray, *, within: np.ndarray) -> None:
        i = pick(table, mask & within, objective, maximize_accuracy=maximize)
        if i is None:
            j = pick(table, mask & feasible_no_target, objective, maximize_accuracy=True)
            if j is None:
                return
            c = candidate(table, j, dedicated)
            short = ((request.target_accuracy or 0) - c.accuracy) * 100.0
            out.append(Alternative(title=title, candidate=c, why=f"best reaches {c.accuracy * 100:.1f} %, {short:.1f} points short of the target"))
            return
        c = candidate(table, i, dedicated)
        if c == best:
            return
        out.append(Alternative(title=title, candidate=c, why=_compare(c, best, request.minimize)))

    k1 = table.samples == 1
    sizes = np.array([o.profile.total_params for o in table.models])[table.model]
    no_search = k1 & feasible_no_target
    if no_search.any():
        largest = sizes == sizes[no_search].max()
        add("largest model without search", k1 & largest, within=reach)
        add("best single sample (k = 1)", k1, within=reach)
    for pi, prec in enumerate(table.precisions):
        add(f"best at {prec}", table.precision == pi, within=reach)
    return out


def _binding(table: CandidateTable, masks: dict[str, np.ndarray], target_ok: np.ndarray, objective: np.ndarray,
             best_i: int | None, maximize: bool) -> list[str]:
    """Constraints whose removal would change the answer (better objective, or higher accuracy in budget mode)."""
    out = []
    n = len(table)
    for name in masks:
        relaxed = _all(masks, n, skip=name) & target_ok
        j = pick(table, relaxed, objective, maximize_accuracy=maximize)
        if j is None:
            continue
        if best_i is None:
            out.append(f"{CONSTRAINT_LABELS[name]}: without it the target is reachable")
            continue
        if maximize and table.accuracy[j] > table.accuracy[best_i] + 1e-9:
            out.append(f"{CONSTRAINT_LABELS[name]}: without it accuracy could reach {table.accuracy[j] * 100:.1f} %")
        elif not maximize and objective[j] < objective[best_i] * (1 - 1e-6):
            out.append(f"{CONSTRAINT_LABELS[name]}: without it the objective falls to {objective[j] / objective[best_i]:.2f}× the recommendation's")
    return out


def _assumptions(request: SearchRequest, table: CandidateTable, law: ScalingLaw, reward_model: str, dedicated: bool) -> list[str]:
    lines = [
        f"Workload per query: {table.prompt_tokens:g} prompt tokens and {table.output_tokens:g} generated tokens per sample"
        + ("" if request.prompt_tokens or request.output_tokens or law.workload is None else f" (law {law.id}: {law.workload.source})"),
        "Latency is the query's own critical path: one prefill of the shared prompt at batch 1, then the k samples decode "
        "as one batch of k (tree methods: one step per round), then reward-model scoring; human-pick adds reading time "
        f"({grid.WORDS_PER_TOKEN:g} words per token at {grid.READING_WORDS_PER_MINUTE:g} words a minute), pass-at-k one oracle "
        f"check of {request.oracle_seconds:g} s.",
        ("Dedicated counting: the query owns its generator and reward-model devices for its whole latency."
         if dedicated else
         f"Shared counting: the query runs on a busy deployment at its serving batch (the largest whose KV cache fits, at most "
         f"{request.serving_batch or grid.SERVING_BATCH_CAP}) and pays device-seconds per prefilled and generated token at that batch."),
        f"Reward model (best-of-n, weighted majority, REBASE, MCTS): {reward_model} at {grid.RM_PRECISION} on its own devices of the same type, "
        "scoring the prompt once and every generated token once.",
        f"Tree methods: {request.tree_steps} rounds per solution (--tree-steps); MCTS adds one rollout per expanded node.",
        "Cost = device-seconds × the profile's $/h; energy = device-seconds × rated power; FLOPs = 2·N per token plus attention (docs/strategies.md).",
        "Accuracy: the law's prediction (a fraction) with its 95 % interval; 'extrapolated' models have no data in the law "
        "(size law or anchor, wider band). Quantized precisions apply the quantization penalty per sample (docs/quantization.md).",
        f"Engine {request.engine}: its fixed per-step and per-layer overheads, collective latency and scheduler limits "
        "(profiles/engines/); roofline assumptions as in `planner estimate` (docs/method.md); candidates that do not fit memory "
        "are never shown.",
    ]
    return lines


def _provenance(catalog: Catalog, inputs: grid.Inputs) -> list[str]:
    lines = [f"planner {__version__}", f"law {inputs.law.id}: {inputs.law_source}"]
    lines += [f"law source {k}: {v}" for k, v in sorted(inputs.law.sources.items())]
    rm = inputs.reward_model.id
    lines.append(f"reward model {rm}: {catalog.describe_source('model', rm)}")
    lines.append(f"engine {inputs.engine.id}: {catalog.describe_source('engine', inputs.engine.id)}")
    calibrated = sorted(h.id for h in inputs.hardware if h.efficiency.calibrated)
    uncalibrated = sorted(h.id for h in inputs.hardware if not h.efficiency.calibrated)
    user = sorted({f"{kind} {name}: {catalog.describe_source(kind, name)}" for kind, names in
                   (("model", [o.id for o in inputs.models]), ("hardware", [h.id for h in inputs.hardware])) for name in names
                   if catalog.describe_source(kind, name) != "built-in"})
    lines += user
    lines.append(f"efficiency calibrated on measurements: {', '.join(calibrated) or 'none'}")
    if uncalibrated:
        lines.append(f"efficiency not calibrated (class defaults): {', '.join(uncalibrated)}")
    return lines


def _warnings(table: CandidateTable, inputs: grid.Inputs, request: SearchRequest) -> list[str]:
    out = list(table.notes)
    unpriced = sorted({table.hardware[i].id for i in np.unique(table.hw) if not math.isfinite(table.price_usd_per_hour[table.hw == i][0])})
    if unpriced and (request.minimize == "cost" or "usd_per_1k_queries" in request.budgets):
        out.append(f"no price in the profile, left out of cost: {', '.join(unpriced)} (kept for latency, energy and FLOPs)")
    return out


def _search(catalog: Catalog, law: ScalingLaw, law_source: str, request: SearchRequest, *, mode: str) -> Recommendation:
    inputs = prepare(catalog, law, law_source, request)
    table = grid.build(inputs)
    dedicated = request.dedicated
    objective = objective_values(table, request.minimize, dedicated)
    n = len(table)
    masks = constraint_masks(table, request, dedicated)
    within = _all(masks, n)
    maximize = mode == "budget"
    target_ok = table.accuracy >= request.target_accuracy if request.target_accuracy is not None else np.ones(n, dtype=bool)
    feasible = within & target_ok
    best_i = None if mode == "frontier" else pick(table, feasible, objective, maximize_accuracy=maximize)
    best = None if best_i is None else candidate(table, best_i, dedicated)
    warnings = _warnings(table, inputs, request)
    if best is not None and best.extrapolated:
        warnings.append(f"the recommended {best.model} has no data in law {law.id}: its accuracy is extrapolated (size law or "
                        f"anchor, interval {best.accuracy_lower * 100:.1f}-{best.accuracy_upper * 100:.1f} %); "
                        f"--models {','.join(sorted({o.id for o in inputs.models if not o.extrapolated}))} keeps to the law's own models")
    front = tuple(candidate(table, int(i), dedicated) for i in pareto(table, within, objective))
    reachable_i = pick(table, within, objective, maximize_accuracy=True)
    reachable = None if reachable_i is None else candidate(table, reachable_i, dedicated)
    binding: list[str] = []
    if mode != "frontier":
        binding = _binding(table, masks, target_ok, objective, best_i, maximize)
        if mode == "target" and best is not None:
            binding.insert(0, f"{CONSTRAINT_LABELS['target']} ({request.target_accuracy * 100:.1f} %)")
    note = None
    if mode != "frontier" and best is not None:
        other = not dedicated
        other_obj = objective_values(table, request.minimize, other)
        other_within = _all(constraint_masks(table, request, other), n) & target_ok
        j = pick(table, other_within, other_obj, maximize_accuracy=maximize)
        if j is not None and j != best_i:
            alt = candidate(table, j, other)
            note = (f"with {'dedicated' if other else 'shared'} counting ({'--dedicated' if other else 'the default'}) "
                    f"the answer would be {alt.label} instead")
    alternatives = _alternatives(table, within, objective, best, request, dedicated, maximize) if mode != "frontier" else []
    return Recommendation(
        request=request, task=law.task, law_id=law.id, mode=mode, objective=request.minimize,
        counting="dedicated" if dedicated else "shared", best=best, frontier=front, alternatives=tuple(alternatives),
        binding=tuple(binding), best_reachable=reachable, n_candidates=n, n_feasible=int(feasible.sum()),
        counting_note=note, prompt_tokens=table.prompt_tokens, output_tokens=table.output_tokens,
        warnings=tuple(warnings),
        assumptions=tuple(_assumptions(request, table, law, inputs.reward_model.id, dedicated)),
        provenance=tuple(_provenance(catalog, inputs)),
    )


def recommend(catalog: Catalog, law: ScalingLaw, law_source: str, request: SearchRequest) -> Recommendation:
    """The cheapest configuration (by ``request.minimize``) that reaches the target accuracy, or the most accurate
    within the budget; ``best`` is None when nothing qualifies (then ``best_reachable`` and ``binding`` say why)."""
    request.require_question()
    return _search(catalog, law, law_source, request, mode=request.mode)


def frontier(catalog: Catalog, law: ScalingLaw, law_source: str, request: SearchRequest) -> Recommendation:
    """The accuracy-vs-objective Pareto frontier within the constraints (no target needed)."""
    return _search(catalog, law, law_source, request, mode="frontier")

