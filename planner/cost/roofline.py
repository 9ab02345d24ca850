"""Roofline cost model: hardware × model × precision × batch × context × parallelism → time, memory, bound.

Time of one forward pass on one device (Williams et al. 2009 roofline; Pope et al. 2022 §2-3 for
transformer inference; Kaplan et al. 2020 Table 1 for FLOPs per token)::

    t_pass = max(flops / (peak · eff_c(m)), bytes / (bandwidth · eff_m)) + t_comm + t_overhead

    eff_c(m)   = compute · m / (m + compute_half_tokens)     m = tokens in the pass (GEMM rows)
    t_comm     = 2 all-reduces per layer under tensor parallelism (ring: 2(tp-1)/tp · message / link)
                 + pipeline hand-offs
    t_overhead = step_overhead + layer_overhead · n_layers   (launches, sampling, scheduling)

Prefill runs the whole prompt as one pass (``batch × prompt`` tokens). Decode runs ``output``
passes of ``batch`` tokens; each pass streams the weights once and every sequence's KV cache.
Every efficiency factor is a field of the hardware profile (calibrated by ``bench/calibrate.py``).
All quantities are SI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from planner.domain import HardwareProfile, ModelProfile, Precision
from planner.domain import precision as lookup_precision
from planner.errors import InputError

# Bytes per value of tensor-parallel all-reduce messages: engines reduce activations in 16 bit.
COMM_BYTES_PER_VALUE = 2.0
# Activations and logits are held in 16 bit.
ACTIVATION_BYTES_PER_VALUE = 2.0
MAX_TOKENS = 10_000_000

# What every roofline estimate assumes (reports print these; docs/method.md explains them).
ASSUMPTIONS = (
    "Roofline: time = max(compute, memory) + tensor-parallel communication + fixed overheads, per forward pass (docs/method.md).",
    "Peaks are dense (no sparsity); achievable fractions of peak come from the hardware profile's efficiency block.",
    "Static batch: every sequence has the same prompt and output length; the prompt is prefilled once, then one decode step per output token.",
    "batch 'max': the largest batch whose KV cache fits memory, run as an offline max-throughput job (prefill chunks share the device with decodes).",
    "Quantized weights keep the embedding and LM head in 16 bit; int4 is W4A16 (group 128), fp4 is NVFP4.",
    "Energy assumes every device draws its rated power for the whole run; cost uses the profile's hourly price.",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """Serving-engine limits that shape what the hardware can run (defaults follow vLLM / TensorRT-LLM).

    max_batch: largest number of sequences decoded together.
    max_tokens_per_pass: tokens in one prefill chunk (vLLM ``max_num_batched_tokens``; TensorRT-LLM
        ``max_num_tokens``, default 8192); sizes the activation workspace.
    """

    max_batch: int = 1024
    max_tokens_per_pass: int = 8192


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One deployment question: which model, on what, how split, at what precision and load."""

    model: ModelProfile
    hardware: HardwareProfile
    tp: int = 1
    pp: int = 1
    replicas: int = 1
    weight_precision: Precision
    kv_precision: Precision
    batch: int | None  # None = the largest batch that fits (offline max-throughput run)
    prompt_tokens: int
    output_tokens: int
    engine: Engine = field(default_factory=Engine)

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.replicas


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseCost:
    """Seconds of one phase (prefill, or one decode step) split into its parts, and what bounds it."""

    compute_s: float
    memory_s: float
    communication_s: float
    overhead_s: float
    flops: float
    bytes: float

    @property
    def time_s(self) -> float:
        """Seconds of the phase; element-wise when the parts are arrays (the optimizer sweeps batch)."""
        if isinstance(self.compute_s, np.ndarray) or isinstance(self.memory_s, np.ndarray):
            return np.maximum(self.compute_s, self.memory_s) + self.communication_s + self.overhead_s
        return max(self.compute_s, self.memory_s) + self.communication_s + self.overhead_s

    @property
    def bound(self) -> str:
        parts = {"compute": self.compute_s, "memory": self.memory_s, "communication": self.communication_s}
        return max(parts, key=parts.__getitem__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryUse:
    """Bytes per device."""

    weights: float
    kv_cache: float
    activations: float
    reserve: float
    capacity: float

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.activations + self.reserve

    @property
    def fits(self) -> bool:
        return self.total <= self.capacity

    @property
    def shortfall(self) -> float:
        return max(0.0, self.total - self.capacity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """What one scenario costs."""

    scenario: Scenario
    batch: int
    max_batch: int
    prefill: PhaseCost
    decode_step: PhaseCost  # at the mean context of the decode phase
    ttft_s: float
    tpot_s: float
    e2e_latency_s: float
    output_tokens_per_s: float  # whole deployment (all replicas)
    total_tokens_per_s: float
    memory: MemoryUse
    energy_j_per_output_token: float
    cost_usd_per_million_output_tokens: float | None
    compute_precision: str
    mode: str  # "static" or "max-throughput"
    warnings: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        return self.memory.fits


# ---------------------------------------------------------------------------------------------
# Memory


def weight_bytes(model: ModelProfile, weights: Precision) -> float:
    """Bytes of all weights held. Quantized formats keep the embedding and LM head in 16 bit (AWQ, GPTQ, FP8 recipes)."""
    embed = model.embedding_params + (0 if model.tied_embeddings else model.lm_head_params)
    body = model.total_params - embed
    return body * weights.bytes_per_value + embed * max(2.0, weights.bytes_per_value)


def _kv_shard(model: ModelProfile, tp: int) -> float:
    """Fraction of one sequence's KV cache held by one tensor-parallel rank.

    KV heads are split across ranks but replicated when tp > n_kv_heads; the MLA latent is replicated.
    """
    if model.mla is not None:
        return 1.0
    return math.ceil(model.n_kv_heads / tp) / model.n_kv_heads if tp <= model.n_kv_heads else 1.0 / model.n_kv_heads


def activation_bytes(model: ModelProfile, tokens_per_pass: int, tp: int) -> float:
    """Peak activation workspace of one pass: hidden states, MLP intermediates and logits (16 bit)."""
    ffn = (model.moe.expert_intermediate_size * model.moe.n_active) if model.moe else model.intermediate_size
    per_token = 4 * model.hidden_size + 2 * ffn / tp + model.vocab_size / tp
    return tokens_per_pass * per_token * ACTIVATION_BYTES_PER_VALUE


def memory_use(s: Scenario, batch: int) -> MemoryUse:
    """Bytes per device at ``batch`` sequences of ``prompt + output`` tokens."""
    shards = s.tp * s.pp
    hw = s.hardware
    kv = batch * s.model.kv_cache_bytes(s.prompt_tokens + s.output_tokens, s.kv_precision.bytes_per_value)
    tokens_per_pass = min(batch * s.prompt_tokens, max(s.engine.max_tokens_per_pass, batch))
    return MemoryUse(
        weights=weight_bytes(s.model, s.weight_precision) / shards,
        kv_cache=kv * _kv_shard(s.model, s.tp) / s.pp,
        activations=activation_bytes(s.model, tokens_per_pass, s.tp),
        reserve=hw.memory_reserve_bytes + (1.0 - hw.usable_memory_fraction) * hw.memory_capacity_bytes,
        capacity=hw.memory_capacity_bytes,
    )


def max_batch(s: Scenario) -> int:
    """Largest batch whose weights, KV cache, activations and reserve fit every device (0 if none)."""
    per_seq = memory_use(s, 1).kv_cache
    free = s.hardware.memory_capacity_bytes - memory_use(s, 0).total
    if per_seq <= 0:
        return s.engine.max_batch
    guess = int(max(0.0, free) // per_seq)
    guess = min(guess, s.engine.max_batch)
    if guess == 0 or memory_use(s, guess).fits:
        return guess
    # Activations grow a little with batch, so the KV-only guess can be a few too many: memory use rises
    # with batch, so bisect for the largest batch that fits.
    lo, hi = 0, guess - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if memory_use(s, mid).fits:
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---------------------------------------------------------------------------------------------
# Time


def _experts_touched(model: ModelProfile, tokens: float) -> float:
    """Expected distinct routed experts a layer reads for ``tokens`` tokens under uniform routing."""
    m = model.moe
    if m is None:
        return 0.0
    return m.n_experts * (1.0 - (1.0 - m.n_active / m.n_experts) ** tokens)


def _weight_bytes_read(model: ModelProfile, weights: Precision, tokens: float) -> float:
    """Weight bytes streamed by one pass over ``tokens`` tokens (MoE reads only the experts routed to)."""
    embedding_table = 0.0 if model.tied_embeddings else model.embedding_params * max(2.0, weights.bytes_per_value)
    held = weight_bytes(model, weights) - embedding_table  # the input embedding is a row lookup, not a stream
    if model.moe is None:
        return held
    unread_experts = model.moe.n_experts - _experts_touched(model, tokens)
    return held - model.n_moe_layers * unread_experts * model.expert_params_per_layer() * weights.bytes_per_value


def compute_efficiency(hw: HardwareProfile, tokens: float) -> float:
    """Achieved fraction of peak for matmuls with ``tokens`` rows."""
    eff = hw.efficiency
    return eff.compute * tokens / (tokens + eff.compute_half_tokens)


def _communication_s(s: Scenario, tokens: float) -> float:
    """Tensor-parallel all-reduces (two per layer) and pipeline hand-offs for one pass of ``tokens`` tokens."""
    hw, model = s.hardware, s.model
    eff = hw.efficiency
    message = tokens * model.hidden_size * COMM_BYTES_PER_VALUE
    seconds = 0.0
    if s.tp > 1:
        link = hw.intra_node_bandwidth_bytes_per_s if s.tp <= hw.devices_per_node else hw.inter_node_bandwidth_bytes_per_s
        ring = 2.0 * (s.tp - 1) / s.tp * message / (link * eff.interconnect)
        seconds += model.n_blocks * (ring + eff.collective_latency_s)  # one all-reduce per attention/MLP block
    if s.pp > 1:
        link = hw.intra_node_bandwidth_bytes_per_s if s.tp * s.pp <= hw.devices_per_node else hw.inter_node_bandwidth_bytes_per_s
        seconds += (s.pp - 1) * (message / (link * eff.interconnect) + eff.collective_latency_s)
    return seconds


def forward_pass(s: Scenario, *, batch: float, new_tokens: float, context_tokens: float) -> PhaseCost:
    """Cost of one forward pass: ``batch`` sequences each adding ``new_tokens`` after ``context_tokens`` cached ones.

    Work is divided over tp·pp devices; pipeline stages run one after another for one batch, so the
    pass takes the per-device time of all stages summed (= total work / tp).
    """
    model, hw = s.model, s.hardware
    tokens = batch * new_tokens
    # Attention over the cache, averaged over the new tokens (causal: positions context .. context+new).
    mean_context = context_tokens + (new_tokens - 1) / 2.0
    flops = tokens * model.flops_per_token(mean_context)
    peak, used = hw.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)
    compute_s = flops / s.tp / (peak * compute_efficiency(hw, tokens / s.pp if s.pp > 1 else tokens))

    bandwidth = hw.memory_bandwidth_bytes_per_s * hw.efficiency.memory_bandwidth
    weights_read = _weight_bytes_read(model, s.weight_precision, tokens)
    weight_bw = bandwidth * (hw.efficiency.dequant_bandwidth if s.weight_precision.weight_only_dequant or used != s.weight_precision.compute else 1.0)
    kv_read = batch * model.kv_cache_bytes(context_tokens, s.kv_precision.bytes_per_value) * _kv_shard(model, s.tp) * s.tp
    # Each new token appends its K/V; a Mamba / linear-attention state is rewritten once per sequence per pass.
    kv_bpv = s.kv_precision.bytes_per_value
    kv_written = (tokens * model.kv_cache_bytes_per_token(kv_bpv) + batch * model.recurrent_state_bytes(kv_bpv)) * _kv_shard(model, s.tp) * s.tp
    memory_s = (weights_read / weight_bw + (kv_read + kv_written) / bandwidth) / s.tp
    overhead_s = hw.efficiency.step_overhead_s + hw.efficiency.layer_overhead_s * model.n_layers
    return PhaseCost(
        compute_s=compute_s,
        memory_s=memory_s,
        communication_s=_communication_s(s, tokens),
        overhead_s=overhead_s,
        flops=flops,
        bytes=weights_read + kv_read + kv_written,
    )


def decode_step(s: Scenario, batch: int) -> PhaseCost:
    """Mean decode step over the output: Simpson's rule over the growing context (step time is piecewise linear in it)."""
    p, o = s.prompt_tokens, s.output_tokens
    points = [(p, 1.0), (p + o / 2.0, 4.0), (p + o, 1.0)]
    costs = [forward_pass(s, batch=batch, new_tokens=1, context_tokens=c) for c, _ in points]
    w = [wt / 6.0 for _, wt in points]
    mean = lambda attr: sum(wi * getattr(c, attr) for wi, c in zip(w, costs))  # noqa: E731
    return PhaseCost(
        compute_s=mean("compute_s"),
        memory_s=mean("memory_s"),
        communication_s=mean("communication_s"),
        overhead_s=mean("overhead_s"),
        flops=mean("flops"),
        bytes=mean("bytes"),
    )


def prefill(s: Scenario, batch: int) -> PhaseCost:
    """Prefill of ``batch`` prompts, run in chunks of at most ``engine.max_tokens_per_pass`` tokens (or one prompt)."""
    total = batch * s.prompt_tokens
    chunk = max(s.engine.max_tokens_per_pass, s.prompt_tokens)
    # Fractional chunks: the last partial chunk rides along with other work (chunked prefill), so
    # prefill time grows smoothly with the batch instead of jumping at chunk boundaries.
    n_chunks = max(1.0, total / chunk)
    per_chunk_batch = batch / n_chunks
    one = forward_pass(s, batch=per_chunk_batch, new_tokens=s.prompt_tokens, context_tokens=0)
    return PhaseCost(
        compute_s=one.compute_s * n_chunks,
        memory_s=one.memory_s * n_chunks,
        communication_s=one.communication_s * n_chunks,
        overhead_s=one.overhead_s * n_chunks,
        flops=one.flops * n_chunks,
        bytes=one.bytes * n_chunks,
    )


# ---------------------------------------------------------------------------------------------
# Putting it together


def validate(s: Scenario) -> None:
    """Raise InputError for scenarios that cannot be evaluated (not for ones that do not fit)."""
    for name, value in (("tp", s.tp), ("pp", s.pp), ("replicas", s.replicas)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if s.batch is not None and (not isinstance(s.batch, int) or s.batch < 1):
        raise InputError(f"batch must be a whole number ≥ 1 or 'max', got {s.batch!r}")
    for name, value in (("prompt_tokens", s.prompt_tokens), ("output_tokens", s.output_tokens)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a whole number ≥ 1, got {value!r}")
        if value > MAX_TOKENS:
            raise InputError(f"{name} = {value} is absurd (more than {MAX_TOKENS:,} tokens)")
    m, hw = s.model, s.hardware
    if m.n_heads % s.tp:
        raise InputError(f"tp = {s.tp} must divide the number of attention heads of {m.id} ({m.n_heads})")
    if s.pp > m.n_layers:
        raise InputError(f"pp = {s.pp} exceeds the number of layers of {m.id} ({m.n_layers})")
    group = s.tp * s.pp
    if group > hw.devices_per_node and hw.inter_node_bandwidth_bytes_per_s <= 0:
        raise InputError(
            f"tp·pp = {group} needs more than one {hw.id} node ({hw.devices_per_node} per node) "
            "and the profile has no inter-node bandwidth"
        )
    if group > 1 and hw.intra_node_bandwidth_bytes_per_s <= 0 and hw.inter_node_bandwidth_bytes_per_s <= 0:
        raise InputError(f"{hw.id} has no interconnect in its profile: tp and pp must be 1")


def scenario_warnings(s: Scenario) -> tuple[str, ...]:
    """Things a user should know that do not stop the estimate."""
    notes = []
    context = s.prompt_tokens + s.output_tokens
    if context > s.model.max_context:
        notes.append(f"prompt + output = {context:,} tokens exceeds the context window of {s.model.id} ({s.model.max_context:,})")
    used = s.hardware.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)[1]
    if used != s.weight_precision.compute and s.weight_precision.compute not in ("fp16",):
        notes.append(f"{s.hardware.id} has no {s.weight_precision.compute} units: {s.weight_precision.name} weights are dequantised and multiplied at {used}")
    return tuple(notes)


def estimate(s: Scenario) -> Estimate:
    """Evaluate one scenario: static batch if ``s.batch`` is set, else an offline max-throughput run."""
    validate(s)
    limit = max_batch(s)
    if s.batch is None:
        batch, mode = max(limit, 1), "max-throughput"
    else:
        batch, mode = s.batch, "static"
    pre = prefill(s, batch)
    step = decode_step(s, batch)
    ttft = pre.time_s if mode == "static" else forward_pass(s, batch=1, new_tokens=s.prompt_tokens, context_tokens=0).time_s
    tpot = step.time_s
    # Static: one prefill of the batch, then output-1 further steps (the prefill yields the first token).
    # Max-throughput: each slot's prompt is prefilled in chunks that share the device with decodes.
    busy = pre.time_s + (s.output_tokens - (1 if mode == "static" else 0)) * tpot
    e2e = ttft + (s.output_tokens - 1) * tpot if mode == "max-throughput" else busy
    out_rate = batch * s.output_tokens / busy * s.replicas
    total_rate = batch * (s.prompt_tokens + s.output_tokens) / busy * s.replicas
    hw = s.hardware
    device_seconds_per_token = s.devices / out_rate
    price = hw.price_usd_per_hour
    memory = memory_use(s, batch)
    notes = scenario_warnings(s)
    if not memory.fits:
        notes += (f"{s.model.id} does not fit on {hw.id} at this setting: short by {memory.shortfall / 1e9:.1f} GB per device",)
    return Estimate(
        scenario=s,
        batch=batch,
        max_batch=limit,
        prefill=pre,
        decode_step=step,
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_latency_s=e2e,
        output_tokens_per_s=out_rate,
        total_tokens_per_s=total_rate,
        memory=memory,
        energy_j_per_output_token=hw.power_w * device_seconds_per_token,
        cost_usd_per_million_output_tokens=None if price is None else price / 3600.0 * device_seconds_per_token * 1e6,
        compute_precision=hw.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)[1],
        mode=mode,
        warnings=notes,
    )


def default_kv_precision(weights: Precision) -> Precision:
    """KV cache format when none is given: fp8 with fp8/fp4 weights (TensorRT-LLM recipes), else 16 bit."""
    if weights.name in ("fp8", "fp4"):
        return lookup_precision("fp8")
    return lookup_precision("fp16" if weights.name == "fp16" else "bf16")
