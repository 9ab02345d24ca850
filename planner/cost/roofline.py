"""Roofline cost model: hardware × model × precision × batch × context × parallelism × engine → time, memory, bound.

Time of one forward pass on one device (Williams et al. 2009 roofline; Pope et al. 2022 §2-3 for
transformer inference; Kaplan et al. 2020 Table 1 for FLOPs per token)::

    t_pass = max(t_compute, t_memory) + t_comm + t_overhead

    t_compute  = matmuls: min(tensor tiles, GEMV) at the precision's own efficiency (see below) + attention
    t_comm     = tensor-parallel all-reduces (2 per layer) + expert-parallel all-to-alls (2 per MoE layer)
                 + pipeline hand-offs; each collective = steps · step latency (engine, per link kind)
                 + bytes per rank / (link bandwidth · interconnect efficiency)
    t_overhead = engine step overhead + engine layer overhead · n_layers

Matmuls of ``m`` rows run either on tensor tiles, ``flops / (peak · compute_p · m / (m + half_p))``
(under-filled tiles at small m), or, when that is faster, as GEMV on the vector units at their
peak (``fp32`` peak), which is how engines run batch-1 decode: the weight stream, not a tile, bounds it.
Prefill runs the prompt in passes of at most the engine's ``max_num_tokens``; decode runs one pass
per output token. Every efficiency factor is a field of the hardware profile, every fixed cost a
field of the engine profile (both calibrated by ``bench/calibrate.py``). All quantities are SI.
Functions of one pass accept numpy arrays for ``batch``, ``new_tokens`` and ``context_tokens``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from planner.domain import BARE_ENGINE_ID, Engine, HardwareProfile, ModelProfile, Precision
from planner.domain import precision as lookup_precision
from planner.errors import InputError

# Bytes per value of collective messages (all-reduce, all-to-all): engines move activations in 16 bit.
COMM_BYTES_PER_VALUE = 2.0
# Activations and logits are held in 16 bit.
ACTIVATION_BYTES_PER_VALUE = 2.0
MAX_TOKENS = 10_000_000

# What every roofline estimate assumes (reports print these; docs/method.md explains them).
ASSUMPTIONS = (
    "Roofline: time = max(compute, memory) + collectives (tensor/expert parallel) + the engine's fixed overheads, per forward pass (docs/method.md).",
    "Peaks are dense (no sparsity); achievable fractions of peak (per precision) come from the hardware profile's efficiency block.",
    "Static batch: every sequence has the same prompt and output length; the prompt is prefilled once, then one decode step per output token.",
    "batch 'max': the largest batch that fits memory and the engine's max batch, run as one offline job (prompts prefilled in turn, then "
    "decoded together); TTFT is what a request of that run sees, 'TTFT idle' one prompt alone.",
    "Quantized weights keep the embedding and LM head in 16 bit; int4 is W4A16 (group 128), fp4 is NVFP4.",
    "Energy: each device draws idle + (rated − idle) × utilisation (the busier of compute and memory, per phase); cost uses the profile's hourly price.",
    "Bands: p10–p90 of measured/predicted time over the calibration rows of the estimate's regime (batch-1 or batched, single or "
    "multi-device, datacenter or edge); they say how far comparable published measurements strayed, not a guarantee.",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One deployment question: which model, on what, how split, at what precision and load, under which engine.

    Parallelism of one replica: ``tp`` tensor-parallel ranks per attention group, ``attention_dp``
    attention groups that split the batch (data-parallel attention; MoE only), ``ep`` expert-parallel
    ranks over which the routed experts are sharded (a divisor of tp · attention_dp), ``pp`` stages.
    ``engine`` defaults to a bare engine: no fixed overheads and latency-free collectives (a bare roofline).
    """

    model: ModelProfile
    hardware: HardwareProfile
    tp: int = 1
    pp: int = 1
    ep: int = 1
    attention_dp: int = 1
    replicas: int = 1
    weight_precision: Precision
    kv_precision: Precision
    batch: int | None  # None = the largest batch that fits (offline max-throughput run)
    prompt_tokens: int
    output_tokens: int
    engine: Engine = field(default_factory=Engine)  # default: a bare engine (no fixed costs, latency-free collectives)

    @property
    def group(self) -> int:
        """Devices of one pipeline stage of one replica (attention groups × tensor ranks)."""
        return self.tp * self.attention_dp

    @property
    def devices(self) -> int:
        return self.group * self.pp * self.replicas

    @property
    def max_batch_limit(self) -> int:
        return self.engine.max_batch

    @property
    def max_num_tokens(self) -> int:
        return self.engine.max_num_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseCost:
    """Seconds of one phase (prefill, or one decode step) split into its parts, and what bounds it.

    Fields are floats, or numpy arrays when the pass was evaluated over arrays.
    """

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
        parts = {"compute": float(self.compute_s), "memory": float(self.memory_s), "communication": float(self.communication_s),
                 "overhead": float(self.overhead_s)}
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
    ttft_s: float  # as a request of this run sees it
    ttft_idle_s: float  # one prompt alone on an idle deployment
    tpot_s: float
    e2e_latency_s: float
    output_tokens_per_s: float  # whole deployment (all replicas)
    total_tokens_per_s: float
    memory: MemoryUse
    energy_j_per_output_token: float
    mean_power_w: float  # per device, over the run
    cost_usd_per_million_output_tokens: float | None
    compute_precision: str
    mode: str  # "static" or "max-throughput"
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

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


