"""`planner check`: evaluate a capacity plan against its SLOs, accuracy target and budget.

For each plan: the deployment is costed per replica (roofline scenario), traffic at the peak rate
(mean × peak_factor, shared equally by the replicas) gives the latency percentiles, the saturation
rate and goodput; the scaling law of the task gives the accuracy with its interval; the hardware's
price and power give the monthly cost and energy per query. Each objective becomes a
:class:`Verdict` with predicted value, limit, headroom, PASS/FAIL and the YAML line of its field.

A plan that names an unknown profile, or a layout the model cannot run (tp not dividing the heads,
ep on a dense model), is invalid: its problems are returned with their lines, like a parse error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from planner.capacity.latency import Traffic, mean_tokens, monthly, traffic_at, verifier_seconds
from planner.cost import roofline
from planner.cost.methods import search_cost
from planner.cost.traffic import LatencySlo
from planner.domain import DEFAULT_TREE_STEPS, Plan
from planner.domain import method as lookup_method
from planner.domain import precision as lookup_precision
from planner.errors import PlannerError, ProfileError, UnknownNameError
from planner.files.checker import ProfileErrors
from planner.files.plans import HOURS_PER_MONTH, read_plan

MAX, MIN = "max", "min"
DEFAULT_ENGINE = "generic"  # the engine-agnostic profile (profiles/engines/generic.yaml), as `planner estimate`'s default


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """One check of a plan. ``direction`` 'max': predicted must be ≤ limit; 'min': ≥ limit.

    headroom: the margin as a fraction of the limit, (limit − predicted) / limit for 'max' and
    (predicted − limit) / limit for 'min'; negative when the check fails.
    interval: the predicted value's 95 % interval where the model gives one (accuracy).
    """

    check: str
    field: str
    line: int | None
    predicted: float
    limit: float
    unit: str
    direction: str
    interval: tuple[float, float] | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.predicted <= self.limit if self.direction == MAX else self.predicted >= self.limit

    @property
    def headroom(self) -> float:
        if self.limit == 0:
            return 0.0 if self.predicted == 0 else -math.inf
        margin = (self.limit - self.predicted) if self.direction == MAX else (self.predicted - self.limit)
        return margin / abs(self.limit)

    @property
    def straddles(self) -> bool:
        """The interval contains the limit: the verdict could go either way."""
        return self.interval is not None and self.interval[0] < self.limit < self.interval[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanCheck:
    """The verdicts of one plan file, or the problems that made it invalid."""

    path: str
    verdicts: tuple[Verdict, ...] = ()
    figures: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[ProfileError, ...] = ()
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def passed(self) -> bool:
        return self.valid and all(v.passed for v in self.verdicts)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """Every plan checked in one run."""

    plans: tuple[PlanCheck, ...]

    @property
    def any_invalid(self) -> bool:
        return any(not p.valid for p in self.plans)

    @property
    def all_passed(self) -> bool:
        return all(p.passed for p in self.plans)


# ---------------------------------------------------------------------------------------------
# Resolving names against the catalog (problems carry the field's line)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """A plan with its profiles looked up."""

    plan: Plan
    scenario: roofline.Scenario
    reward_model: Any | None
    law: Any | None
    law_source: str
    penalty: Any | None
    sources: tuple[str, ...] = ()  # where each profile came from ('model llama-3.1-8b: built-in')


class _Problems:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.items: list[ProfileError] = []

    def add(self, field_path: str, message: str) -> None:
        self.items.append(ProfileError(self.plan.path, field_path, message, line=self.plan.line_of(field_path)))


def _lookup(problems: _Problems, field_path: str, fetch):
    try:
        return fetch()
    except UnknownNameError as exc:
        problems.add(field_path, str(exc))
    except ProfileErrors as exc:
        problems.items.extend(exc.problems)
    except PlannerError as exc:
        problems.add(field_path, str(exc))
    return None


def load_law(plan: Plan, catalog):
    """The plan's scaling law and where it came from: ``workload.task`` from the catalog, or ``workload.law``, a
    file written by `planner fit` (relative to the plan file)."""
    from planner.files.disk import read_yaml
    from planner.files.laws import parse_law

    w = plan.workload
    if w.task:
        return catalog.get("law", w.task, parse_law), catalog.describe_source("law", w.task)
    law_path = Path(w.law) if Path(w.law).is_absolute() else Path(plan.path).parent / w.law
    return parse_law(read_yaml(law_path), law_path, check_id=False), str(law_path)


def resolve(plan: Plan, catalog) -> Resolved:
    """Look up the plan's profiles in ``catalog``; every unknown name or impossible layout is raised together.

    ``workload.law`` is a law file written by `planner fit`, relative to the plan file.
    """
    from planner.files.quantization import parse_penalty

    d, w = plan.deployment, plan.workload
    problems = _Problems(plan)
    hardware = _lookup(problems, "deployment.hardware", lambda: catalog.hardware(d.hardware))
    model = _lookup(problems, "deployment.model", lambda: catalog.model(d.model))
    reward = None
    if d.reward_model:
        reward = _lookup(problems, "deployment.reward_model", lambda: catalog.model(d.reward_model))
    law, law_source = None, ""
    if w.task or w.law:
        found = _lookup(problems, "workload.task" if w.task else "workload.law", lambda: load_law(plan, catalog))
        if found is not None:
            law, law_source = found
    engine = _lookup(problems, "deployment.engine", lambda: catalog.engine(d.engine or DEFAULT_ENGINE))
    sources = {}
    for kind, name, found in (("model", d.model, model), ("hardware", d.hardware, hardware), ("engine", d.engine or DEFAULT_ENGINE, engine)):
        if found is not None:
            sources[kind] = f"{kind} {found.id}: {catalog.describe_source(kind, found.id)}"
    weights = lookup_precision(d.precision)
    kv = lookup_precision(d.kv_precision) if d.kv_precision else roofline.default_kv_precision(weights)
    penalty = None
    if law is not None and weights.name not in ("bf16", "fp16", "fp32"):
        penalty = _lookup(problems, "deployment.precision", lambda: catalog.get("quantization", "default", parse_penalty))
    scenario = None
    if hardware is not None and model is not None and engine is not None:
        if d.max_batch is not None:
            engine = replace(engine, max_batch=d.max_batch)
        scenario = roofline.Scenario(
            model=model, hardware=hardware, tp=d.tp, pp=d.pp, ep=d.ep, attention_dp=d.attention_dp, replicas=1,
            weight_precision=weights, kv_precision=kv, batch=None, prompt_tokens=max(1, round(mean_tokens(w.prompt_tokens))),
            output_tokens=max(1, round(mean_tokens(w.output_tokens))), engine=engine,
        )
        try:
            roofline.validate(scenario)
        except PlannerError as exc:
            problems.add(_field_of_layout_error(str(exc), d), str(exc))
    if problems.items:
        raise ProfileErrors(problems.items) if len(problems.items) > 1 else problems.items[0]
    return Resolved(plan=plan, scenario=scenario, reward_model=reward, law=law, law_source=law_source, penalty=penalty,
                    sources=tuple(sources.values()))


def _field_of_layout_error(text: str, d) -> str:
    """The plan field a roofline layout error is about (its message starts with the option's name)."""
    for key, field_path in (("pp", "deployment.pp"), ("ep", "deployment.ep"), ("attention_dp", "deployment.attention_dp"),
                            ("batch", "deployment.attention_dp"), ("prompt_tokens", "workload.prompt_tokens"),
                            ("output_tokens", "workload.output_tokens"), ("tp", "deployment.tp")):
        if text.startswith(key):
            return field_path
    if "dense model" in text:
        return "deployment.ep" if d.ep > 1 else "deployment.attention_dp"
    return "deployment.tp"


# ---------------------------------------------------------------------------------------------
# Checking


def check_files(paths, catalog) -> CheckResult:
    """Read and check every plan file; a file's problems never stop the others."""
    out = []
    for path in paths:
        try:
            plan = read_plan(path)
            out.append(check_plan(resolve(plan, catalog)))
        except ProfileErrors as exc:
            out.append(PlanCheck(path=str(path), problems=tuple(exc.problems)))
        except ProfileError as exc:
            out.append(PlanCheck(path=str(path), problems=(exc,)))
        except PlannerError as exc:
            out.append(PlanCheck(path=str(path), problems=(ProfileError(path, None, str(exc)),)))
    return CheckResult(plans=tuple(out))


def load_multiplier(r: Resolved) -> float:
    """Generated sequences per request relative to one sample (k for sampling; tree search and its overhead included)."""
    d, s = r.plan.deployment, r.scenario
    cost = search_cost(d.method, generator=s.model, samples=d.samples, prompt_tokens=s.prompt_tokens,
                       output_tokens=s.output_tokens, verifier=r.reward_model,
                       n_steps=DEFAULT_TREE_STEPS if lookup_method(d.method).tree else None)
    return float(cost.generated_tokens) / s.output_tokens



def check_plan(r: Resolved, *, goodput: bool = True) -> PlanCheck:
    """Every verdict of one resolved plan, with the figures behind them.

    ``goodput``: also find the largest rate meeting every latency SLO (a search of its own; `plan` skips it per candidate).
    """
    plan, s = r.plan, r.scenario
    d, w, slo, budget = plan.deployment, plan.workload, plan.slo, plan.budget
    warnings: list[str] = list(roofline.scenario_warnings(s))
    assumptions: list[str] = ["profiles: " + "; ".join(r.sources)] if r.sources else []
    verdicts: list[Verdict] = []

    def verdict(check: str, field_path: str, predicted: float, limit: float, unit: str, direction: str, **kw) -> None:
        verdicts.append(Verdict(check=check, field=field_path, line=plan.line_of(field_path), predicted=float(predicted),
                                limit=float(limit), unit=unit, direction=direction, **kw))

    # Memory: weights (+ the reward model's, co-located) and one request's KV cache must fit every device.
    mem = roofline.memory_use(s, 1)
    needed = mem.total
    if r.reward_model is not None:
        needed += roofline.weight_bytes(r.reward_model, s.weight_precision) / (s.tp * s.pp)
        assumptions.append(f"the reward model {r.reward_model.id} runs on the same devices at {s.weight_precision.name}: "
                           "its weights take memory and its scoring passes take device time")
    verdict("memory per device", "deployment.hardware", needed, mem.capacity, "bytes", MAX,
            note="weights, one request's KV cache, activations and the runtime reserve")

    multiplier = load_multiplier(r)
    if multiplier != 1.0:
        assumptions.append(f"{d.method} with k = {d.samples} generates {multiplier:g} sequences per request: "
                           f"the load is {multiplier:g}× the request rate")
    peak = w.peak_requests_per_second
    per_replica_peak = peak / d.replicas
    verifier_s = verifier_seconds(s, r.reward_model, d.samples)
    latency_slo = None
    if goodput and any(getattr(slo, f) is not None for f in ("ttft_p50_s", "ttft_p99_s", "tpot_p99_s", "e2e_p99_s")):
        # goodput against the generator's share of the e2e limit (the reward model's pass follows it)
        latency_slo = LatencySlo(ttft_p50_s=slo.ttft_p50_s, ttft_p99_s=slo.ttft_p99_s, tpot_p99_s=slo.tpot_p99_s,
                                 e2e_p99_s=None if slo.e2e_p99_s is None else max(slo.e2e_p99_s - verifier_s, 1e-9))
    if roofline.max_batch(s) < 1:
        warnings.append(f"{s.model.id} leaves no room for one request on {s.tp * s.pp} × {s.hardware.id}: nothing can be served")
        traffic = _nothing_served(multiplier, verifier_s)
    else:
        try:
            traffic = traffic_at(s, per_replica_peak, load_multiplier=multiplier, workload=w, slo=latency_slo,
                                 reward_model=r.reward_model, samples=d.samples)
        except PlannerError as exc:  # e.g. a length spread no log-normal fits
            raise ProfileError(plan.path, "workload", f"the traffic model cannot use this workload: {exc}",
                               line=plan.line_of("workload")) from None
    warnings += traffic.warnings
    assumptions += traffic.assumptions

    for name, value in (("ttft_p50_s", traffic.ttft_p50_s), ("ttft_p99_s", traffic.ttft_p99_s),
                        ("tpot_p99_s", traffic.tpot_p99_s), ("e2e_p99_s", traffic.e2e_p99_s)):
        limit = getattr(slo, name)
        if limit is not None:
            verdict(f"slo.{name}", f"slo.{name}", value, limit, "s", MAX, note=f"at the peak rate {peak:g} requests/s")
    saturation = traffic.saturation_rps * d.replicas
    utilisation = peak / saturation if saturation > 0 else math.inf
    if slo.min_headroom is not None:
        verdict("slo.min_headroom", "slo.min_headroom", 1.0 - utilisation, slo.min_headroom, "fraction", MIN,
                note=f"1 − peak {peak:g} ÷ saturation {saturation:.4g} requests/s")
    if slo.accuracy is not None and r.law is not None:
        verdict_accuracy(r, verdict, warnings, assumptions)

    cost = monthly(s, replicas=d.replicas, workload=w, load_multiplier=traffic.load_multiplier,
                   saturation_rps_per_replica=max(traffic.saturation_rps, 1e-12))
    warnings += cost.warnings
    assumptions += cost.assumptions
    price = s.hardware.price_usd_per_hour
    if budget.usd_per_month is not None:
        if cost.usd_per_month is None:
            warnings.append(f"{s.hardware.id} has no price in its profile: budget.usd_per_month cannot be checked")
            verdict("budget.usd_per_month", "budget.usd_per_month", math.inf, budget.usd_per_month, "USD/month", MAX,
                    note="no price in the hardware profile")
        else:
            verdict("budget.usd_per_month", "budget.usd_per_month", cost.usd_per_month, budget.usd_per_month, "USD/month", MAX,
                    note=f"{d.devices} × {s.hardware.id} at {price:g} USD/h × {HOURS_PER_MONTH:g} h")
    if budget.joules_per_query is not None:
        verdict("budget.joules_per_query", "budget.joules_per_query", cost.energy_j_per_query, budget.joules_per_query, "J", MAX,
                note=f"{d.devices} × {cost.device_power_w:.4g} W ÷ {w.requests_per_second:g} requests/s "
                     "(device power at the mean rate's utilisation)")

    figures = {
        "devices": d.devices,
        "load_multiplier": multiplier,
        "reward_model_load": traffic.load_multiplier - multiplier,
        "peak_requests_per_second": peak,
        "concurrency_per_replica": traffic.concurrency,
        "saturation_rps": saturation,
        "goodput_rps": None if traffic.goodput_rps is None else traffic.goodput_rps * d.replicas,
        "utilisation_at_peak": utilisation,
        "ttft_p50_s": traffic.ttft_p50_s,
        "ttft_p99_s": traffic.ttft_p99_s,
        "tpot_p99_s": traffic.tpot_p99_s,
        "e2e_p50_s": traffic.e2e_p50_s,
        "e2e_p99_s": traffic.e2e_p99_s,
        "monthly_cost_usd": cost.usd_per_month,
        "usd_per_query": cost.usd_per_query,
        "energy_per_query_j": cost.energy_j_per_query,
        "energy_per_query_at_peak_j": cost.energy_j_per_query_at_peak,
        "latency_model": traffic.model,
    }
    return PlanCheck(path=plan.path, verdicts=tuple(verdicts), figures=figures,
                     warnings=tuple(dict.fromkeys(warnings)), assumptions=tuple(dict.fromkeys(assumptions)))


def _nothing_served(multiplier: float, verifier_s: float) -> Traffic:
    """What a deployment that cannot hold one request serves: nothing, at infinite latency."""
    inf = math.inf
    return Traffic(concurrency=0.0, ttft_p50_s=inf, ttft_p99_s=inf, tpot_p99_s=inf, e2e_p50_s=inf, e2e_p99_s=inf,
                   saturation_rps=0.0, goodput_rps=0.0, utilisation=inf, load_multiplier=multiplier, verifier_s=verifier_s,
                   model="none (does not fit)")


def verdict_accuracy(r: Resolved, verdict, warnings: list[str], assumptions: list[str]) -> None:
    """The accuracy objective from the task's scaling law, with its 95 % interval."""
    from planner.accuracy.laws import predict_table

    plan, law = r.plan, r.law
    d = plan.deployment
    params_b = None if law.find_model(d.model) is not None else r.scenario.model.total_params / 1e9
    weights = r.scenario.weight_precision.name
    precision = weights if r.penalty is not None else None
    try:
        row = predict_table(law, d.method, [d.samples], model=d.model, precision=precision, penalty=r.penalty,
                            params_b=params_b)[0]
    except PlannerError as exc:
        raise ProfileError(plan.path, "slo.accuracy", f"cannot predict accuracy: {exc}", line=plan.line_of("slo.accuracy")) from None
    limit = plan.slo.accuracy
    note = f"{law.id}: {d.method} k={d.samples}, 95 % interval {row.lower * 100:.1f}–{row.upper * 100:.1f} %"
    interval = (row.lower, row.upper)
    if row.lower < limit < row.upper:
        note += f"; the interval straddles the limit {limit * 100:g} %: the verdict could go either way"
    verdict("slo.accuracy", "slo.accuracy", row.accuracy, limit, "fraction", MIN, interval=interval, note=note)
    warnings += list(row.warnings)
    assumptions.append(f"accuracy from law '{law.id}' ({r.law_source}), model '{row.model}', form '{row.form}'"
                       + (", extrapolated" if row.extrapolated else ""))
