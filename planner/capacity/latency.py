"""The one place `planner check` and `planner plan` get served latency, capacity and monthly cost from.

``traffic_at`` calls the traffic model (``planner.cost.traffic.at_rate``: Little's law on the served
continuous-batching model, queueing, length spreads) for one replica at a request rate, and adds what
a search method's reward model costs. Nothing here models serving itself.

Reward model: it scores the k samples of a request after they finish (one forward pass over their
tokens on top of the cached prompt, ``roofline.forward_pass``), on the same devices. Its pass adds to
the request's end-to-end latency, and its device time displaces generation: it is counted as
``verifier_s × saturation rate`` extra engine sequences per request in the load multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.cost import roofline, traffic
from planner.domain import Slo, TokenLengths, Workload


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
    goodput_rps: float | None
    utilisation: float
    load_multiplier: float
    verifier_s: float
    model: str
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def spread(lengths: TokenLengths) -> traffic.LengthSpread:
    return traffic.LengthSpread(p50_tokens=lengths.p50, p90_tokens=lengths.p90, p99_tokens=lengths.p99)


def mean_tokens(lengths: TokenLengths) -> float:
    """The mean length: as given, or that of the log-normal the traffic model fits to the percentiles (p50·e^{σ²/2})."""
    import math

    if lengths.mean is not None:
        return float(lengths.mean)
    sigma = spread(lengths).sigma(float(lengths.p50))  # with a p50 the shape comes from the percentile ratio alone
    return float(lengths.p50) * math.exp(sigma * sigma / 2.0)


def verifier_seconds(s: roofline.Scenario, reward_model, samples: int) -> float:
    """Reward-model scoring of ``samples`` outputs after the shared prompt: one forward pass over their tokens (s)."""
    if reward_model is None:
        return 0.0
    rs = replace(s, model=reward_model, replicas=1)
    return roofline.forward_pass(rs, batch=samples, new_tokens=s.output_tokens, context_tokens=s.prompt_tokens).time_s


def traffic_at(s: roofline.Scenario, requests_per_second: float, *, load_multiplier: float, workload: Workload,
               slo: Slo | None, reward_model=None, samples: int = 1) -> Traffic:
    """Latency percentiles, saturation and (when ``slo`` is given) goodput of one replica at ``requests_per_second``."""
    one = replace(s, replicas=1)
    verifier_s = verifier_seconds(one, reward_model, samples)
    multiplier = load_multiplier
    extra: list[str] = []
    if verifier_s > 0:
        equivalent = verifier_s * traffic.saturation_rate(one)
        multiplier += equivalent
        extra.append(f"reward model: one {verifier_s * 1e3:.3g} ms scoring pass per request on the same devices, counted as "
                     f"{equivalent:.3g} extra engine sequences of load and added to the end-to-end latency")
    shared_prompt = 1.0 if samples > 1 else None
    if shared_prompt is not None:
        extra.append(f"the {samples} samples of a request share one prompt prefill (prefix caching, on by default in vLLM V1 "
                     "and SGLang; TensorRT-LLM with KV-cache reuse)")
    r = traffic.at_rate(one, requests_per_second, load_multiplier=multiplier, prompt_spread=spread(workload.prompt_tokens),
                        output_spread=spread(workload.output_tokens), slo=slo, prefills_per_request=shared_prompt)
    return Traffic(
        concurrency=r.concurrency, ttft_p50_s=r.ttft_p50_s, ttft_p99_s=r.ttft_p99_s, tpot_p99_s=r.tpot_p99_s,
        e2e_p50_s=r.e2e_p50_s + verifier_s, e2e_p99_s=r.e2e_p99_s + verifier_s, saturation_rps=r.saturation_rps,
        goodput_rps=r.goodput_rps, utilisation=r.utilisation, load_multiplier=multiplier, verifier_s=verifier_s,
        model="served (cost.traffic)", warnings=r.warnings, assumptions=tuple(extra) + r.assumptions,
    )


def monthly(s: roofline.Scenario, *, replicas: int, workload: Workload, load_multiplier: float,
            saturation_rps_per_replica: float) -> traffic.MonthlyCost:
    """Monthly cost and energy of ``replicas`` replicas at the workload's mean and peak rates (cost.traffic.monthly_cost)."""
    return traffic.monthly_cost(replace(s, replicas=replicas), workload.requests_per_second, peak_factor=workload.peak_factor,
                                load_multiplier=load_multiplier, saturation_rps=saturation_rps_per_replica * replicas)
