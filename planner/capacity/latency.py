"""The one place `planner check` and `planner plan` get served latency and capacity from.

``traffic_at`` returns the latency percentiles, saturation rate and goodput of one replica at a
request rate. It is the seam to the serving and traffic models (``planner.cost.serving`` and
``planner.cost.traffic``); until they exist it uses the static roofline, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from planner.cost import roofline
from planner.domain import Slo, Workload


@dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """One replica at a request rate: latency percentiles (s), concurrency, saturation and goodput (requests/s)."""

    concurrency: float
    ttft_p50_s: float
    ttft_p99_s: float
    tpot_p99_s: float
    e2e_p50_s: float
    e2e_p99_s: float
    saturation_rps: float
    goodput_rps: float
    utilisation: float
    model: str
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


STATIC_ASSUMPTION = ("latency from the static roofline (no queueing, no length spread: p99 = mean); "
                     "the served traffic model replaces it")


def _verifier_s(s: roofline.Scenario, reward_model, samples: int) -> float:
    """Reward-model scoring of ``samples`` outputs after the shared prompt: one forward pass over their tokens."""
    if reward_model is None:
        return 0.0
    rs = replace(s, model=reward_model)
    return roofline.forward_pass(rs, batch=samples, new_tokens=s.output_tokens, context_tokens=s.prompt_tokens).time_s


def traffic_at(s: roofline.Scenario, requests_per_second: float, *, load_multiplier: float, workload: Workload,
               slo: Slo, reward_model=None, samples: int = 1) -> Traffic:
    """Static-roofline stand-in for the served traffic model: no queueing, no length spread (p99 = mean)."""
    full = roofline.estimate(replace(s, batch=None))
    limit = max(full.max_batch, 1)
    verifier_s = _verifier_s(s, reward_model, samples)
    # Saturation: the max-throughput run's output rate, in requests of load_multiplier sequences each,
    # with the reward model's passes taking the devices for verifier_s per request.
    gen_s_per_request = s.output_tokens * load_multiplier / full.output_tokens_per_s
    saturation = 1.0 / (gen_s_per_request + verifier_s)
    utilisation = requests_per_second / saturation
    # Concurrency by Little's law with the static latency at that batch (a few fixed-point steps).
    batch = max(1, math.ceil(load_multiplier))
    est = roofline.estimate(replace(s, batch=min(batch, limit)))
    for _ in range(8):
        e2e = est.ttft_s + (s.output_tokens - 1) * est.tpot_s + verifier_s
        batch = min(limit, max(1, math.ceil(requests_per_second * load_multiplier * e2e)))
        est = roofline.estimate(replace(s, batch=batch))
    ttft = roofline.forward_pass(s, batch=1, new_tokens=s.prompt_tokens, context_tokens=0).time_s
    tpot = est.tpot_s
    e2e = ttft + (s.output_tokens - 1) * tpot + verifier_s
    concurrency = requests_per_second * e2e
    warnings = []
    if utilisation >= 1.0:
        warnings.append(f"the peak rate {requests_per_second:.4g} requests/s per replica exceeds its saturation rate "
                        f"{saturation:.4g}: queues grow without bound")
        ttft = tpot = e2e = math.inf
    meets = all(limit_s is None or value <= limit_s for value, limit_s in (
        (ttft, slo.ttft_p50_s), (ttft, slo.ttft_p99_s), (tpot, slo.tpot_p99_s), (e2e, slo.e2e_p99_s)))
    return Traffic(
        concurrency=concurrency, ttft_p50_s=ttft, ttft_p99_s=ttft, tpot_p99_s=tpot, e2e_p50_s=e2e, e2e_p99_s=e2e,
        saturation_rps=saturation, goodput_rps=min(requests_per_second, saturation) if meets else 0.0,
        utilisation=utilisation, model="static-roofline", warnings=tuple(warnings),
        assumptions=(STATIC_ASSUMPTION,),
    )
