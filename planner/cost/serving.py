"""Served latency under continuous batching: N requests in flight on an engine that batches per step.

A static batch (``roofline.estimate``) is the floor, not what a served request sees. Under continuous
(in-flight) batching (Yu et al. 2022, Orca, OSDI §3; vLLM, Kwon et al. 2023; Agrawal et al. 2024,
Sarathi-Serve, OSDI §3-4 for chunked prefill) every engine step runs the decode tokens of the running
requests together with prefill work of newly admitted ones. This module models the steady state of
one replica holding ``n`` requests in flight (a closed loop: a finished request is replaced at once,
as in fixed-concurrency benchmarks), all with the scenario's prompt and output lengths:

    B       = min(n, engine max batch, KV capacity)          running batch; the rest queue
    T_d     = decode step of the running decode batch (roofline.decode_step)
    S_p     = marginal time one prompt's prefill adds to the steps it joins
              = mixed step(decode batch + prompt) - T_d    (weights streamed once per step)
    λ       = completed requests per second (the unknown)
    ρ       = max(λ·S_p, λ·P·T / (C - d))                share of the engine spent on prefill, or of
                                                           the per-step token budget C it uses
    T       = T_d / (1 - λ·S_p)                           mean step = served TPOT (decodes share
                                                           every step with the prefills of arrivals)
    W_p     = ρ/(1-ρ) · (c_a² + c_s²)/2 · S_p              wait for a prefill slot: Kingman's G/G/1
                                                           approximation (Kingman 1961)
    TTFT    = overhead + T/2 + W_p + own prefill + queue wait
    λ       = B / (TTFT_run + (O-1)·T)                     closed loop (Little's law), solved for λ
    queue   = (n - B) / λ                                  requests beyond the batch wait for a slot

Arrivals in a closed loop with identical lengths come back in clumps (requests admitted in the same
step finish in the same step): their squared coefficient of variation c_a² is taken as the number of
prompts one step admits, g = min(B, C / P). Open-loop Poisson traffic (``traffic.py``) has c_a² = 1.

All times in seconds, rates per second, token counts per request; SI throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from planner.cost.roofline import PhaseCost, Scenario, decode_step, device_power_w, forward_pass, max_batch, utilisation, validate
from planner.errors import InputError

# Bisection on the request rate: relative tolerance and step limit (the rate is monotone in the fixed point).
_RATE_TOLERANCE = 1e-6
_MAX_BISECTIONS = 60
# Outer fixed-point passes for the decode population d = λ·(O-1)·T (each costs two roofline evaluations).
_DECODE_PASSES = 6
MAX_CONCURRENCY = 1_000_000

@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerKnobs:
    """What the engine's scheduler allows per replica.

    max_batch: most requests decoded together (vLLM ``max_num_seqs``, TensorRT-LLM ``max_batch_size``).
    max_tokens_per_step: token budget of one step (vLLM ``max_num_batched_tokens``, TensorRT-LLM
        ``max_num_tokens``, SGLang ``chunked_prefill_size``): decode tokens plus prefill tokens.
    chunked_prefill: a prompt longer than the room left after the decodes is split over steps;
        without it a prompt runs whole in one step.
    prefill_chunk_tokens: largest prefill chunk per step when chunking (SGLang ``chunked_prefill_size``).
    request_overhead_s: fixed latency per request outside model steps (front end, tokenisation).
    """

    max_batch: int
    max_tokens_per_step: int
    chunked_prefill: bool
    prefill_chunk_tokens: int
    request_overhead_s: float
    source: str = "engine profile"


def knobs_for(scenario: Scenario) -> SchedulerKnobs:
    """The scheduler knobs of the scenario's engine profile (profiles/engines/*.yaml)."""
    engine = scenario.engine
    return SchedulerKnobs(
        max_batch=int(engine.max_batch),
        max_tokens_per_step=int(engine.max_num_tokens),
        chunked_prefill=bool(engine.chunked_prefill),
        prefill_chunk_tokens=int(engine.prefill_chunk_tokens),
        request_overhead_s=float(engine.request_overhead_s),
        source=f"engine {engine.id}",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedEstimate:
    """Steady-state served latency of one scenario at a concurrency (seconds, requests, tokens per second).

    concurrency: requests in flight across the deployment (spread evenly over replicas).
    ttft_s: time to first token, including the wait for a batch slot and for a prefill slot.
    tpot_s: mean time per output token after the first = mean engine step while decoding.
    e2e_s: ttft_s + (output_tokens - 1) · tpot_s.
    running_batch: requests in the running batch of one replica (mean).
    queued: requests of one replica waiting for a batch slot (KV capacity or engine max batch).
    kv_capacity_sequences: requests whose full context fits the KV cache of one replica.
    output_tokens_per_s, requests_per_s: whole deployment.
    static_tpot_s: decode step of a static batch of ``running_batch`` (the floor served TPOT rises from).
    decode_step_s: step time of the decode batch alone; prefill_s: time one prompt adds to the steps it joins.
    prefill_utilisation: share of the engine (or of its token budget) taken by prefills.
    prefill_wait_s: mean wait for a prefill slot; queue_wait_s: mean wait for a batch slot.
    request_overhead_s: fixed per-request latency outside the model steps.
    device_utilisation: busier of compute and memory in the mean step (roofline.utilisation);
    device_power_w: one device's mean power at it (roofline.device_power_w: idle + (rated - idle) · u).
    energy_j_per_output_token, cost_usd_per_million_output_tokens: the deployment's devices at that
    power and at the profile's price over its served output rate.
    """

    concurrency: float
    ttft_s: float
    tpot_s: float
    e2e_s: float
    running_batch: float
    queued: float
    kv_capacity_sequences: int
    output_tokens_per_s: float
    requests_per_s: float
    static_tpot_s: float
    decode_step_s: float
    prefill_s: float
    prefill_utilisation: float
    prefill_wait_s: float
    queue_wait_s: float
    request_overhead_s: float
    prefill_chunks: int
    device_utilisation: float
    device_power_w: float
    energy_j_per_output_token: float
    cost_usd_per_million_output_tokens: float | None
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def mixed_step(s: Scenario, *, decode_batch: float, prefill_tokens: float) -> PhaseCost:
    """One engine step that decodes ``decode_batch`` sequences and prefills ``prefill_tokens`` prompt tokens.

    Built from roofline passes: FLOPs add (at the compute efficiency of the combined token count),
    weights are streamed once, each decode sequence reads its KV cache, communication and the fixed
    overhead are those of one pass over all the step's tokens (Sarathi-Serve §3: piggybacking decodes
    on a prefill chunk costs little more than the chunk).
    """
    tokens = decode_batch + prefill_tokens
    flat = forward_pass(s, batch=tokens, new_tokens=1, context_tokens=0)  # per-FLOP time, weights, comm, overhead
    flops = 0.0
    kv_read_s = kv_read_bytes = 0.0
    if decode_batch > 0:
        dec = decode_step(s, decode_batch)
        no_cache = forward_pass(s, batch=decode_batch, new_tokens=1, context_tokens=0)
        flops += dec.flops
        kv_read_s = max(0.0, dec.memory_s - no_cache.memory_s)
        kv_read_bytes = max(0.0, dec.bytes - no_cache.bytes)
    if prefill_tokens > 0:
        flops += forward_pass(s, batch=1, new_tokens=prefill_tokens, context_tokens=0).flops
    return PhaseCost(
        compute_s=flops * flat.compute_s / flat.flops,
        memory_s=flat.memory_s + kv_read_s,
        communication_s=flat.communication_s,
        overhead_s=flat.overhead_s,
        flops=flops,
        bytes=flat.bytes + kv_read_bytes,
    )


@dataclass(frozen=True, slots=True)
class _State:
    rate: float  # requests per second, one replica
    step_s: float
    decode_step_s: float
    prefill_s: float
    utilisation: float
    prefill_wait_s: float
    own_prefill_s: float
    chunks: int
    ttft_running_s: float  # from arrival at the running batch to the first token (no batch-slot queue)
    decoding: float = 0.0  # decode population d of the solved state


def _state(k: SchedulerKnobs, p: int, batch: float, decoding: float, t_d: float, s_p: float, rate: float,
           arrival_scv: float | None, service_scv: float, share: float = 1.0) -> _State | None:
    """Steady state at ``rate`` completions per second, given the decode step and the prefill cost; None if prefill saturates."""
    busy = rate * share * s_p  # share: prefills per completed sequence (1/k when k samples share a cached prompt)
    room = k.max_tokens_per_step - decoding
    if busy >= 1.0 or room <= 0:
        return None
    step = t_d / (1.0 - busy)
    utilisation = max(busy, rate * share * p * step / room)
    if utilisation >= 1.0:
        return None
    chunks = max(1, math.ceil(p / min(room, k.prefill_chunk_tokens))) if k.chunked_prefill else 1
    clump = max(1.0, min(batch, k.max_tokens_per_step / p)) if arrival_scv is None else arrival_scv
    wait = utilisation / (1.0 - utilisation) * (clump + service_scv) / 2.0 * s_p
    own = s_p + chunks * t_d + (chunks - 1) * (step - t_d)
    ttft = k.request_overhead_s + step / 2.0 + wait + own
    return _State(rate=rate, step_s=step, decode_step_s=t_d, prefill_s=s_p, utilisation=utilisation,
                  prefill_wait_s=wait, own_prefill_s=own, chunks=chunks, ttft_running_s=ttft)


def _closed_loop(s: Scenario, k: SchedulerKnobs, batch: float, arrival_scv: float | None, service_scv: float,
                 share: float = 1.0) -> _State:
    """Solve λ = batch / (TTFT_run(λ) + (O-1)·T(λ)) by bisection (the right side falls as λ rises).

    The decode population d = λ·(O-1)·T (requests past their first token) sets the decode step and
    the prefill cost; it is found by a few outer passes, each costing the roofline twice.
    """
    p, o = s.prompt_tokens, s.output_tokens
    decoding = batch
    best = None
    for _ in range(_DECODE_PASSES):
        t_d = decode_step(s, decoding).time_s
        s_p = max(0.0, mixed_step(s, decode_batch=decoding, prefill_tokens=p).time_s - t_d)
        lo, hi = 0.0, 2.0 / max(s_p, 1e-12)  # beyond 1/s_p prefill alone would fill the engine
        best = _state(k, p, batch, decoding, t_d, s_p, 0.0, arrival_scv, service_scv, share)
        for _ in range(_MAX_BISECTIONS):
            mid = 0.5 * (lo + hi)
            st = _state(k, p, batch, decoding, t_d, s_p, mid, arrival_scv, service_scv, share)
            if st is None or mid * (st.ttft_running_s + (o - 1) * st.step_s) > batch:
                hi = mid
            else:
                lo, best = mid, st
            if hi - lo <= _RATE_TOLERANCE * hi:
                break
        if best is None:  # not even one request fits the step's token budget
            raise InputError(f"the engine's {k.max_tokens_per_step:,} tokens per step leave no room for prefill beside {decoding:g} decodes")
        best = replace(best, decoding=decoding)
        new = min(batch, max(min(1.0, batch), best.rate * (o - 1) * best.step_s))
        if abs(new - decoding) <= 1e-4 * decoding:
            break
        decoding = new
    return best


def kv_capacity(s: Scenario) -> int:
    """Requests the KV cache of one replica holds, capped by the engine max batch.

    Engines that admit only what can finish (``kv_admission: full``) reserve each request's whole context
    P + O; engines that admit on the blocks held now (``current``) hold, in steady state, the mean
    context P + O/2 per request (requests are spread evenly over their decode).
    """
    if s.engine.kv_admission == "current":
        return max_batch(replace(s, batch=None, output_tokens=max(1, math.ceil(s.output_tokens / 2))))
    return max_batch(replace(s, batch=None))


def served(scenario: Scenario, concurrency: float, *, arrival_scv: float | None = None, service_scv: float = 0.0,
           knobs: SchedulerKnobs | None = None, prefill_share: float = 1.0) -> ServedEstimate:
    """Steady-state served TTFT/TPOT with ``concurrency`` requests in flight across the deployment.

    ``arrival_scv``: squared coefficient of variation of arrivals at the prefill queue; None = a closed
    loop of identical requests (arrivals clump into what one step admits), 1.0 = Poisson traffic.
    ``service_scv``: squared coefficient of variation of prefill times (0 = identical prompts).
    ``knobs``: scheduler knobs to use instead of the scenario engine's (calibration, what-if studies).
    ``prefill_share``: prefills per sequence, in (0, 1]: 1/k when the k samples of a request share its
    prompt through the prefix cache (prefilled once, decoded k times).
    Raises InputError for a concurrency that is not a positive number or a scenario that cannot be evaluated.
    """
    validate(scenario)
    if not (isinstance(concurrency, (int, float)) and math.isfinite(concurrency) and 0 < concurrency <= MAX_CONCURRENCY):
        raise InputError(f"concurrency must be a number of requests in flight between 1 and {MAX_CONCURRENCY:,}, got {concurrency!r}")
    s = scenario
    k = knobs if knobs is not None else knobs_for(s)
    per_replica = concurrency / s.replicas
    capacity = kv_capacity(s)
    warnings: list[str] = []
    if capacity < 1:
        raise InputError(
            f"{s.model.id} at {s.weight_precision.name} does not leave room for one {s.prompt_tokens + s.output_tokens:,}-token "
            f"request on {s.tp * s.pp} × {s.hardware.id}: no request can run"
        )
    batch = min(per_replica, float(k.max_batch), float(capacity))
    queued = max(0.0, per_replica - batch)
    if not (isinstance(prefill_share, (int, float)) and 0 < prefill_share <= 1):
        raise InputError(f"prefill_share must be in (0, 1] (prefills per sequence), got {prefill_share!r}")
    st = _closed_loop(s, k, batch, arrival_scv, service_scv, float(prefill_share))
    queue_wait = queued / st.rate if queued > 0 and st.rate > 0 else 0.0
    ttft = st.ttft_running_s + queue_wait
    tpot = st.step_s
    e2e = ttft + (s.output_tokens - 1) * tpot
    rate = st.rate * s.replicas
    device_seconds_per_token = s.devices / (rate * s.output_tokens)
    # The mean step: the decode population plus the prefill tokens that arrive per step on average.
    mean_step = mixed_step(s, decode_batch=st.decoding, prefill_tokens=st.rate * prefill_share * s.prompt_tokens * st.step_s)
    device_u = utilisation(s, mean_step, s.devices // s.replicas)
    power_w = device_power_w(s.hardware, device_u)
    price = s.hardware.price_usd_per_hour
    if queued > 0:
        limit = "the KV cache" if capacity <= k.max_batch else "the engine's max batch"
        warnings.append(f"{per_replica:g} requests per replica exceed what {limit} holds ({batch:g}): {queued:g} wait for a slot, "
                        f"adding {queue_wait:.3g} s to TTFT")
    if not k.chunked_prefill and s.prompt_tokens > k.max_tokens_per_step:
        warnings.append(f"prompt of {s.prompt_tokens:,} tokens exceeds the engine's {k.max_tokens_per_step:,} tokens per step "
                        "and chunked prefill is off: the engine would reject it")
    if st.utilisation > 0.9:
        warnings.append(f"prefill takes {st.utilisation:.0%} of the engine: TTFT is dominated by waiting for a prefill slot")
    assumptions = (
        "continuous batching in steady state: every step decodes the running batch and prefills arriving prompts "
        "(Orca, OSDI 2022; Sarathi-Serve, OSDI 2024)",
        f"engine: max batch {k.max_batch}, {k.max_tokens_per_step:,} tokens per step, chunked prefill "
        f"{'on' if k.chunked_prefill else 'off'}, {k.request_overhead_s * 1e3:.0f} ms fixed per request ({k.source})",
        "closed loop: a finished request is replaced at once; identical prompt/output lengths"
        if arrival_scv is None else f"arrivals with squared coefficient of variation {arrival_scv:g}",
        "wait for a prefill slot: Kingman's G/G/1 approximation W = ρ/(1-ρ)·(c_a²+c_s²)/2·S (Kingman 1961)",
        "KV capacity counts each request's full context (prompt + output) reserved for its lifetime"
        if s.engine.kv_admission != "current" else
        "KV capacity counts the mean context (prompt + half the output); the engine preempts when the cache runs out",
    )
    return ServedEstimate(
        concurrency=float(concurrency),
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        running_batch=batch,
        queued=queued,
        kv_capacity_sequences=capacity,
        output_tokens_per_s=rate * s.output_tokens,
        requests_per_s=rate,
        static_tpot_s=decode_step(s, batch).time_s,
        decode_step_s=st.decode_step_s,
        prefill_s=st.prefill_s,
        prefill_utilisation=st.utilisation,
        prefill_wait_s=st.prefill_wait_s,
        queue_wait_s=queue_wait,
        request_overhead_s=k.request_overhead_s,
        prefill_chunks=st.chunks,
        device_utilisation=device_u,
        device_power_w=power_w,
        energy_j_per_output_token=power_w * device_seconds_per_token,
        cost_usd_per_million_output_tokens=None if price is None else price / 3600.0 * device_seconds_per_token * 1e6,
        warnings=tuple(warnings),
        assumptions=assumptions,
    )
