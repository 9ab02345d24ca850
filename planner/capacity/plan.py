"""`planner plan`: the cheapest deployment that meets a draft plan's objectives.

A draft is a plan file whose ``deployment`` fixes only what the team has decided (model, method,
samples, precision, ...). The search fills in the rest — hardware × tensor-parallel degree × max
batch × replicas — by exhaustive enumeration, every candidate judged by the same
:func:`planner.capacity.check.check_plan` that `planner check` runs, so a written plan passes
`planner check` by construction.

Search space (each dimension only where the draft leaves it open):

* hardware: every catalog device (or the ``hardware`` subset asked for);
* tp: 1, 2, 4, 8 that divide the model's attention heads and fit in one node;
* max_batch: the engine's default, 64, 16 (a smaller running batch trades throughput for TPOT; choices the KV
  cache caps anyway are skipped);
* replicas: the fewest that meet every objective, starting from the saturation bound
  ``ceil(peak ÷ (saturation of one replica × (1 − min_headroom)))`` and stepping up (at most 6 steps, and
  no further once another replica moves no failing check by 2 %: a latency floor).

Ranking (ties broken in this order): monthly cost (devices without a price last), devices, higher
saturation rate, then hardware id, tp and max batch ascending, so the choice is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

from planner.capacity.check import PlanCheck, Resolved, check_plan, resolve
from planner.domain import Plan
from planner.domain import method as lookup_method
from planner.errors import InputError, ProfileError
from planner.files.checker import ProfileErrors
from planner.files.plans import FIELDS, HOURS_PER_MONTH

TP_CHOICES: tuple[int, ...] = (1, 2, 4, 8)
MAX_BATCH_CHOICES: tuple[int | None, ...] = (None, 64, 16)
DEFAULT_MAX_REPLICAS = 64
_REPLICA_STEPS = 6  # replicas tried above the saturation bound before giving up on a layout


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One evaluated deployment and its verdicts."""

    plan: Plan
    check: PlanCheck

    @property
    def monthly_cost_usd(self) -> float | None:
        return self.check.figures.get("monthly_cost_usd")

    def sort_key(self) -> tuple:
        d = self.plan.deployment
        cost = self.monthly_cost_usd
        return (cost is None, cost or 0.0, d.devices, -float(self.check.figures.get("saturation_rps") or 0.0), d.hardware,
                d.tp, d.max_batch or 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSearch:
    """The result of a search: the best candidate (None when nothing meets every objective) and why others lost."""

    draft: Plan
    best: Candidate | None
    runners_up: tuple[Candidate, ...] = ()
    evaluated: int = 0
    searched: tuple[str, ...] = ()  # deployment fields the search chose
    failing_checks: tuple[tuple[str, int], ...] = ()  # check -> how many candidates failed it, most first
    closest: Candidate | None = None  # fewest failing checks when nothing passes
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    note: str = ""  # why nothing was found, when the reason is not a failing check
    model_note: str = ""  # how `recommend`'s search chose the model, when the draft left it open


def relocated(result: PlanSearch, out_dir) -> PlanSearch:
    """The search result with ``workload.law`` rewritten relative to ``out_dir``, where the plan will be written."""
    import os
    from pathlib import Path

    best = result.best
    if best is None or not best.plan.workload.law or Path(best.plan.workload.law).is_absolute():
        return result
    law = Path(best.plan.path).parent / best.plan.workload.law
    moved = os.path.relpath(law, Path(out_dir))
    plan = replace(best.plan, workload=replace(best.plan.workload, law=Path(moved).as_posix()))
    return replace(result, best=replace(best, plan=plan))


def with_task(draft: Plan, task: str) -> Plan:
    """The draft with ``workload.task`` set to ``task`` (and no law file): `planner plan --task`."""
    lines = dict(draft.lines)
    lines.setdefault("workload.task", lines.get("workload", 0))
    lines.pop("workload.law", None)
    return replace(draft, workload=replace(draft.workload, task=task, law=None), lines=lines)


def choose_model(draft: Plan, catalog, *, hardware: list[str] | None = None) -> tuple[Plan, str] | str:
    """Model × precision × method × k for a draft without ``deployment.model``: `recommend`'s search (cheapest per query
    reaching ``slo.accuracy`` on the task's law), restricted to the draft's fixed choices.

    Returns the draft with those fields filled and a note, or the reason nothing reaches the target.
    """
    from planner.capacity.check import load_law
    from planner.capacity.latency import mean_tokens
    from planner.optimizer.request import SearchRequest
    from planner.optimizer.search import prepare, recommend

    w, d = draft.workload, draft.deployment
    if draft.slo.accuracy is None or not (w.task or w.law):
        raise ProfileError(draft.path, "deployment.model",
                           "a draft without deployment.model needs workload.task (or law) and slo.accuracy: "
                           "the model search picks the cheapest model reaching that accuracy",
                           line=draft.line_of("deployment"))
    law, law_source = load_law(draft, catalog)
    fixed_hw = (d.hardware,) if d.hardware else (tuple(hardware) if hardware else None)
    request = SearchRequest(
        target_accuracy=draft.slo.accuracy, minimize="cost", hardware=fixed_hw,
        precisions=(d.precision,) if draft.given("deployment.precision") else None,
        methods=(d.method,) if draft.given("deployment.method") else None,
        max_samples=d.samples if draft.given("deployment.samples") else 1024,
        prompt_tokens=mean_tokens(w.prompt_tokens), output_tokens=mean_tokens(w.output_tokens),
        reward_model=d.reward_model,
    )
    rec = recommend(catalog, law, law_source, request)
    if rec.best is None:
        reach = rec.best_reachable
        best_text = f"; the most accurate within the constraints is {reach.label} at {reach.accuracy * 100:.1f} %" if reach else ""
        return (f"no model × method × k × precision on law '{law.id}' reaches slo.accuracy {draft.slo.accuracy * 100:g} %"
                f" ({rec.n_candidates} candidates; binding: {', '.join(rec.binding) or 'the target'}){best_text}")
    b = rec.best
    uses_rm = lookup_method(b.method).verifier == "reward-model"
    rm = (d.reward_model or prepare(catalog, law, law_source, request).reward_model.id) if uses_rm else None
    filled = replace(draft, deployment=replace(d, model=b.model, precision=b.precision, method=b.method, samples=b.samples,
                                               reward_model=rm))
    note = (f"model, precision, method and k from `planner recommend`'s search on law '{law.id}' ({rec.n_candidates} "
            f"candidates, cheapest per query reaching {draft.slo.accuracy * 100:g} %): {b.label}, "
            f"accuracy {b.accuracy * 100:.1f} % ({b.accuracy_lower * 100:.1f}–{b.accuracy_upper * 100:.1f} %)")
    return filled, note


def _tp_choices(plan: Plan, model, hardware) -> list[int]:
    if plan.given("deployment.tp"):
        return [plan.deployment.tp]
    return [tp for tp in TP_CHOICES if model.n_heads % tp == 0 and tp <= max(hardware.devices_per_node, 1)
            and (tp == 1 or hardware.intra_node_bandwidth_bytes_per_s > 0)]


def _kv_capacity(draft: Plan, catalog, hw_id: str, tp: int) -> int | None:
    """Requests whose KV cache fits one replica with no engine cap (None when the layout cannot run)."""
    from planner.cost import roofline

    try:
        r = resolve(replace(draft, deployment=replace(draft.deployment, hardware=hw_id, tp=tp, replicas=1,
                                                      max_batch=None)), catalog)
    except (ProfileError, ProfileErrors):
        return None
    s = r.scenario
    return roofline.max_batch(replace(s, engine=replace(s.engine, max_batch=10**9)))


def _evaluate(plan: Plan, catalog, goodput: bool = False) -> Candidate | None:
    try:
        resolved: Resolved = resolve(plan, catalog)
        return Candidate(plan=plan, check=check_plan(resolved, goodput=goodput))
    except (ProfileError, ProfileErrors):
        return None  # a layout this model cannot run on this device (tp, pp)


def search(draft: Plan, catalog, *, hardware: list[str] | None = None, max_replicas: int = DEFAULT_MAX_REPLICAS,
           keep: int = 3) -> PlanSearch:
    """The cheapest deployment meeting every objective of ``draft``; raises for an invalid draft.

    ``hardware`` restricts the devices tried when the draft leaves ``deployment.hardware`` open.
    """
    d = draft.deployment
    if draft.slo.accuracy is not None and not (draft.workload.task or draft.workload.law):
        raise ProfileError(draft.path, "slo.accuracy", "an accuracy objective needs workload.task (a law id such as "
                           "math500), workload.law or --task", line=draft.line_of("slo.accuracy"))
    model_note = ""
    chosen_by_recommend: tuple[str, ...] = ()
    if not d.model:
        chosen = choose_model(draft, catalog, hardware=hardware)
        if isinstance(chosen, str):  # nothing reaches the accuracy target
            return PlanSearch(draft=draft, best=None, failing_checks=(("slo.accuracy", 0),), note=chosen,
                              searched=("model", "method", "samples", "precision"))
        draft, model_note = chosen
        d = draft.deployment
        chosen_by_recommend = ("model", "precision", "method", "samples") + (("reward_model",) if d.reward_model else ())
    if max_replicas < 1:
        raise InputError(f"--max-replicas must be ≥ 1, got {max_replicas}")
    if draft.given("deployment.hardware"):
        devices = [d.hardware]
    else:
        devices = list(hardware) if hardware else catalog.names("hardware")
    # Invalid names in the draft (model, reward model, task, ...) surface here with their lines.
    probe = replace(draft, deployment=replace(d, hardware=devices[0] if devices else "h100-sxm"))
    resolve(probe, catalog)
    model = catalog.model(d.model)

    searched = list(chosen_by_recommend) + [name for name, path in (("hardware", "deployment.hardware"), ("tp", "deployment.tp"),
                                        ("max_batch", "deployment.max_batch"), ("replicas", "deployment.replicas"))
                if not draft.given(path)]
    batches = [d.max_batch] if draft.given("deployment.max_batch") else list(MAX_BATCH_CHOICES)
    evaluated = 0
    passing: list[Candidate] = []
    failures: Counter[str] = Counter()
    closest: Candidate | None = None
    # Cheapest devices first, so the cost bound (the keep+1-th cheapest passing so far) prunes early.
    profiles = sorted((catalog.hardware(h) for h in devices),
                      key=lambda hw: (hw.price_usd_per_hour is None, hw.price_usd_per_hour or 0.0, hw.id))
    pruned = 0
    for hw in profiles:
        if hw.price_usd_per_hour is None and len(passing) > keep:
            pruned += 1  # unpriced devices rank after every priced one that passes
            continue
        for tp in _tp_choices(draft, model, hw):
            capacity = _kv_capacity(draft, catalog, hw.id, tp)
            # max batch choices the KV cache caps anyway run the same engine: keep the first of them
            layout_batches = [mb for i, mb in enumerate(batches)
                              if i == 0 or mb is None or capacity is None or mb < capacity]
            for mb in layout_batches:
                base = replace(draft, deployment=replace(d, hardware=hw.id, tp=tp, max_batch=mb, replicas=1))
                layouts = {_layout(c): c.monthly_cost_usd for c in passing if c.monthly_cost_usd is not None}
                costs = sorted(layouts.values())
                bound = costs[keep] if len(costs) > keep else math.inf
                ladder = _replica_ladder(base, catalog, fixed=draft.given("deployment.replicas") and d.replicas,
                                         max_replicas=max_replicas, max_cost_usd=bound)
                for cand in ladder:
                    if cand is None:
                        pruned += 1
                        break
                    evaluated += 1
                    failed = [v.check for v in cand.check.verdicts if not v.passed]
                    if not failed:
                        passing.append(cand)
                        break
                    failures.update(failed)
                    if closest is None or len(failed) < _n_failed(closest) or (
                            len(failed) == _n_failed(closest) and cand.sort_key() < closest.sort_key()):
                        closest = cand
    passing.sort(key=Candidate.sort_key)
    best = passing[0] if passing else None
    if best is not None:  # the winner's goodput (a search of its own, skipped for the other candidates)
        best = _evaluate(best.plan, catalog, goodput=True) or best
    seen, runners = set(), []
    for cand in passing[1:]:  # one runner-up per layout (max batch variants of the same layout cost the same)
        key = (cand.plan.deployment.hardware, cand.plan.deployment.tp, cand.plan.deployment.replicas)
        if key not in seen and key != _layout(best):
            seen.add(key)
            runners.append(cand)
    warnings = list(best.check.warnings) if best else []
    assumptions = [
        f"searched {', '.join(searched) or 'nothing (the draft fixes every choice)'}: "
        f"{evaluated} candidates evaluated by the same checks as `planner check`",
        "ranked by monthly cost, then devices, then saturation rate (devices without a price rank last)",
    ]
    if best:
        assumptions += list(best.check.assumptions)
    if model_note:
        assumptions.insert(0, model_note)
    if pruned:
        assumptions.append(f"{pruned} layouts skipped without evaluation: they cost more than {keep + 1} passing ones")
    return PlanSearch(draft=draft, best=best, runners_up=tuple(runners[:keep]), evaluated=evaluated, model_note=model_note,
                      searched=tuple(searched), failing_checks=tuple(failures.most_common()), closest=None if best else closest,
                      warnings=tuple(warnings), assumptions=tuple(assumptions))


def _layout(c: Candidate | None) -> tuple | None:
    return None if c is None else (c.plan.deployment.hardware, c.plan.deployment.tp, c.plan.deployment.replicas)


def _n_failed(c: Candidate) -> int:
    return sum(not v.passed for v in c.check.verdicts)


def _replica_ladder(base: Plan, catalog, *, fixed: int | bool, max_replicas: int, max_cost_usd: float = math.inf):
    """Candidates with increasing replicas: the fixed count, or from the saturation bound up.

    Yields None (and stops) where the next candidate would cost more than ``max_cost_usd``.
    """
    price = catalog.hardware(base.deployment.hardware).price_usd_per_hour

    def too_dear(replicas: int) -> bool:
        return price is not None and replicas * base.deployment.devices_per_replica * price * HOURS_PER_MONTH > max_cost_usd

    if fixed:
        cand = _evaluate(replace(base, deployment=replace(base.deployment, replicas=int(fixed))), catalog)
        if cand is not None:
            yield cand
        return
    if too_dear(1):
        yield None
        return
    one = _evaluate(base, catalog)
    if one is None:
        return
    if any(v.check == "memory per device" and not v.passed for v in one.check.verdicts):
        yield one  # more replicas do not help a model that does not fit
        return
    saturation = float(one.check.figures.get("saturation_rps") or 0.0)
    if saturation <= 0 or not math.isfinite(saturation):
        yield one
        return
    spare = 1.0 - (base.slo.min_headroom or 0.0)
    start = max(1, math.ceil(base.workload.peak_requests_per_second / (saturation * spare) * (1 - 1e-9)))
    if start > max_replicas:
        yield one
        return
    previous: Candidate | None = None
    for replicas in range(start, min(max_replicas, start + _REPLICA_STEPS) + 1):
        if too_dear(replicas):
            yield None
            return
        cand = one if replicas == 1 else _evaluate(replace(base, deployment=replace(base.deployment, replicas=replicas)), catalog)
        if cand is None:
            return
        yield cand
        if not any(not v.passed for v in cand.check.verdicts):
            return
        if previous is not None and _at_floor(previous, cand):
            return  # a latency floor: more replicas no longer move the failing checks
        previous = cand


def _at_floor(before: Candidate, after: Candidate) -> bool:
    """The checks that fail after one more replica improved by less than 2 % (or only budgets fail, which get worse)."""
    was = {v.check: v.predicted for v in before.check.verdicts}
    for v in after.check.verdicts:
        if v.passed or v.check.startswith("budget."):
            continue
        old = was.get(v.check)
        if old is None or not math.isfinite(old) or not math.isfinite(v.predicted):
            return False
        if abs(old - v.predicted) > 0.02 * max(abs(old), 1e-12):
            return False
    return True


def written_fields(search_result: PlanSearch) -> frozenset[str]:
    """The fields a written plan carries: what the draft wrote, what the search chose, and the required ones."""
    best = search_result.best
    assert best is not None
    chosen = {f"deployment.{name}" for name in search_result.searched}
    out = {f.path for f in FIELDS if best.plan.given(f.path) or f.required or f.path in chosen}
    if best.plan.deployment.max_batch is None:
        out.discard("deployment.max_batch")
    return frozenset(out)


def failure_summary(result: PlanSearch) -> str:
    """Why nothing passed, in one line."""
    if result.note:
        return result.note
    parts = [f"{name} ({n} of {result.evaluated})" for name, n in result.failing_checks[:4]]
    text = f"no deployment meets every objective ({result.evaluated} evaluated); failing most often: {', '.join(parts)}"
    c = result.closest
    if c is not None:
        d = c.plan.deployment
        failed = "; ".join(f"{v.check} predicted {v.predicted:.4g} vs limit {v.limit:.4g}" for v in c.check.verdicts if not v.passed)
        text += f". Closest: {d.replicas} × {d.hardware} tp {d.tp}: {failed}"
    return text
