"""Model profiles: YAML mapping → ModelProfile, every problem collected."""

from __future__ import annotations

from pathlib import Path

from planner.domain import MLA, ModelProfile, MoE
from planner.files.checker import Checker, check_id

_MODEL_TOP = {"kind", "id", "name", "family", "hf_repo", "architecture", "published_params", "license", "sources", "notes"}
_MODEL_REQUIRED = {"id", "name", "architecture", "sources"}
_ARCH = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "n_kv_heads", "head_dim", "vocab_size",
         "max_context", "tied_embeddings", "gated_mlp", "sliding_window", "n_sliding_layers", "moe", "mla"}
_ARCH_REQUIRED = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "vocab_size", "max_context"}
_MOE = {"n_experts", "n_active", "expert_intermediate_size", "n_shared_experts", "shared_intermediate_size", "n_dense_layers"}
_MLA = {"kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "q_lora_rank"}


def parse_model(data: dict, path: Path) -> ModelProfile:
    """Build a ModelProfile from a YAML mapping, collecting every problem."""
    c = Checker(path, data)
    c.keys(data, _MODEL_TOP, _MODEL_REQUIRED)
    check_id(c, data, path)
    arch = c.mapping(data, "architecture")
    c.keys(arch, _ARCH, _ARCH_REQUIRED, "architecture.")
    p = "architecture."
    n_heads = c.integer(arch, "n_heads", p, default=1)
    hidden = c.integer(arch, "hidden_size", p, default=1)
    moe = None
    if arch.get("moe"):
        m = c.mapping(arch, "moe", p)
        c.keys(m, _MOE, {"n_experts", "n_active", "expert_intermediate_size"}, p + "moe.")
        moe = MoE(
            n_experts=c.integer(m, "n_experts", p + "moe.", default=1),
            n_active=c.integer(m, "n_active", p + "moe.", default=1),
            expert_intermediate_size=c.integer(m, "expert_intermediate_size", p + "moe.", default=1),
            n_shared_experts=c.integer(m, "n_shared_experts", p + "moe.", minimum=0),
            shared_intermediate_size=c.integer(m, "shared_intermediate_size", p + "moe.", minimum=0),
            n_dense_layers=c.integer(m, "n_dense_layers", p + "moe.", minimum=0),
        )
        if moe.n_active > moe.n_experts:
            c.fail(p + "moe.n_active", f"expected at most n_experts ({moe.n_experts}), got {moe.n_active}")
    mla = None
    if arch.get("mla"):
        m = c.mapping(arch, "mla", p)
        c.keys(m, _MLA, _MLA - {"q_lora_rank"}, p + "mla.")
        mla = MLA(
            kv_lora_rank=c.integer(m, "kv_lora_rank", p + "mla.", default=1),
            qk_rope_head_dim=c.integer(m, "qk_rope_head_dim", p + "mla.", default=1),
            qk_nope_head_dim=c.integer(m, "qk_nope_head_dim", p + "mla.", default=1),
            v_head_dim=c.integer(m, "v_head_dim", p + "mla.", default=1),
            q_lora_rank=c.integer(m, "q_lora_rank", p + "mla.", minimum=0),
        )
    n_layers = c.integer(arch, "n_layers", p, default=1)
    n_kv = c.integer(arch, "n_kv_heads", p, default=n_heads)
    if n_kv > n_heads or (n_heads % max(n_kv, 1)):
        c.fail(p + "n_kv_heads", f"expected a divisor of n_heads ({n_heads}), got {n_kv}")
    n_sliding = c.integer(arch, "n_sliding_layers", p, minimum=0)
    if n_sliding > n_layers:
        c.fail(p + "n_sliding_layers", f"expected at most n_layers ({n_layers}), got {n_sliding}")
    published = c.quantity(data, "published_params", "number", required=False, allow_zero=True)
    profile = ModelProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        family=c.text(data, "family"),
        n_layers=n_layers,
        hidden_size=hidden,
        intermediate_size=c.integer(arch, "intermediate_size", p, default=1),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=c.integer(arch, "head_dim", p, default=max(hidden // max(n_heads, 1), 1)),
        vocab_size=c.integer(arch, "vocab_size", p, default=1),
        max_context=c.integer(arch, "max_context", p, default=1),
        tied_embeddings=c.boolean(arch, "tied_embeddings", p),
        gated_mlp=c.boolean(arch, "gated_mlp", p, default=True),
        sliding_window=c.integer(arch, "sliding_window", p, minimum=0),
        n_sliding_layers=n_sliding,
        moe=moe,
        mla=mla,
        published_params=published,
        sources=c.sources(data, ("config",)),
        license=c.text(data, "license"),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if profile.sliding_window and not profile.n_sliding_layers:
        c.fail(p + "n_sliding_layers", "sliding_window is set: say how many layers use it (all: n_layers)")
    c.raise_if_any()
    return profile

