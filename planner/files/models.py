"""Model profiles: YAML mapping → ModelProfile, every problem collected."""

from __future__ import annotations

from pathlib import Path

from planner.domain import MLA, PRECISIONS, LinearAttention, Mamba, ModelProfile, MoE
from planner.errors import short
from planner.files.checker import Checker, check_id

_MODEL_TOP = {"kind", "id", "name", "family", "hf_repo", "architecture", "quantization", "published_params", "license",
              "sources", "notes"}
_MODEL_REQUIRED = {"id", "name", "architecture", "sources"}
_ARCH = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "n_kv_heads", "head_dim", "vocab_size",
         "max_context", "tied_embeddings", "gated_mlp", "sliding_window", "n_sliding_layers", "moe", "mla",
         "n_attention_layers", "n_mlp_layers", "mlp_groups", "attention_output_gate", "mamba", "linear_attention",
         "state_precision"}
_ARCH_REQUIRED = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "vocab_size", "max_context"}
_MOE = {"n_experts", "n_active", "expert_intermediate_size", "n_shared_experts", "shared_intermediate_size", "n_dense_layers",
        "latent_size"}
_MLA = {"kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "q_lora_rank"}
_MAMBA = {"n_layers", "n_heads", "head_dim", "state_size", "n_groups", "conv_kernel"}
_LINEAR = {"kind", "n_layers", "n_key_heads", "n_value_heads", "key_head_dim", "value_head_dim", "conv_kernel"}
_LINEAR_KINDS = ("gated-deltanet",)
_QUANT = {"method", "precision", "details"}

# Physical bounds: wider than any published transformer, tight enough that no estimate overflows.
MAX_LAYERS = 10_000
MAX_WIDTH = 10_000_000  # hidden, intermediate, head, state and latent sizes; group counts; kernels
MAX_HEADS = 100_000
MAX_EXPERTS = 100_000
MAX_VOCAB = 100_000_000
MAX_CONTEXT = 1_000_000_000
MAX_PARAMS = 1e15


def parse_model(data: dict, path: Path) -> ModelProfile:
    """Build a ModelProfile from a YAML mapping, collecting every problem."""
    c = Checker(path, data)
    c.keys(data, _MODEL_TOP, _MODEL_REQUIRED)
    check_id(c, data, path)
    arch = c.mapping(data, "architecture")
    c.keys(arch, _ARCH, _ARCH_REQUIRED, "architecture.")
    p = "architecture."
    n_heads = c.integer(arch, "n_heads", p, default=1, maximum=MAX_HEADS)
    hidden = c.integer(arch, "hidden_size", p, default=1, maximum=MAX_WIDTH)
    moe = None
    if arch.get("moe"):
        m = c.mapping(arch, "moe", p)
        c.keys(m, _MOE, {"n_experts", "n_active", "expert_intermediate_size"}, p + "moe.")
        moe = MoE(
            n_experts=c.integer(m, "n_experts", p + "moe.", default=1, maximum=MAX_EXPERTS),
            n_active=c.integer(m, "n_active", p + "moe.", default=1, maximum=MAX_EXPERTS),
            expert_intermediate_size=c.integer(m, "expert_intermediate_size", p + "moe.", default=1, maximum=MAX_WIDTH),
            n_shared_experts=c.integer(m, "n_shared_experts", p + "moe.", minimum=0, maximum=MAX_EXPERTS),
            shared_intermediate_size=c.integer(m, "shared_intermediate_size", p + "moe.", minimum=0, maximum=MAX_WIDTH),
            n_dense_layers=c.integer(m, "n_dense_layers", p + "moe.", minimum=0, maximum=MAX_LAYERS),
            latent_size=c.integer(m, "latent_size", p + "moe.", minimum=0, maximum=MAX_WIDTH),
        )
        if moe.n_active > moe.n_experts:
            c.fail(p + "moe.n_active", f"expected at most n_experts ({moe.n_experts}), got {moe.n_active}")
    mla = None
    if arch.get("mla"):
        m = c.mapping(arch, "mla", p)
        c.keys(m, _MLA, _MLA - {"q_lora_rank"}, p + "mla.")
        mla = MLA(
            kv_lora_rank=c.integer(m, "kv_lora_rank", p + "mla.", default=1, maximum=MAX_WIDTH),
            qk_rope_head_dim=c.integer(m, "qk_rope_head_dim", p + "mla.", default=1, maximum=MAX_WIDTH),
            qk_nope_head_dim=c.integer(m, "qk_nope_head_dim", p + "mla.", default=1, maximum=MAX_WIDTH),
            v_head_dim=c.integer(m, "v_head_dim", p + "mla.", default=1, maximum=MAX_WIDTH),
            q_lora_rank=c.integer(m, "q_lora_rank", p + "mla.", minimum=0, maximum=MAX_WIDTH),
        )
    n_layers = c.integer(arch, "n_layers", p, default=1, maximum=MAX_LAYERS)
    n_attention = c.integer(arch, "n_attention_layers", p, minimum=0, maximum=MAX_LAYERS)
    n_mlp = c.integer(arch, "n_mlp_layers", p, minimum=0, maximum=MAX_LAYERS)
    for key, value in (("n_attention_layers", n_attention), ("n_mlp_layers", n_mlp)):
        if value > n_layers:
            c.fail(p + key, f"expected at most n_layers ({n_layers}), got {value}")
    mamba = _mamba(c, arch, n_layers)
    linear = _linear_attention(c, arch, n_layers)
    mlp_groups = _mlp_groups(c, arch)
    n_kv = c.integer(arch, "n_kv_heads", p, default=n_heads, maximum=MAX_HEADS)
    if n_kv > n_heads or (n_heads % max(n_kv, 1)):
        c.fail(p + "n_kv_heads", f"expected a divisor of n_heads ({n_heads}), got {n_kv}")
    n_sliding = c.integer(arch, "n_sliding_layers", p, minimum=0, maximum=MAX_LAYERS)
    if n_sliding > (n_attention or n_layers):
        what = "n_attention_layers" if n_attention else "n_layers"
        c.fail(p + "n_sliding_layers", f"expected at most {what} ({n_attention or n_layers}), got {n_sliding}")
    published = c.quantity(data, "published_params", "number", required=False, allow_zero=True, maximum=MAX_PARAMS)
    profile = ModelProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        family=c.text(data, "family"),
        n_layers=n_layers,
        hidden_size=hidden,
        intermediate_size=c.integer(arch, "intermediate_size", p, default=1, maximum=MAX_WIDTH),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=c.integer(arch, "head_dim", p, default=max(hidden // max(n_heads, 1), 1), maximum=MAX_WIDTH),
        vocab_size=c.integer(arch, "vocab_size", p, default=1, maximum=MAX_VOCAB),
        max_context=c.integer(arch, "max_context", p, default=1, maximum=MAX_CONTEXT),
        tied_embeddings=c.boolean(arch, "tied_embeddings", p),
        gated_mlp=c.boolean(arch, "gated_mlp", p, default=True),
        sliding_window=c.integer(arch, "sliding_window", p, minimum=0, maximum=MAX_CONTEXT),
        n_sliding_layers=n_sliding,
        moe=moe,
        mla=mla,
        n_attention_layers=n_attention,
        n_mlp_layers=n_mlp,
        mlp_groups=mlp_groups,
        attention_output_gate=c.boolean(arch, "attention_output_gate", p),
        state_bytes_per_value=_state_bytes(c, arch, mamba is not None or linear is not None),
        mamba=mamba,
        linear_attention=linear,
        quantization=_quantization(c, data),
        published_params=published,
        sources=c.sources(data, ("config",)),
        license=c.text(data, "license"),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if profile.sliding_window and not profile.n_sliding_layers:
        c.fail(p + "n_sliding_layers", "sliding_window is set: say how many layers use it (all: n_layers)")
    if moe is not None and moe.n_dense_layers > profile.mlp_layers:
        c.fail(p + "moe.n_dense_layers", f"expected at most the layers with an MLP ({profile.mlp_layers}), got {moe.n_dense_layers}")
    if mlp_groups:
        dense = profile.mlp_layers - profile.n_moe_layers
        if sum(n for n, _ in mlp_groups) != dense:
            c.fail(p + "mlp_groups", f"expected the groups' n_layers to add up to the dense MLP layers ({dense}), "
                                     f"got {sum(n for n, _ in mlp_groups)}")
    c.raise_if_any()
    return profile



def _mamba(c: Checker, arch: dict, n_layers: int) -> Mamba | None:
    if not arch.get("mamba"):
        return None
    p = "architecture.mamba."
    m = c.mapping(arch, "mamba", "architecture.")
    c.keys(m, _MAMBA, {"n_layers", "n_heads", "head_dim", "state_size"}, p)
    mamba = Mamba(
        n_layers=c.integer(m, "n_layers", p, default=1, maximum=MAX_LAYERS),
        n_heads=c.integer(m, "n_heads", p, default=1, maximum=MAX_HEADS),
        head_dim=c.integer(m, "head_dim", p, default=1, maximum=MAX_WIDTH),
        state_size=c.integer(m, "state_size", p, default=1, maximum=MAX_WIDTH),
        n_groups=c.integer(m, "n_groups", p, default=1, maximum=MAX_WIDTH),
        conv_kernel=c.integer(m, "conv_kernel", p, default=4, maximum=MAX_WIDTH),
    )
    if mamba.n_layers > n_layers:
        c.fail(p + "n_layers", f"expected at most architecture.n_layers ({n_layers}), got {mamba.n_layers}")
    if mamba.n_heads % mamba.n_groups:
        c.fail(p + "n_groups", f"expected a divisor of n_heads ({mamba.n_heads}), got {mamba.n_groups}")
    return mamba


def _linear_attention(c: Checker, arch: dict, n_layers: int) -> LinearAttention | None:
    if not arch.get("linear_attention"):
        return None
    p = "architecture.linear_attention."
    m = c.mapping(arch, "linear_attention", "architecture.")
    c.keys(m, _LINEAR, _LINEAR - {"kind", "conv_kernel"}, p)
    linear = LinearAttention(
        kind=c.text(m, "kind", p, default=_LINEAR_KINDS[0], choices=_LINEAR_KINDS),
        n_layers=c.integer(m, "n_layers", p, default=1, maximum=MAX_LAYERS),
        n_key_heads=c.integer(m, "n_key_heads", p, default=1, maximum=MAX_WIDTH),
        n_value_heads=c.integer(m, "n_value_heads", p, default=1, maximum=MAX_WIDTH),
        key_head_dim=c.integer(m, "key_head_dim", p, default=1, maximum=MAX_WIDTH),
        value_head_dim=c.integer(m, "value_head_dim", p, default=1, maximum=MAX_WIDTH),
        conv_kernel=c.integer(m, "conv_kernel", p, default=4, maximum=MAX_WIDTH),
    )
    if linear.n_layers > n_layers:
        c.fail(p + "n_layers", f"expected at most architecture.n_layers ({n_layers}), got {linear.n_layers}")
    if linear.n_value_heads % linear.n_key_heads:
        c.fail(p + "n_value_heads", f"expected a multiple of n_key_heads ({linear.n_key_heads}), got {linear.n_value_heads}")
    return linear


def _state_bytes(c: Checker, arch: dict, has_state: bool) -> float:
    """``state_precision``: how Mamba / linear-attention state is stored (default: as the KV cache)."""
    name = c.text(arch, "state_precision", "architecture.", choices=tuple(PRECISIONS))
    if not name:
        return 0.0
    if not has_state:
        c.fail("architecture.state_precision", "set, but the model has no mamba or linear_attention layers")
    return PRECISIONS[name].bytes_per_value if name in PRECISIONS else 0.0


def _mlp_groups(c: Checker, arch: dict) -> tuple[tuple[int, int], ...]:
    raw = arch.get("mlp_groups")
    if raw is None:
        return ()
    name = "architecture.mlp_groups"
    if not isinstance(raw, list) or not raw:
        c.fail(name, f"expected a list of {{n_layers, intermediate_size}} mappings, got {short(raw)}")
        return ()
    groups = []
    for i, item in enumerate(raw):
        where = f"{name}[{i}]."
        if not isinstance(item, dict):
            c.fail(f"{name}[{i}]", f"expected a mapping with n_layers and intermediate_size, got {short(item)}")
            continue
        c.keys(item, {"n_layers", "intermediate_size"}, {"n_layers", "intermediate_size"}, where)
        groups.append((c.integer(item, "n_layers", where, default=1, maximum=MAX_LAYERS), c.integer(item, "intermediate_size", where, default=1, maximum=MAX_WIDTH)))
    return tuple(groups)


def _quantization(c: Checker, data: dict) -> dict[str, str]:
    if not data.get("quantization"):
        return {}
    q = c.mapping(data, "quantization")
    c.keys(q, _QUANT, {"method"}, "quantization.")
    return {key: c.text(q, key, "quantization.") for key in sorted(_QUANT) if key in q}