def routed_expert_bytes(model: ModelProfile, weights: Precision) -> float:
    """Bytes of every routed expert of every MoE layer (what expert parallelism shards); 0 for dense models."""
    if model.moe is None:
        return 0.0
    return model.n_moe_layers * model.moe.n_experts * model.expert_params_per_layer() * weights.bytes_per_value


def _kv_shard(model: ModelProfile, tp: int) -> float:
    """Fraction of one sequence's KV cache held by one tensor-parallel rank.

    KV heads are split across ranks but replicated when tp > n_kv_heads; the MLA latent is replicated.
    """
    if model.mla is not None:
        return 1.0
    return math.ceil(model.n_kv_heads / tp) / model.n_kv_heads if tp <= model.n_kv_heads else 1.0 / model.n_kv_heads


def activation_bytes(model: ModelProfile, tokens_per_pass: float, tp: int) -> float:
    """Peak activation workspace of one pass: hidden states, MLP intermediates and logits (16 bit)."""
    ffn = (model.moe.expert_intermediate_size * model.moe.n_active) if model.moe else model.intermediate_size
    per_token = 4 * model.hidden_size + 2 * ffn / tp + model.vocab_size / tp
    return tokens_per_pass * per_token * ACTIVATION_BYTES_PER_VALUE


def memory_use(s: Scenario, batch: int) -> MemoryUse:
    """Bytes per device at ``batch`` sequences (per replica) of ``prompt + output`` tokens.

    Routed experts are sharded over every device of a stage (ep experts-ways × the rest tensor-wise);
    everything else (attention, dense MLP, shared experts, embeddings) over the tp ranks of an
    attention group, and replicated across attention groups. Each attention group holds the KV cache
    of its share of the batch.
    """
    hw = s.hardware
    experts = routed_expert_bytes(s.model, s.weight_precision)
    rest = weight_bytes(s.model, s.weight_precision) - experts
    per_group_batch = batch / s.attention_dp
    kv = per_group_batch * s.model.kv_cache_bytes(s.prompt_tokens + s.output_tokens, s.kv_precision.bytes_per_value)
    tokens_per_pass = min(per_group_batch * s.prompt_tokens, max(s.max_num_tokens, per_group_batch))
    return MemoryUse(
        weights=(rest / s.tp + experts / s.group) / s.pp,
        kv_cache=kv * _kv_shard(s.model, s.tp) / s.pp,
        activations=activation_bytes(s.model, tokens_per_pass, s.tp),
        reserve=hw.memory_reserve_bytes + (1.0 - hw.usable_memory_fraction) * hw.memory_capacity_bytes,
        capacity=hw.memory_capacity_bytes,
    )


