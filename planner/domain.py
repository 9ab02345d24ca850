"""Frozen domain types: precisions, hardware and model profiles, and what is derived from them.

All quantities are SI: bytes, seconds, FLOP/s, bytes/s, watts, USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from planner.errors import InputError, UnknownNameError

# Search-method ids used everywhere (CLI, CSV, law profiles); see docs/strategies.md.
SEARCH_METHODS: tuple[str, ...] = (
    "greedy", "majority", "best-of-n", "weighted-majority", "mcts", "rebase", "pass-at-k", "ensemble", "human-pick",
)

# ---------------------------------------------------------------------------------------------
# Precision


@dataclass(frozen=True, slots=True, kw_only=True)
class Precision:
    """A numeric format for weights, activations or the KV cache.

    ``bits`` is the storage per value including block-scale overhead
    (int4 g128 with a 16-bit scale and zero: 4 + 32/128 = 4.25 bits; NVFP4: 4 + 8/16 = 4.5 bits).
    ``compute`` is the peak-FLOPs key the matmuls run at when weights use this format;
    ``compute_fallback`` is used when the device has no such unit (e.g. fp8 on an A100 runs as
    weight-only fp8 with bf16 math, as vLLM's Marlin kernels do).
    """

    name: str
    bits: float
    compute: str
    compute_fallback: str = "fp16"
    weight_only_dequant: bool = False

    @property
    def bytes_per_value(self) -> float:
        return self.bits / 8.0


PRECISIONS: Mapping[str, Precision] = MappingProxyType(
    {
        "fp32": Precision(name="fp32", bits=32, compute="fp32", compute_fallback="fp32"),
        "bf16": Precision(name="bf16", bits=16, compute="bf16", compute_fallback="fp16"),
        "fp16": Precision(name="fp16", bits=16, compute="fp16", compute_fallback="bf16"),
        "fp8": Precision(name="fp8", bits=8, compute="fp8"),
        "int8": Precision(name="int8", bits=8, compute="int8"),
        # W4A16 (AWQ/GPTQ, group 128): 4-bit weights dequantised to 16-bit before the matmul.
        "int4": Precision(name="int4", bits=4.25, compute="fp16", weight_only_dequant=True),
        # NVFP4 (block 16, fp8 scale): W4A4 on devices with fp4 units, else weight-only.
        "fp4": Precision(name="fp4", bits=4.5, compute="fp4", weight_only_dequant=True),
        # Weight-only FP4 (NVFP4/MXFP4 weights, 16-bit activations), as several model cards publish: the
        # weights stream at 4.5 bits and are dequantised to 16-bit for the matmul on any device.
        "fp4-w4a16": Precision(name="fp4-w4a16", bits=4.5, compute="fp16", weight_only_dequant=True),
    }
)

COMPUTE_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")


def precision(name: str) -> Precision:
    """Look up a precision by name (``bf16, fp16, fp8, int8, int4, fp4, fp32``)."""
    key = name.strip().lower()
    if key not in PRECISIONS:
        raise UnknownNameError("precision", name, PRECISIONS)
    return PRECISIONS[key]


# ---------------------------------------------------------------------------------------------
# Hardware

HARDWARE_CLASSES = ("datacenter-gpu", "workstation-gpu", "consumer-gpu", "tpu", "edge-soc", "apple-soc", "phone-soc", "pc-soc")


# Kinds of link a collective runs over: a direct GPU fabric (NVLink, NVSwitch, xGMI, TPU ICI), PCIe
# (through the host's switches), or the network between nodes (InfiniBand/RoCE/DCN).
LINK_KINDS = ("fabric", "pcie", "network")


@dataclass(frozen=True, slots=True, kw_only=True)
class Efficiency:
    """Achievable fractions of a device's peaks (calibrated, or its group's values).

    compute: compute precision (``bf16``, ``fp8``, ...) -> fraction of that precision's dense peak
        reached by large matmuls; key ``default`` for precisions not listed.
    compute_half_tokens: same keys -> rows per matmul at which half of ``compute`` is reached
        (tensor tiles under-filled: eff(m) = compute * m / (m + half)).
    memory_bandwidth: fraction of peak memory bandwidth reached when streaming weights and KV cache.
    dequant_bandwidth: fraction of ``memory_bandwidth`` reached by weight-only (dequantising) kernels.
    interconnect: fraction of link bandwidth reached by collectives.
    """

    compute: Mapping[str, float]
    compute_half_tokens: Mapping[str, float]
    memory_bandwidth: float
    dequant_bandwidth: float
    interconnect: float
    calibrated: bool = False
    note: str = ""

    def compute_for(self, key: str) -> float:
        """Fraction of peak for compute precision ``key`` (bf16 and fp16 share a value when only one is given)."""
        return _per_precision(self.compute, key)

    def half_tokens_for(self, key: str) -> float:
        """Half-saturation rows for compute precision ``key``."""
        return _per_precision(self.compute_half_tokens, key)


def _per_precision(table: Mapping[str, float], key: str) -> float:
    twin = {"bf16": "fp16", "fp16": "bf16"}.get(key)
    for k in (key, twin, "default"):
        if k is not None and k in table:
            return table[k]
    raise InputError(f"efficiency has no value for {key} and no 'default'")


ALLREDUCE_ALGORITHMS = ("ring", "tree", "one-shot", "two-shot")
BARE_ENGINE_ID = "none"  # Engine() with no profile: no fixed costs; scheduler limits 1024 sequences / 8192 tokens per pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """A serving engine: fixed costs per forward pass and per layer, collectives, scheduler limits.

    step_overhead_s: fixed time per forward pass (launch of the step or its CUDA graph, sampling, scheduling).
    layer_overhead_s: fixed time per transformer layer per forward pass (kernel launches not hidden by graphs).
    allreduce_algorithm: link kind -> the algorithms the engine chooses from, by message size (the faster
        is taken): ``ring`` (2(p-1) steps), ``tree`` (2 log2 p steps), ``one-shot`` (one step, every rank
        reads every other rank's buffer) or ``two-shot`` (reduce-scatter then all-gather through peer
        memory: 2 steps) - the last two are the custom all-reduce kernels of TensorRT-LLM, vLLM and SGLang.
    allreduce_step_latency_s: link kind (``fabric``, ``pcie``, ``network``) -> latency of one step of a collective.
    max_batch: most sequences in one step (vLLM ``max_num_seqs``, TensorRT-LLM ``max_batch_size``).
    max_num_tokens: most tokens in one forward pass (vLLM ``max_num_batched_tokens``, TensorRT-LLM ``max_num_tokens``).
    chunked_prefill: whether long prompts are split into chunks that share steps with decodes.
    prefill_chunk_tokens: chunk size when ``chunked_prefill`` (SGLang ``chunked_prefill_size``).
    request_overhead_s: fixed latency per served request outside model steps (HTTP front end,
        tokenisation, scheduling hand-off); adds to served TTFT (planner.cost.serving).
    kv_admission: ``full`` = a request is admitted only when the KV cache can hold its whole context
        (TensorRT-LLM GUARANTEED_NO_EVICT); ``current`` = admitted on the blocks it holds now, preempting
        when the cache runs out (vLLM, SGLang): served capacity counts the mean context P + O/2.
    """

    id: str = BARE_ENGINE_ID
    name: str = "no engine (bare roofline: no fixed costs, latency-free collectives)"
    step_overhead_s: float = 0.0
    layer_overhead_s: float = 0.0
    allreduce_algorithm: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"fabric": ("ring",), "pcie": ("ring",), "network": ("ring",)})
    allreduce_step_latency_s: Mapping[str, float] = field(default_factory=lambda: {"fabric": 0.0, "pcie": 0.0, "network": 0.0})
    max_batch: int = 1024
    max_num_tokens: int = 8192
    chunked_prefill: bool = True
    prefill_chunk_tokens: int = 8192
    request_overhead_s: float = 0.0
    kv_admission: str = "full"
    calibrated: bool = False
    note: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""
    path: str = ""

    @property
    def max_tokens_per_pass(self) -> int:
        """Alias of ``max_num_tokens`` (the name the roofline's scheduler used before engine profiles)."""
        return self.max_num_tokens

    def __post_init__(self) -> None:
        for kind in LINK_KINDS:
            chosen = self.allreduce_algorithm.get(kind) or ()
            if not chosen or any(a not in ALLREDUCE_ALGORITHMS for a in chosen):
                raise InputError(f"engine {self.id}: allreduce algorithms over {kind} must be from {', '.join(ALLREDUCE_ALGORITHMS)}")
        for name in ("max_batch", "max_num_tokens", "prefill_chunk_tokens"):
            if getattr(self, name) < 1:
                raise InputError(f"engine {self.id}: {name} must be ≥ 1")

    @staticmethod
    def allreduce_steps(algorithm: str, ranks: int) -> float:
        """Sequential steps (each paying one step latency) of one all-reduce over ``ranks`` ranks."""
        if ranks <= 1:
            return 0.0
        if algorithm == "ring":
            return 2.0 * (ranks - 1)
        if algorithm == "tree":
            return 2.0 * math.ceil(math.log2(ranks))
        return 1.0 if algorithm == "one-shot" else 2.0

    @staticmethod
    def allreduce_traffic_factor(algorithm: str, ranks: int) -> float:
        """Bytes each rank moves over its link per byte of message (one-shot p-1; the others 2(p-1)/p)."""
        if ranks <= 1:
            return 0.0
        if algorithm == "one-shot":
            return float(ranks - 1)
        return 2.0 * (ranks - 1) / ranks


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """p10-p90 of measured time / predicted time over the calibration rows of one regime."""

    low: float
    high: float
    rows: int
    regime: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BandTable:
    """Bands per regime ('batch-1/single-device/datacenter', and each axis alone, and 'all')."""

    regimes: Mapping[str, Band]
    min_rows: int = 8
    source: str = ""
    path: str = ""

    def for_regime(self, keys: tuple[str, ...]) -> Band | None:
        """The band of the full regime when it has ``min_rows`` rows, else the narrowest single axis that has, else 'all'."""
        full = self.regimes.get("/".join(keys))
        if full is not None and full.rows >= self.min_rows:
            return full
        axes = [self.regimes[k] for k in keys if k in self.regimes and self.regimes[k].rows >= self.min_rows]
        if axes:
            return max(axes, key=lambda b: b.high / b.low)
        return self.regimes.get("all")


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareProfile:
    """One accelerator (per device, dense peaks, no sparsity)."""

    id: str
    name: str
    device_class: str
    vendor: str
    peak_flops: Mapping[str, float]  # precision -> FLOP/s (dense)
    memory_capacity_bytes: float
    memory_bandwidth_bytes_per_s: float
    intra_node_bandwidth_bytes_per_s: float  # per device, per direction
    inter_node_bandwidth_bytes_per_s: float  # per device, per direction
    devices_per_node: int
    power_w: float
    price_usd_per_hour: float | None
    efficiency: Efficiency
    interconnect_name: str = ""
    intra_node_link: str = "fabric"  # one of LINK_KINDS: what links the devices of one node
    idle_power_w: float | None = None  # None = not published for this device (the power model says what it assumed)
    power_source: str = ""
    memory_reserve_bytes: float = 0.0
    usable_memory_fraction: float = 0.9
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""
    path: str = ""

    def peak_flops_for(self, compute_key: str, fallback: str = "fp16") -> tuple[float, str]:
        """Dense peak FLOP/s for a compute precision, falling back where the device lacks it."""
        for key in (compute_key, fallback, "bf16", "fp16", "fp32"):
            value = self.peak_flops.get(key)
            if value:
                return value, key
        raise InputError(f"hardware '{self.id}' has no peak FLOP/s for {compute_key}")


# ---------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, slots=True, kw_only=True)
class MoE:
    """Mixture of experts: all experts are held in memory; ``n_active`` are run per token."""

    n_experts: int
    n_active: int
    expert_intermediate_size: int
    n_shared_experts: int = 0
    shared_intermediate_size: int = 0
    n_dense_layers: int = 0  # leading layers with a dense MLP (DeepSeek first_k_dense_replace)
    latent_size: int = 0  # routed experts work in this width (Nemotron-3 latent MoE); 0 = hidden_size


@dataclass(frozen=True, slots=True, kw_only=True)
class Mamba:
    """Mamba-2 mixer layers (Dao & Gu 2024, arXiv 2405.21060 §7; Hugging Face ``NemotronHMamba2Mixer``).

    They hold a fixed-size state per sequence instead of a KV cache. Inner width = n_heads * head_dim;
    ``in_proj`` makes z, x, B, C and one dt per head; a depthwise causal convolution of ``conv_kernel``
    taps (with bias) runs over x, B and C; per head A, D and a dt bias; a gated RMSNorm over the inner
    width; ``out_proj`` back to the model width.
    """

    n_layers: int
    n_heads: int
    head_dim: int
    state_size: int
    n_groups: int = 1
    conv_kernel: int = 4

    @property
    def inner_size(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def conv_channels(self) -> int:
        return self.inner_size + 2 * self.n_groups * self.state_size

    def matmul_params_per_layer(self, hidden_size: int) -> int:
        """in_proj (to z, x, B, C, dt) and out_proj."""
        return hidden_size * (self.inner_size + self.conv_channels + self.n_heads) + self.inner_size * hidden_size

    def params_per_layer(self, hidden_size: int) -> int:
        conv = self.conv_channels * (self.conv_kernel + 1)
        return self.matmul_params_per_layer(hidden_size) + conv + 3 * self.n_heads + self.inner_size

    @property
    def state_values_per_layer(self) -> int:
        """Values held per sequence per layer: the SSM state plus the convolution's last kernel-1 inputs."""
        return self.inner_size * self.state_size + (self.conv_kernel - 1) * self.conv_channels

    @property
    def scan_flops_per_token_per_layer(self) -> int:
        """State update h = a*h + dt*B*x and read-out y = C*h: 2 MACs (4 FLOPs) per state value."""
        return 4 * self.inner_size * self.state_size


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearAttention:
    """Linear-attention layers of the Gated DeltaNet kind (Yang et al. 2024, arXiv 2412.06464; Qwen3-Next,
    Qwen3.5 ``GatedDeltaNet``): a (key_head_dim x value_head_dim) state per value head instead of a KV cache.

    Projections: q and k (n_key_heads x key_head_dim each), v and the output gate z (n_value_heads x
    value_head_dim each), beta and the decay (one per value head); a depthwise causal convolution of
    ``conv_kernel`` taps over q, k and v; per value head A and a dt bias; a gated RMSNorm of value_head_dim;
    ``out_proj`` back to the model width.
    """

    kind: str = "gated-deltanet"
    n_layers: int
    n_key_heads: int
    n_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int = 4

    @property
    def key_size(self) -> int:
        return self.n_key_heads * self.key_head_dim

    @property
    def value_size(self) -> int:
        return self.n_value_heads * self.value_head_dim

    @property
    def conv_channels(self) -> int:
        return 2 * self.key_size + self.value_size

    def matmul_params_per_layer(self, hidden_size: int) -> int:
        """q, k, v, z, beta and decay projections, and out_proj."""
        return hidden_size * (2 * self.key_size + 2 * self.value_size + 2 * self.n_value_heads) + self.value_size * hidden_size

    def params_per_layer(self, hidden_size: int) -> int:
        conv = self.conv_channels * self.conv_kernel
        return self.matmul_params_per_layer(hidden_size) + conv + 2 * self.n_value_heads + self.value_head_dim

    @property
    def state_values_per_layer(self) -> int:
        """Values held per sequence per layer: one key x value matrix per value head plus the conv inputs."""
        return self.n_value_heads * self.key_head_dim * self.value_head_dim + (self.conv_kernel - 1) * self.conv_channels

    @property
    def scan_flops_per_token_per_layer(self) -> int:
        """Delta rule: read S^T k, write S += k (x) delta, read out S^T q: 3 MACs (6 FLOPs) per state value."""
        return 6 * self.n_value_heads * self.key_head_dim * self.value_head_dim


@dataclass(frozen=True, slots=True, kw_only=True)
class MLA:
    """Multi-head latent attention (DeepSeek-V2/V3): the KV cache stores a compressed latent."""

    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int
    q_lora_rank: int = 0  # 0 = full-rank query projection


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelProfile:
    """A transformer's architecture as in its config.json, and what follows from it."""

    id: str
    name: str
    family: str
    n_layers: int
    hidden_size: int
    intermediate_size: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    max_context: int
    tied_embeddings: bool = False
    gated_mlp: bool = True  # SwiGLU/GeGLU: 3 matrices; plain GELU/ReLU MLP: 2
    sliding_window: int = 0  # tokens; 0 = full attention
    n_sliding_layers: int = 0  # how many layers use the window (Gemma 2: half)
    moe: MoE | None = None
    mla: MLA | None = None
    # Hybrid and heterogeneous stacks (Nemotron-H, Qwen3.5, NAS): 0 / None / () = every layer alike.
    n_attention_layers: int = 0  # layers with softmax attention (only these hold a KV cache); 0 = n_layers
    n_mlp_layers: int = 0  # layers with an MLP or MoE block; 0 = n_layers
    mlp_groups: tuple[tuple[int, int], ...] = ()  # dense MLP layers of differing widths: (layers, intermediate size)
    attention_output_gate: bool = False  # query projection doubled into a sigmoid output gate (Qwen3-Next/3.5)
    mamba: Mamba | None = None
    linear_attention: LinearAttention | None = None
    state_bytes_per_value: float = 0.0  # Mamba / linear-attention state storage; 0 = as the KV cache
    quantization: Mapping[str, str] = field(default_factory=dict)  # checkpoint's quantization_config, summarised
    published_params: float = 0.0
    sources: Mapping[str, str] = field(default_factory=dict)
    license: str = ""
    notes: str = ""
    path: str = ""

    # -- parameters ---------------------------------------------------------------------------

    @property
    def attention_type(self) -> str:
        if self.mla is not None:
            return "mla"
        if self.n_kv_heads == 1:
            return "mqa"
        return "gqa" if self.n_kv_heads < self.n_heads else "mha"

    @property
    def attention_layers(self) -> int:
        """Layers with softmax attention (full or windowed): the layers that hold a KV cache."""
        return self.n_attention_layers or self.n_layers

    @property
    def mlp_layers(self) -> int:
        """Layers with an MLP or MoE block."""
        return self.n_mlp_layers or self.n_layers

    @property
    def n_blocks(self) -> int:
        """Mixer (attention, Mamba, linear attention) and MLP blocks in the stack: 2 per layer in a plain
        transformer, fewer in hybrid or pruned stacks. Each ends in a tensor-parallel all-reduce."""
        mixers = self.attention_layers
        if self.mamba is not None:
            mixers += self.mamba.n_layers
        if self.linear_attention is not None:
            mixers += self.linear_attention.n_layers
        return mixers + self.mlp_layers

    @property
    def attention_params_per_layer(self) -> int:
        h = self.hidden_size
        if self.mla is not None:
            m = self.mla
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            q = (h * m.q_lora_rank + m.q_lora_rank * self.n_heads * qk) if m.q_lora_rank else h * self.n_heads * qk
            kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * self.n_heads * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + self.n_heads * m.v_head_dim * h
        q_out = self.n_heads * self.head_dim
        kv_out = 2 * self.n_kv_heads * self.head_dim
        gate = q_out if self.attention_output_gate else 0
        return h * (q_out + kv_out + gate) + q_out * h

    def _mlp_params(self, intermediate: int, width: int = 0) -> int:
        return (3 if self.gated_mlp else 2) * (width or self.hidden_size) * intermediate

    @property
    def n_moe_layers(self) -> int:
        return 0 if self.moe is None else self.mlp_layers - self.moe.n_dense_layers

    @property
    def _mixer_params(self) -> int:
        """Attention, Mamba and linear-attention parameters of all layers."""
        total = self.attention_layers * self.attention_params_per_layer
        if self.mamba is not None:
            total += self.mamba.n_layers * self.mamba.params_per_layer(self.hidden_size)
        if self.linear_attention is not None:
            total += self.linear_attention.n_layers * self.linear_attention.params_per_layer(self.hidden_size)
        return total

    @property
    def _mixer_matmul_params(self) -> int:
        total = self.attention_layers * self.attention_params_per_layer
        if self.mamba is not None:
            total += self.mamba.n_layers * self.mamba.matmul_params_per_layer(self.hidden_size)
        if self.linear_attention is not None:
            total += self.linear_attention.n_layers * self.linear_attention.matmul_params_per_layer(self.hidden_size)
        return total

    def _mlp_params_total(self, experts_per_token: int | None) -> int:
        """MLP parameters of all layers; ``experts_per_token`` None = all experts (held)."""
        if self.mlp_groups:
            total = sum(n * self._mlp_params(width) for n, width in self.mlp_groups)
        else:
            total = (self.mlp_layers - self.n_moe_layers) * self._mlp_params(self.intermediate_size)
        if self.moe is not None:
            m = self.moe
            routed = m.n_experts if experts_per_token is None else experts_per_token
            per_layer = routed * self.expert_params_per_layer()
            per_layer += m.n_shared_experts * self._mlp_params(m.shared_intermediate_size or m.expert_intermediate_size)
            per_layer += self.hidden_size * m.n_experts  # router
            if m.latent_size:
                per_layer += 2 * self.hidden_size * m.latent_size  # projections into and out of the latent width
            total += self.n_moe_layers * per_layer
        return total

    @property
    def embedding_params(self) -> int:
        """Input embedding table (a lookup, no FLOPs)."""
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        """Output projection (shares the embedding matrix when tied, but is still a matmul)."""
        return self.vocab_size * self.hidden_size

    @property
    def norm_params(self) -> int:
        return (2 * self.n_layers + 1) * self.hidden_size

    @property
    def total_params(self) -> int:
        """All parameters held in memory (every expert)."""
        body = self._mixer_params + self._mlp_params_total(None)
        head = 0 if self.tied_embeddings else self.lm_head_params
        return body + self.embedding_params + head + self.norm_params

    @property
    def active_params(self) -> int:
        """Parameters used per token (routed experts counted ``n_active`` times)."""
        if self.moe is None:
            return self.total_params
        body = self._mixer_params + self._mlp_params_total(self.moe.n_active)
        head = 0 if self.tied_embeddings else self.lm_head_params
        return body + self.embedding_params + head + self.norm_params

    @property
    def active_matmul_params(self) -> int:
        """Parameters multiplied per token: active params without the embedding lookup, with the LM head."""
        return self._mixer_matmul_params + (
            self._mlp_params_total(None if self.moe is None else self.moe.n_active)
        ) + self.lm_head_params

    def expert_params_per_layer(self) -> int:
        """Parameters of one routed expert in one layer (0 for dense models)."""
        return 0 if self.moe is None else self._mlp_params(self.moe.expert_intermediate_size, self.moe.latent_size)

    # -- attention and KV cache ----------------------------------------------------------------

    @property
    def kv_values_per_token_per_layer(self) -> int:
        """Values stored in the KV cache per token per layer (K and V, or the MLA latent)."""
        if self.mla is not None:
            return self.mla.kv_lora_rank + self.mla.qk_rope_head_dim
        return 2 * self.n_kv_heads * self.head_dim

    @property
    def recurrent_state_values(self) -> int:
        """Values of Mamba / linear-attention state one sequence holds, whatever its length (0 without such layers)."""
        total = 0
        if self.mamba is not None:
            total += self.mamba.n_layers * self.mamba.state_values_per_layer
        if self.linear_attention is not None:
            total += self.linear_attention.n_layers * self.linear_attention.state_values_per_layer
        return total

    def attended_tokens(self, context_tokens: float) -> float:
        """Cached tokens summed over attention layers, divided by their number (sliding windows cap their layers)."""
        if not self.sliding_window or not self.n_sliding_layers:
            return context_tokens
        windowed = min(context_tokens, self.sliding_window) if not hasattr(context_tokens, "shape") else _np_min(context_tokens, self.sliding_window)
        full = self.attention_layers - self.n_sliding_layers
        return (full * context_tokens + self.n_sliding_layers * windowed) / self.attention_layers

    def recurrent_state_bytes(self, bytes_per_value: float) -> float:
        """Bytes of Mamba / linear-attention state one sequence holds (``state_bytes_per_value`` when the
        model sets it, e.g. fp32 SSM state, else ``bytes_per_value``, the KV-cache precision)."""
        return self.recurrent_state_values * (self.state_bytes_per_value or bytes_per_value)

    def kv_cache_bytes_per_token(self, bytes_per_value: float) -> float:
        """KV-cache bytes one more token adds to a sequence (attention layers only)."""
        return self.attention_layers * self.kv_values_per_token_per_layer * bytes_per_value

    def kv_cache_bytes(self, context_tokens: float, bytes_per_value: float) -> float:
        """Cache bytes of one sequence holding ``context_tokens`` tokens.

        Only attention layers grow with the context; Mamba / linear-attention layers add a fixed state
        (:meth:`recurrent_state_bytes`) whatever the context.
        """
        kv = self.attention_layers * self.kv_values_per_token_per_layer * self.attended_tokens(context_tokens) * bytes_per_value
        if self.recurrent_state_values:
            kv = kv + self.recurrent_state_bytes(bytes_per_value)
        return kv

    def attention_flops_per_token(self, context_tokens: float) -> float:
        """FLOPs of QK^T and AV for one new token attending to ``context_tokens`` (2 FLOPs per MAC),
        plus the state update of Mamba / linear-attention layers (independent of the context)."""
        if self.mla is not None:
            width = self.n_heads * (self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim + self.mla.v_head_dim)
        else:
            width = 2 * self.n_heads * self.head_dim
        flops = 2.0 * self.attention_layers * width * self.attended_tokens(context_tokens)
        if self.mamba is not None:
            flops = flops + self.mamba.n_layers * self.mamba.scan_flops_per_token_per_layer
        if self.linear_attention is not None:
            flops = flops + self.linear_attention.n_layers * self.linear_attention.scan_flops_per_token_per_layer
        return flops

    def flops_per_token(self, context_tokens: float = 0.0) -> float:
        """Forward FLOPs for one token: 2 per active matmul parameter plus attention (Kaplan et al. 2020, Table 1)."""
        return 2.0 * self.active_matmul_params + self.attention_flops_per_token(context_tokens)


def _np_min(a, b):
    import numpy as np

    return np.minimum(a, b)




# ---------------------------------------------------------------------------------------------
# Search methods: the one table (ids, verifier kind, tree or not, sources)

# Rounds of a tree search (REBASE, MCTS) per solution when none is given: Wu et al. 2024 (arXiv 2408.00724,
# §3.4) expand one solution step per round, steps split at line breaks; 10 steps of ~26 tokens matches their
# ~260-token MATH500 solutions. Used by `recommend` (--tree-steps) and by capacity plans.
DEFAULT_TREE_STEPS = 10

VERIFIER_KINDS = ("none", "reward-model", "oracle", "human")


@dataclass(frozen=True, slots=True, kw_only=True)
class Method:
    """A search method: how it aggregates k samples and what verifies them."""

    id: str
    verifier: str  # one of VERIFIER_KINDS
    tree: bool  # step-wise search over a tree of partial solutions
    forced_samples: int | None  # greedy: always 1
    description: str
    source: str


_METHODS: dict[str, Method] = {
    m.id: m
    for m in (
        Method(id="greedy", verifier="none", tree=False, forced_samples=1,
               description="one greedy (temperature 0) completion",
               source="Wu et al. 2024 (arXiv 2408.00724) §3.2"),
        Method(id="majority", verifier="none", tree=False, forced_samples=None,
               description="k sampled completions, the most frequent final answer wins",
               source="Wang et al. 2023 self-consistency; Wu et al. 2024 §3.2"),
        Method(id="best-of-n", verifier="reward-model", tree=False, forced_samples=None,
               description="k sampled completions, the one the reward model scores highest",
               source="Wu et al. 2024 §3.2 (Llemma-34B PRM as scorer)"),
        Method(id="weighted-majority", verifier="reward-model", tree=False, forced_samples=None,
               description="k sampled completions, answers voted with reward-model weights",
               source="Wu et al. 2024 §3.2; Li et al. 2023"),
        Method(id="mcts", verifier="reward-model", tree=True, forced_samples=None,
               description="Monte Carlo tree search over solution steps with rollouts scored by a reward model",
               source="Wu et al. 2024 §3.3 (MCTS baseline); accounting is this module's"),
        Method(id="rebase", verifier="reward-model", tree=True, forced_samples=None,
               description="reward-balanced search: k nodes per step expanded in proportion to softmax(PRM score)",
               source="Wu et al. 2024 §3.3-3.4 (REBASE)"),
        Method(id="pass-at-k", verifier="oracle", tree=False, forced_samples=None,
               description="k sampled completions, solved if any passes an executable/oracle check",
               source="Chen et al. 2021 (arXiv 2107.03374); Brown et al. 2024 (arXiv 2407.21787)"),
        Method(id="ensemble", verifier="none", tree=False, forced_samples=None,
               description="one completion from each of k different models, answers voted",
               source="planner convention (majority vote over heterogeneous generators)"),
        Method(id="human-pick", verifier="human", tree=False, forced_samples=None,
               description="k sampled completions shown to a person who picks one",
               source="planner convention; see human_pick_win_rate"),
    )
}


def method(name: str) -> Method:
    """Look up a search method by id; unknown ids raise UnknownNameError with suggestions."""
    key = str(name).strip().lower()
    if key not in _METHODS:
        raise UnknownNameError("method", name, SEARCH_METHODS)
    return _METHODS[key]




def check_values(name: str, value, *, minimum: float = 0.0, strict: bool = False):
    """Raise InputError unless every element of ``value`` is finite and ≥ ``minimum`` (> when ``strict``)."""
    import numpy as np

    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | (arr <= minimum if strict else arr < minimum)
    if np.any(bad):
        bound = f"> {minimum:g}" if strict else f"≥ {minimum:g}"
        raise InputError(f"{name} must be {bound}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Capacity plans: workload, service-level objectives, deployment and budget (read by files.plans)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenLengths:
    """Tokens per request as the workload states them: a mean and/or percentiles (at least the mean or p50).

    Without a mean, the capacity checks take the mean of the log-normal that fits the percentiles
    (``planner.capacity.latency.mean_tokens``).
    """

    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None

    def __post_init__(self) -> None:
        for name in ("mean", "p50", "p90", "p99"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 1):
                raise InputError(f"token length {name} must be ≥ 1, got {value!r}")
        if self.mean is None and self.p50 is None:
            raise InputError("token lengths need a mean or a p50")
        given = [v for v in (self.p50, self.p90, self.p99) if v is not None]
        if given != sorted(given):
            raise InputError(f"token length percentiles must not decrease (p50 ≤ p90 ≤ p99), got {given}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """What users send: mean arrival rate (requests/s over the whole deployment), peak ÷ mean, lengths, task."""

    requests_per_second: float
    peak_factor: float = 1.0
    prompt_tokens: TokenLengths
    output_tokens: TokenLengths
    task: str | None = None  # built-in scaling-law id
    law: str | None = None  # path of a law file (instead of task)

    @property
    def peak_requests_per_second(self) -> float:
        return self.requests_per_second * self.peak_factor


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """Service-level objectives; None = not asked. Latencies in seconds, accuracy and headroom as fractions."""

    accuracy: float | None = None
    ttft_p50_s: float | None = None
    ttft_p99_s: float | None = None
    tpot_p99_s: float | None = None
    e2e_p99_s: float | None = None
    min_headroom: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """How the service runs: profile ids, parallelism, precision, search method and engine limits."""

    hardware: str
    model: str
    tp: int = 1
    pp: int = 1
    ep: int = 1
    attention_dp: int = 1
    replicas: int = 1
    precision: str = "bf16"
    kv_precision: str | None = None  # None = the default for the weight precision
    method: str = "greedy"
    samples: int = 1
    reward_model: str | None = None
    engine: str | None = None
    max_batch: int | None = None

    @property
    def devices_per_replica(self) -> int:
        return self.tp * self.pp * self.attention_dp

    @property
    def devices(self) -> int:
        return self.devices_per_replica * self.replicas


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Spending limits; None = not asked. USD per month (730 h), joules per query."""

    usd_per_month: float | None = None
    joules_per_query: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One capacity plan as read from a file; ``lines`` maps field paths ('slo.ttft_p99_s') to YAML lines."""

    workload: Workload
    slo: Slo
    deployment: Deployment
    budget: Budget
    path: str = ""
    lines: Mapping[str, int] = field(default_factory=dict)

    def given(self, field_path: str) -> bool:
        """Whether the file wrote ``field_path`` (e.g. 'deployment.tp') rather than leaving the default."""
        return field_path in self.lines

    def line_of(self, field_path: str) -> int | None:
        """Line of ``field_path`` or of its nearest enclosing field (section) that has one."""
        key = field_path
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return None