def max_batch(s: Scenario) -> int:
    """Largest batch (per replica) whose weights, KV cache, activations and reserve fit every device (0 if none)."""
    per_seq = memory_use(s, 1).kv_cache - memory_use(s, 0).kv_cache
    free = s.hardware.memory_capacity_bytes - memory_use(s, 0).total
    if per_seq <= 0:
        return s.max_batch_limit
    guess = int(max(0.0, free) // per_seq)
    guess = min(guess, s.max_batch_limit)
    if guess == 0 or memory_use(s, guess).fits:
        return guess
    # Activations grow a little with batch, so the KV-only guess can be too many; memory use rises with
    # batch, so bisect for the largest batch that fits (the optimizer calls this thousands of times).
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


def _experts_touched(model: ModelProfile, tokens):
    """Expected distinct routed experts a layer reads for ``tokens`` tokens under uniform routing."""
    m = model.moe
    if m is None:
        return 0.0
    return m.n_experts * (1.0 - (1.0 - m.n_active / m.n_experts) ** tokens)


def _routed_matmul_params(model: ModelProfile) -> float:
    """Routed-expert parameters multiplied per token (n_active experts in every MoE layer)."""
    if model.moe is None:
        return 0.0
    return float(model.n_moe_layers * model.moe.n_active * model.expert_params_per_layer())


def uses_dequant(s: Scenario) -> bool:
    """Whether weights are read through a dequantising kernel (weight-only formats; formats the device cannot multiply).

    A 16-bit float run at the other 16-bit float's rate (bf16 on a device with fp16 units only) is
    converted once at load: same bytes, no dequantisation.
    """
    w = s.weight_precision
    used = s.hardware.peak_flops_for(w.compute, w.compute_fallback)[1]
    return w.weight_only_dequant or (used != w.compute and w.bytes_per_value < 2.0)


def matmul_seconds(hw: HardwareProfile, flops, rows, compute_key: str):
    """Seconds for matmuls of ``flops`` FLOPs with ``rows`` rows (tokens) each, on one device.

    Tensor tiles reach ``compute_p · m / (m + half_p)`` of the precision's peak (under-filled tiles at
    small m; the H100 run in bench/gpu/results shows half-saturation near 200 rows for bf16); an engine
    runs small-m matmuls as GEMV on the vector units when that is faster (peak ``fp32``), so batch-1
    decode has no compute floor from tile under-fill.
    """
    peak, used = hw.peak_flops_for(compute_key, "fp16")
    eff = hw.efficiency.compute_for(used)
    half = hw.efficiency.half_tokens_for(used)
    rows = np.maximum(rows, 1e-9)
    tensor = flops / (peak * eff) * (rows + half) / rows
    vector_peak = hw.peak_flops.get("fp32") or peak
    gemv = flops / (vector_peak * eff)
    return np.minimum(tensor, gemv)


def _link(s: Scenario, devices: int) -> tuple[str, float]:
    """(link kind, bandwidth per device per direction) for a collective over ``devices`` devices of one replica."""
    hw = s.hardware
    if devices <= hw.devices_per_node:
        return hw.intra_node_link, hw.intra_node_bandwidth_bytes_per_s
    return "network", hw.inter_node_bandwidth_bytes_per_s


def _step_latency(s: Scenario, kind: str) -> float:
    return s.engine.allreduce_step_latency_s.get(kind, 0.0)


def allreduce_seconds(s: Scenario, ranks: int, message_bytes, span: int | None = None):
    """One all-reduce of ``message_bytes`` per rank over ``ranks`` ranks (Thakur et al. 2005 α-β model).

    steps · step latency (the engine's, per link kind) + traffic factor · message / (link · interconnect),
    with ring 2(p-1) steps and 2(p-1)/p traffic (Patarasuk and Yuan 2009), tree 2·log2 p steps,
    one-shot 1 step and p-1 traffic, two-shot 2 steps and 2(p-1)/p traffic (custom all-reduce kernels);
    of the engine's algorithms for the link the faster one for this message is taken. ``span`` = devices the group spans
    (picks the link; default ``ranks``).
    """
    if ranks <= 1:
        return 0.0 * message_bytes
    kind, bw = _link(s, span or ranks)
    latency, link_bw = _step_latency(s, kind), bw * s.hardware.efficiency.interconnect
    times = [Engine.allreduce_steps(a, ranks) * latency + Engine.allreduce_traffic_factor(a, ranks) * message_bytes / link_bw
             for a in s.engine.allreduce_algorithm[kind]]
    out = times[0]
    for t in times[1:]:  # the engine picks the faster algorithm for the message size
        out = np.minimum(out, t)
    return out


def alltoall_seconds(s: Scenario, ranks: int, bytes_out_per_rank, span: int | None = None):
    """One all-to-all in which each rank sends ``bytes_out_per_rank`` to the others (one step: direct sends)."""
    if ranks <= 1:
        return 0.0 * bytes_out_per_rank
    kind, bw = _link(s, span or ranks)
    return _step_latency(s, kind) + bytes_out_per_rank / (bw * s.hardware.efficiency.interconnect)


def _communication_s(s: Scenario, tokens):
    """Collectives of one pass of ``tokens`` tokens (per replica) on one device.

    Tensor parallelism: an all-reduce of the attention output in every layer, and of the MLP output in
    dense layers (and MoE layers without expert parallelism) (Megatron-LM, Shoeybi et al. 2019 §3).
    Expert parallelism: dispatch and combine all-to-alls in every MoE layer (GShard, Lepikhin et al.
    2020 §2; DeepSeek-V3 report §3.4): each token's hidden state goes to the ranks of its n_active
    experts, the (ep-1)/ep of them that are remote, and comes back; experts split further tensor-wise
    over group/ep ranks add an all-reduce. Pipeline stages pass the hidden states on.
    """
    model = s.model
    h_bytes = model.hidden_size * COMM_BYTES_PER_VALUE
    group_tokens = tokens / s.attention_dp
    seconds = 0.0 * tokens
    moe_layers = model.n_moe_layers if s.ep > 1 else 0
    if s.tp > 1:
        per = allreduce_seconds(s, s.tp, group_tokens * h_bytes, span=s.group)
        # one all-reduce per attention/MLP block (model.n_blocks), less the MoE blocks that expert parallelism combines
        seconds = seconds + (model.n_blocks - moe_layers) * per
    if moe_layers:
        k = model.moe.n_active
        sent = tokens / s.group * k * h_bytes * (s.ep - 1) / s.ep
        seconds = seconds + 2 * moe_layers * alltoall_seconds(s, s.ep, sent, span=s.group)
        expert_tp = s.group // s.ep
        if expert_tp > 1:
            seconds = seconds + moe_layers * allreduce_seconds(s, expert_tp, tokens / s.ep * k * h_bytes, span=s.group)
    if s.pp > 1:
        kind, bw = _link(s, s.group * s.pp)
        hop = _step_latency(s, kind) + group_tokens * h_bytes / (bw * s.hardware.efficiency.interconnect)
        seconds = seconds + (s.pp - 1) * hop
    return seconds


def forward_pass(s: Scenario, *, batch, new_tokens, context_tokens) -> PhaseCost:
    """Cost of one forward pass: ``batch`` sequences (per replica) each adding ``new_tokens`` after ``context_tokens`` cached ones.

    Work is divided over the devices of a stage; pipeline stages run one after another for one batch,
    so the pass takes the per-device time of all stages summed. Accepts numpy arrays.
    """
    model, hw = s.model, s.hardware
    w = s.weight_precision
    tokens = batch * new_tokens
    group_tokens = tokens / s.attention_dp
    # Attention over the cache, averaged over the new tokens (causal: positions context .. context+new).
    mean_context = context_tokens + (new_tokens - 1) / 2.0
    attention_flops = tokens * model.attention_flops_per_token(mean_context)
    routed = _routed_matmul_params(model)
    dense_flops = 2.0 * (model.active_matmul_params - routed) * tokens
    expert_flops = 2.0 * routed * tokens
    flops = dense_flops + expert_flops + attention_flops
    compute_key = w.compute
    # Per device: the dense side runs the group's tokens split tp-ways; experts see every token of the
    # stage, split over all its devices (each expert's matmul has about tokens·k/E rows).
    rows_dense = group_tokens / s.pp if s.pp > 1 else group_tokens
    rows_expert = tokens * model.moe.n_active / model.moe.n_experts if model.moe else rows_dense
    compute_s = (
        matmul_seconds(hw, dense_flops / s.attention_dp / s.tp, rows_dense, compute_key)
        + matmul_seconds(hw, expert_flops / s.group, np.maximum(rows_expert, 1.0), compute_key)
        + matmul_seconds(hw, attention_flops / s.attention_dp / s.tp, np.maximum(new_tokens, 1.0), "bf16" if compute_key in ("fp4", "int4") else compute_key)
    )

    bandwidth = hw.memory_bandwidth_bytes_per_s * hw.efficiency.memory_bandwidth
    weight_bw = bandwidth * (hw.efficiency.dequant_bandwidth if uses_dequant(s) else 1.0)
    embedding_table = 0.0 if model.tied_embeddings else model.embedding_params * max(2.0, w.bytes_per_value)
    experts_held = routed_expert_bytes(model, w)
    rest = weight_bytes(model, w) - embedding_table - experts_held  # the input embedding is a row lookup, not a stream
    if model.moe is not None:
        touched = _experts_touched(model, tokens)
        experts_read = model.n_moe_layers * touched * model.expert_params_per_layer() * w.bytes_per_value
    else:
        experts_read = 0.0 * tokens
    kv_b = s.kv_precision.bytes_per_value
    shard = _kv_shard(model, s.tp)
    kv_read = batch * model.kv_cache_bytes(context_tokens, kv_b)
    # Each new token appends its K/V; a Mamba / linear-attention state is rewritten once per sequence per pass.
    kv_written = tokens * model.kv_cache_bytes_per_token(kv_b) + batch * model.recurrent_state_bytes(kv_b)
    memory_s = (rest / s.tp + experts_read / s.group) / weight_bw + (kv_read + kv_written) / s.attention_dp * shard / bandwidth
    overhead_s = s.engine.step_overhead_s + s.engine.layer_overhead_s * model.n_layers
    return PhaseCost(
        compute_s=compute_s,
        memory_s=memory_s,
        communication_s=_communication_s(s, tokens),
        overhead_s=overhead_s + 0.0 * tokens,
        flops=flops,
        bytes=rest + experts_read + kv_read + kv_written,
    )


def decode_step(s: Scenario, batch) -> PhaseCost:
    """Mean decode step over the output: Simpson's rule over the growing context (step time is piecewise linear in it)."""
    p, o = s.prompt_tokens, s.output_tokens
    points = [(p, 1.0), (p + o / 2.0, 4.0), (p + o, 1.0)]
    costs = [forward_pass(s, batch=batch, new_tokens=1, context_tokens=c) for c, _ in points]
    w = [wt / 6.0 for _, wt in points]

    def mean(attr: str):
        return sum(wi * getattr(c, attr) for wi, c in zip(w, costs))

    return PhaseCost(
        compute_s=mean("compute_s"),
        memory_s=mean("memory_s"),
        communication_s=mean("communication_s"),
        overhead_s=mean("overhead_s"),
        flops=mean("flops"),
        bytes=mean("bytes"),
    )


def prefill(s: Scenario, batch) -> PhaseCost:
    """Prefill of ``batch`` prompts, run in passes of at most the engine's ``max_num_tokens`` tokens (or one prompt)."""
    total = batch * s.prompt_tokens
    chunk = max(s.max_num_tokens, s.prompt_tokens)
    # Fractional passes: the last partial pass rides along with other work (chunked prefill), so
    # prefill time grows smoothly with the batch instead of jumping at pass boundaries.
    n_chunks = np.maximum(1.0, total / chunk)
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


def working_layouts(model: ModelProfile, limit: int = 64) -> str:
    """Tensor-parallel degrees (and, for MoE, attention-DP × EP layouts) that a model accepts, for error messages."""
    tps = [t for t in range(1, min(model.n_heads, limit) + 1) if model.n_heads % t == 0]
    text = f"tp ∈ {{{', '.join(str(t) for t in tps)}}} (with any pp ≤ {model.n_layers})"
    if model.moe is not None:
        text += "; or attention data parallelism, e.g. --tp 1 --attention-dp 8 --ep 8, with ep dividing tp × attention_dp"
    return text


def validate(s: Scenario) -> None:
    """Raise InputError for scenarios that cannot be evaluated (not for ones that do not fit)."""
    for name, value in (("tp", s.tp), ("pp", s.pp), ("ep", s.ep), ("attention_dp", s.attention_dp), ("replicas", s.replicas)):
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
        raise InputError(f"tp = {s.tp} must divide the {m.n_heads} attention heads of {m.id}; layouts that work: {working_layouts(m)}")
    if m.moe is None and (s.ep > 1 or s.attention_dp > 1):
        raise InputError(f"{m.id} is a dense model: ep and attention_dp apply to mixture-of-experts models; use --replicas for data parallelism")
    if m.moe is not None:
        if s.group % s.ep:
            raise InputError(f"ep = {s.ep} must divide tp × attention_dp = {s.group} (experts are sharded over the devices of a stage)")
        if s.ep > m.moe.n_experts:
            raise InputError(f"ep = {s.ep} exceeds the {m.moe.n_experts} routed experts of {m.id}")
    if s.batch is not None and s.batch < s.attention_dp:
        raise InputError(f"batch = {s.batch} is smaller than attention_dp = {s.attention_dp}: every attention group needs a sequence")
    if s.pp > m.n_layers:
        raise InputError(f"pp = {s.pp} exceeds the number of layers of {m.id} ({m.n_layers})")
    span = s.group * s.pp
    if span > hw.devices_per_node and hw.inter_node_bandwidth_bytes_per_s <= 0:
        raise InputError(
            f"tp·attention_dp·pp = {span} needs more than one {hw.id} node ({hw.devices_per_node} per node) "
            "and the profile has no inter-node bandwidth"
        )
    if span > 1 and hw.intra_node_bandwidth_bytes_per_s <= 0 and hw.inter_node_bandwidth_bytes_per_s <= 0:
        raise InputError(f"{hw.id} has no interconnect in its profile: tp, attention_dp and pp must be 1")


def scenario_warnings(s: Scenario) -> tuple[str, ...]:
    """Things a user should know that do not stop the estimate."""
    notes = []
    context = s.prompt_tokens + s.output_tokens
    if context > s.model.max_context:
        notes.append(f"prompt + output = {context:,} tokens exceeds the context window of {s.model.id} ({s.model.max_context:,})")
    w = s.weight_precision
    used = s.hardware.peak_flops_for(w.compute, w.compute_fallback)[1]
    if used != w.compute and w.compute not in ("fp16", "bf16"):
        notes.append(f"{s.hardware.id} has no {w.compute} units: {w.name} weights are dequantised and multiplied at {used}")
    if s.engine.id == BARE_ENGINE_ID:
        notes.append("no engine profile: per-step and per-layer overheads and collective latencies are not counted")
    return tuple(notes)


def scenario_assumptions(s: Scenario) -> tuple[str, ...]:
    """What this particular estimate assumed (printed with it)."""
    notes = []
    w = s.weight_precision
    used = s.hardware.peak_flops_for(w.compute, w.compute_fallback)[1]
    if used != w.compute and w.compute in ("fp16", "bf16"):
        notes.append(f"{s.hardware.id} lists no {w.compute} peak: {w.name} weights are converted to {used} at load and run at its rate (same bytes)")
    hw = s.hardware
    if hw.idle_power_w is None:
        notes.append(f"{hw.id} idle power: placeholder {IDLE_FRACTION_PLACEHOLDER * hw.power_w:,.0f} W ({IDLE_FRACTION_PLACEHOLDER:.0%} of rated "
                     f"{hw.power_w:,.0f} W; the profile publishes no idle figure): energy is indicative")
    else:
        notes.append(f"{hw.id} idle power {hw.idle_power_w:,.0f} W, rated {hw.power_w:,.0f} W ({hw.power_source or 'hardware profile'})")
    if s.ep > 1 or s.attention_dp > 1:
        notes.append(f"routed experts sharded over {s.ep} expert-parallel ranks (balanced routing); attention in {s.attention_dp} data-parallel group(s) of tp {s.tp}")
    return tuple(notes)


def regime(s: Scenario) -> tuple[str, ...]:
    """Calibration regime of a scenario: 'batch-1' or 'batched', 'single-device' or 'multi-device', 'datacenter' or 'edge'.

    The fidelity benchmark reports per regime, and an estimate's band comes from its regime's rows.
    """
    return (
        "batch-1" if (s.batch or 0) == 1 else "batched",
        "multi-device" if s.group * s.pp > 1 else "single-device",
        "datacenter" if s.hardware.device_class == "datacenter-gpu" else "edge",
    )


def utilisation(s: Scenario, phase: PhaseCost, devices_in_pass: int) -> float:
    """Busier of compute and memory as a fraction of the device's peaks over one phase (0..1)."""
    hw = s.hardware
    peak, _ = hw.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)
    t = float(phase.time_s)
    if t <= 0:
        return 0.0
    compute_u = float(phase.flops) / devices_in_pass / (peak * t)
    memory_u = float(phase.bytes) / devices_in_pass / (hw.memory_bandwidth_bytes_per_s * t)
    return min(1.0, max(compute_u, memory_u))


def device_power_w(hw: HardwareProfile, u: float) -> float:
    """Power of one device at utilisation ``u``: idle + (rated − idle) · u (a linear power model).

    Idle power comes from the profile when published, else ``IDLE_FRACTION_PLACEHOLDER`` of rated power.
    """
    idle = hw.idle_power_w if hw.idle_power_w is not None else IDLE_FRACTION_PLACEHOLDER * hw.power_w
    return idle + (hw.power_w - idle) * u


# Used when a profile publishes no idle power; a stated placeholder, reported as such.
IDLE_FRACTION_PLACEHOLDER = 0.2


def estimate(s: Scenario) -> Estimate:
    """Evaluate one scenario: static batch if ``s.batch`` is set, else an offline max-throughput run.

    Static: the batch is prefilled, then decoded together; every request sees TTFT = the batch's
    prefill. Max-throughput: the largest batch that fits runs as one offline job; its prompts are
    prefilled one after another (in passes of the engine's max_num_tokens) before decoding, so a request
    sees on average (B+1)/(2B) of the batch prefill as its TTFT; e2e is the run's busy time.
    ``ttft_idle_s`` is one prompt alone on an idle deployment (for comparison).
    """
    validate(s)
    limit = max_batch(s)
    if s.batch is None:
        batch, mode = max(limit, 1), "max-throughput"
    else:
        batch, mode = s.batch, "static"
    pre = prefill(s, batch)
    step = decode_step(s, batch)
    ttft_idle = float(prefill(s, 1).time_s) if s.attention_dp == 1 else float(prefill(s, s.attention_dp).time_s)
    pre_t = float(pre.time_s)
    tpot = float(step.time_s)
    ttft = pre_t if mode == "static" else pre_t * (batch + 1) / (2 * batch)
    busy = pre_t + (s.output_tokens - 1) * tpot
    e2e = busy
    out_rate = batch * s.output_tokens / busy * s.replicas
    total_rate = batch * (s.prompt_tokens + s.output_tokens) / busy * s.replicas
    hw = s.hardware
    per_replica = s.group * s.pp
    u_pre, u_dec = utilisation(s, pre, per_replica), utilisation(s, step, per_replica)
    energy_per_device = device_power_w(hw, u_pre) * pre_t + device_power_w(hw, u_dec) * (s.output_tokens - 1) * tpot
    mean_power = energy_per_device / busy
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
        ttft_idle_s=ttft_idle,
        tpot_s=tpot,
        e2e_latency_s=e2e,
        output_tokens_per_s=out_rate,
        total_tokens_per_s=total_rate,
        memory=memory,
        energy_j_per_output_token=mean_power * device_seconds_per_token,
        mean_power_w=mean_power,
        cost_usd_per_million_output_tokens=None if price is None else price / 3600.0 * device_seconds_per_token * 1e6,
        compute_precision=hw.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)[1],
        mode=mode,
        warnings=notes,
        assumptions=scenario_assumptions(s),
    )


def default_kv_precision(weights: Precision) -> Precision:
    """KV cache format when none is given: fp8 with fp8/fp4 weights (TensorRT-LLM recipes), else 16 bit."""
    if weights.name in ("fp8", "fp4"):
        return lookup_precision("fp8")
    return lookup_precision("fp16" if weights.name == "fp16" else "bf16")
