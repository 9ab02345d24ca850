"""Hugging Face ``config.json`` -> model profile mapping (pure: no file system, no network).

The CLI reads the JSON with ``profiles.read_json``, calls :func:`profile_from_hf_config` and writes
the result with ``profiles.dump_yaml`` + ``profiles.atomic_write``. The mapping has the layout of a
built-in model profile (``kind, id, name, family, hf_repo, architecture{...}, license, sources,
notes``) and is accepted by ``profiles.parse_model``.

Key spellings handled, by ``model_type``:

* llama / mistral / mixtral / qwen2 / qwen2_moe / qwen3 / qwen3_moe / gemma / gemma2 / phi3 /
  deepseek_v3 (and unknown types with the same keys): ``num_hidden_layers, hidden_size,
  intermediate_size, num_attention_heads, num_key_value_heads, head_dim, vocab_size,
  max_position_embeddings, tie_word_embeddings``;
* gptj: ``n_layer, n_embd, n_head, n_inner (null = 4*n_embd), n_positions``;
* gpt_neox: llama spellings, plain GELU MLP;
* opt: ``ffn_dim``, learned positions (not counted), tied embeddings by default;
* falcon / RefinedWeb / RefinedWebModel: ``n_layer, n_head, num_kv_heads / n_head_kv,
  multi_query, new_decoder_architecture``, MLP ``ffn_hidden_size`` or 4*hidden;
* mixture of experts: ``num_local_experts / num_experts / n_routed_experts, num_experts_per_tok,
  moe_intermediate_size, n_shared_experts, shared_expert_intermediate_size, first_k_dense_replace,
  mlp_only_layers, decoder_sparse_step``;
* multi-head latent attention: ``kv_lora_rank, q_lora_rank, qk_rope_head_dim, qk_nope_head_dim,
  v_head_dim``;
* sliding windows: ``sliding_window`` gated by ``use_sliding_window`` (and ``max_window_layers``),
  ``layer_types`` where present, Gemma 2's alternating layers otherwise.

Parameter counting (planner.domain) ignores biases, learned position tables and small norms;
the notes of the returned profile say what the config holds that the planner does not model.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from planner.errors import ProfileError

# model_type -> (family shown in reports, gated MLP, tied embeddings when the config does not say)
_TYPES: dict[str, tuple[str, bool, bool]] = {
    "llama": ("Llama", True, False),
    "mistral": ("Mistral", True, False),
    "mixtral": ("Mixtral", True, False),
    "qwen2": ("Qwen2", True, False),
    "qwen2_moe": ("Qwen2-MoE", True, False),
    "qwen3": ("Qwen3", True, False),
    "qwen3_moe": ("Qwen3-MoE", True, False),
    "gemma": ("Gemma", True, True),
    "gemma2": ("Gemma 2", True, True),
    "deepseek_v3": ("DeepSeek-V3", True, False),
    "deepseek_v2": ("DeepSeek-V2", True, False),
    "phi3": ("Phi-3", True, False),
    "gptj": ("GPT-J", False, False),
    "gpt_neox": ("GPT-NeoX", False, False),
    "opt": ("OPT", False, True),
    "falcon": ("Falcon", False, True),
    "RefinedWeb": ("Falcon", False, True),
    "RefinedWebModel": ("Falcon", False, True),
}

# Alternative spellings of the core keys, first found wins (GPT-J/GPT-2 style, old Falcon).
_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads"),
    "num_key_value_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "seq_length", "max_sequence_length"),
}

_CORE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")


def supported_model_types() -> list[str]:
    """The ``model_type`` values with known key spellings (others are read with the Llama keys)."""
    return sorted(_TYPES)


def profile_from_hf_config(config: Mapping[str, Any], *, model_id: str, source: str) -> dict:
    """Build a model-profile mapping from a Hugging Face ``config.json`` object.

    ``model_id`` becomes the profile id (and file name); ``source`` is the citation stored as
    ``sources.config`` (a URL or a path). Raises ``ProfileError(path=None, field=<config key>)``
    naming the key that is missing or malformed.
    """
    if not isinstance(config, Mapping):
        raise ProfileError(None, None, f"expected a JSON object (config.json), got {type(config).__name__}")
    if not str(model_id or "").strip():
        raise ProfileError(None, "id", "expected a profile id (e.g. 'llama-3.1-8b'), got nothing")
    if not str(source or "").strip():
        raise ProfileError(None, "sources.config", "expected a citation for the config (URL or path), got nothing")
    cfg = _text_config(config)
    model_type = str(cfg.get("model_type") or "")
    known = model_type in _TYPES
    if not known and not any(_find(cfg, k) is not None for k in _CORE):
        expected = ", ".join(_CORE)
        raise ProfileError(
            None,
            "model_type",
            f"unknown model_type {model_type or '(none)'!r} and none of the keys {expected} found; "
            f"expected a transformer config.json (supported model_type values: {', '.join(supported_model_types())})",
        )
    family, gated, tied_default = _TYPES.get(model_type, (model_type or "unknown", True, False))
    notes: list[str] = []
    if not known:
        notes.append(f"model_type {model_type or '(none)'!r} is not one the importer knows; read with Llama key names and a gated MLP (check gated_mlp).")

    n_layers = _int(cfg, "num_hidden_layers")
    hidden = _int(cfg, "hidden_size")
    n_heads = _int(cfg, "num_attention_heads")
    vocab = _int(cfg, "vocab_size")
    n_kv = _kv_heads(cfg, model_type, n_heads)
    head_dim = _int(cfg, "head_dim", default=None)
    if head_dim is None:
        if hidden % n_heads:
            raise ProfileError(None, "head_dim", f"missing, and hidden_size {hidden} is not a multiple of num_attention_heads {n_heads}")
        head_dim = hidden // n_heads
    max_context = _int(cfg, "max_position_embeddings", default=None)
    if max_context is None:
        if model_type in ("falcon", "RefinedWeb", "RefinedWebModel"):
            max_context = 2048  # Falcon configs without the key were trained at 2048 tokens
            notes.append("Config has no max_position_embeddings; Falcon's 2048-token training context assumed.")
        else:
            raise ProfileError(None, "max_position_embeddings", "required key is missing (the model's context length)")
    tied = cfg.get("tie_word_embeddings", tied_default)
    if not isinstance(tied, bool):
        raise ProfileError(None, "tie_word_embeddings", f"expected true or false, got {tied!r}")

    intermediate = _intermediate(cfg, model_type, hidden)
    arch: dict[str, Any] = {
        "n_layers": n_layers,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "n_heads": n_heads,
        "n_kv_heads": n_kv,
        "head_dim": head_dim,
        "vocab_size": vocab,
        "max_context": max_context,
        "tied_embeddings": tied,
        "gated_mlp": gated,
    }

    window, n_sliding, window_note = _sliding(cfg, model_type, n_layers, max_context)
    if window_note:
        notes.append(window_note)
    if window:
        arch["sliding_window"] = window
        arch["n_sliding_layers"] = n_sliding

    moe, moe_note = _moe(cfg, n_layers)
    if moe:
        arch["moe"] = moe
        notes.append(moe_note)
    mla = _mla(cfg)
    if mla:
        arch["mla"] = mla
        arch["head_dim"] = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
        notes.append("Multi-head latent attention: the KV cache holds kv_lora_rank + qk_rope_head_dim values per token per layer.")

    notes.extend(_unmodelled(cfg, model_type, hidden))

    name = _display_name(cfg, model_id)
    profile: dict[str, Any] = {
        "kind": "model",
        "id": model_id,
        "name": name,
        "family": family,
    }
    repo = cfg.get("_name_or_path")
    if isinstance(repo, str) and repo.count("/") == 1 and not repo.startswith((".", "/")):
        profile["hf_repo"] = repo
    profile["architecture"] = arch
    profile["license"] = "unknown (config.json carries no license)"
    profile["sources"] = {"config": str(source)}
    profile["notes"] = " ".join(["Imported from config.json" + (f" (model_type {model_type})." if model_type else "."), *notes]).strip()
    return profile


# ---------------------------------------------------------------------------------------------
# Helpers


def _text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Multimodal configs nest the language model under ``text_config``; use it when the top level has no dims."""
    inner = config.get("text_config")
    if isinstance(inner, Mapping) and _find(config, "hidden_size") is None and _find(inner, "hidden_size") is not None:
        merged = dict(inner)
        merged.setdefault("model_type", config.get("model_type"))
        return merged
    return config


def _find(cfg: Mapping[str, Any], key: str) -> Any:
    for alias in _ALIASES.get(key, (key,)):
        if cfg.get(alias) is not None:
            return cfg[alias]
    return None


def _which(cfg: Mapping[str, Any], key: str) -> str:
    for alias in _ALIASES.get(key, (key,)):
        if cfg.get(alias) is not None:
            return alias
    return key


_MISSING = object()


def _int(cfg: Mapping[str, Any], key: str, *, default: Any = _MISSING, minimum: int = 1) -> Any:
    value = _find(cfg, key)
    name = _which(cfg, key)
    if value is None:
        if default is _MISSING:
            spelled = " or ".join(_ALIASES.get(key, (key,)))
            raise ProfileError(None, key, f"required key is missing (expected {spelled} in config.json)")
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(None, name, f"expected an integer, got {value!r}")
    if value < minimum:
        raise ProfileError(None, name, f"expected an integer ≥ {minimum}, got {value}")
    return value


def _kv_heads(cfg: Mapping[str, Any], model_type: str, n_heads: int) -> int:
    if model_type in ("falcon", "RefinedWeb", "RefinedWebModel"):
        # Falcon-7B style: multi_query (one KV head) unless the new decoder architecture names its groups.
        if cfg.get("new_decoder_architecture") or model_type == "RefinedWeb":
            n_kv = _int(cfg, "num_key_value_heads", default=None)
            if n_kv is None:
                raise ProfileError(None, "num_kv_heads", "new_decoder_architecture is set: expected num_kv_heads (or n_head_kv)")
        elif cfg.get("multi_query", True):
            n_kv = 1
        else:
            n_kv = n_heads
    else:
        n_kv = _int(cfg, "num_key_value_heads", default=n_heads)
    if n_kv > n_heads or n_heads % n_kv:
        raise ProfileError(None, _which(cfg, "num_key_value_heads"), f"expected a divisor of the attention heads ({n_heads}), got {n_kv}")
    return n_kv


def _intermediate(cfg: Mapping[str, Any], model_type: str, hidden: int) -> int:
    if model_type == "gptj":
        return _int(cfg, "n_inner", default=4 * hidden)
    if model_type == "opt":
        return _int(cfg, "ffn_dim")
    if model_type in ("falcon", "RefinedWeb", "RefinedWebModel"):
        return _int(cfg, "ffn_hidden_size", default=4 * hidden)
    if cfg.get("intermediate_size") is None and cfg.get("moe_intermediate_size") is not None:
        return _int(cfg, "moe_intermediate_size")
    if cfg.get("intermediate_size") is None and cfg.get("n_inner") is not None:
        return _int(cfg, "n_inner")
    return _int(cfg, "intermediate_size")


def _sliding(cfg: Mapping[str, Any], model_type: str, n_layers: int, max_context: int) -> tuple[int, int, str]:
    """(window tokens, layers that use it, note) — (0, 0, '') when attention is full everywhere."""
    window = cfg.get("sliding_window")
    if window is None or window is False:
        return 0, 0, ""
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0 or not float(window).is_integer():
        raise ProfileError(None, "sliding_window", f"expected a number of tokens or null, got {window!r}")
    window = int(window)
    if window == 0:
        return 0, 0, ""
    if cfg.get("use_sliding_window") is False:
        return 0, 0, f"sliding_window {window} is disabled (use_sliding_window false): full attention."
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list) and layer_types:
        n_sliding = sum(1 for t in layer_types if t == "sliding_attention")
        if len(layer_types) != n_layers:
            raise ProfileError(None, "layer_types", f"expected {n_layers} entries (num_hidden_layers), got {len(layer_types)}")
        how = f"{n_sliding} of {n_layers} layers are sliding_attention (layer_types)"
    elif model_type == "gemma2":
        n_sliding = math.ceil(n_layers / 2)  # even-indexed layers are local in Gemma 2
        how = f"Gemma 2 alternates local and global layers: {n_sliding} of {n_layers} windowed"
    elif cfg.get("use_sliding_window") is True and cfg.get("max_window_layers") is not None:
        first = _int(cfg, "max_window_layers", minimum=0)
        n_sliding = max(n_layers - first, 0)  # Qwen2: layers from max_window_layers on use the window
        how = f"layers {first} and up use the window (max_window_layers): {n_sliding} of {n_layers}"
    else:
        n_sliding = n_layers
        how = f"all {n_layers} layers use it"
    if n_sliding == 0:
        return 0, 0, ""
    if window >= max_context:
        return 0, 0, f"sliding_window {window} is not shorter than the context {max_context}: full attention."
    return window, n_sliding, f"Sliding window of {window} tokens: {how}."


def _moe(cfg: Mapping[str, Any], n_layers: int) -> tuple[dict | None, str]:
    n_experts = None
    for key in ("num_local_experts", "num_experts", "n_routed_experts"):
        if cfg.get(key):
            n_experts = _int(cfg, key)
            break
    if not n_experts or n_experts < 2:
        return None, ""
    n_active = _int(cfg, "num_experts_per_tok")
    if n_active > n_experts:
        raise ProfileError(None, "num_experts_per_tok", f"expected at most {n_experts} (the number of experts), got {n_active}")
    expert = _int(cfg, "moe_intermediate_size", default=None)
    if expert is None:
        expert = _int(cfg, "intermediate_size")  # Mixtral: intermediate_size is per expert
    moe: dict[str, Any] = {"n_experts": n_experts, "n_active": n_active, "expert_intermediate_size": expert}
    n_shared = _int(cfg, "n_shared_experts", default=0, minimum=0)
    shared_size = _int(cfg, "shared_expert_intermediate_size", default=0, minimum=0)
    if n_shared:
        # DeepSeek: the shared MLP is n_shared_experts x moe_intermediate_size wide.
        moe["n_shared_experts"] = n_shared
        moe["shared_intermediate_size"] = expert
    elif shared_size:
        moe["n_shared_experts"] = 1
        moe["shared_intermediate_size"] = shared_size
    dense = _int(cfg, "first_k_dense_replace", default=0, minimum=0)
    sparse_layers = set(range(dense, n_layers))
    mlp_only = cfg.get("mlp_only_layers") or []
    if not isinstance(mlp_only, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in mlp_only):
        raise ProfileError(None, "mlp_only_layers", f"expected a list of layer indices, got {mlp_only!r}")
    sparse_layers -= set(mlp_only)
    step = _int(cfg, "decoder_sparse_step", default=1)
    if step > 1:
        sparse_layers = {i for i in sparse_layers if (i + 1) % step == 0}
    freq = _int(cfg, "moe_layer_freq", default=1)  # DeepSeek: MoE where layer_idx % moe_layer_freq == 0
    if freq > 1:
        sparse_layers = {i for i in sparse_layers if i % freq == 0}
    n_dense = n_layers - len(sparse_layers)
    if n_dense:
        moe["n_dense_layers"] = n_dense
    note = f"Mixture of experts: {n_experts} experts of {expert}, {n_active} active per token"
    if moe.get("n_shared_experts"):
        note += f", plus {moe['n_shared_experts']} shared of {moe['shared_intermediate_size']}"
    note += f"; {len(sparse_layers)} of {n_layers} layers are MoE"
    if n_dense and (dense != n_dense):
        note += " (dense layers are not all leading ones; counted as n_dense_layers, which gives the same totals)"
    return moe, note + "."


def _mla(cfg: Mapping[str, Any]) -> dict | None:
    if not cfg.get("kv_lora_rank"):
        return None
    mla = {
        "kv_lora_rank": _int(cfg, "kv_lora_rank"),
        "q_lora_rank": _int(cfg, "q_lora_rank", default=0, minimum=0),
        "qk_nope_head_dim": _int(cfg, "qk_nope_head_dim"),
        "qk_rope_head_dim": _int(cfg, "qk_rope_head_dim"),
        "v_head_dim": _int(cfg, "v_head_dim"),
    }
    return mla


def _unmodelled(cfg: Mapping[str, Any], model_type: str, hidden: int) -> list[str]:
    """What the config holds that the planner's parameter count leaves out."""
    out = []
    if model_type == "opt":
        out.append("Learned absolute position table and linear biases are not counted.")
        proj = cfg.get("word_embed_proj_dim")
        if isinstance(proj, int) and proj != hidden:
            out.append(f"word_embed_proj_dim {proj} != hidden_size {hidden}: the project_in/project_out matrices are not counted.")
    elif model_type in ("gptj", "gpt_neox"):
        out.append("Linear and LayerNorm biases are not counted.")
    elif model_type in ("falcon", "RefinedWeb", "RefinedWebModel") and cfg.get("bias"):
        out.append("Linear biases are not counted.")
    if cfg.get("attention_bias") or cfg.get("qkv_bias") or model_type in ("qwen2", "qwen2_moe"):
        out.append("QKV biases are not counted.")
    if cfg.get("num_nextn_predict_layers"):
        out.append(f"{cfg['num_nextn_predict_layers']} multi-token-prediction layer(s) are not modelled.")
    return out


def _display_name(cfg: Mapping[str, Any], model_id: str) -> str:
    repo = cfg.get("_name_or_path")
    if isinstance(repo, str) and repo.strip():
        return repo.rstrip("/").split("/")[-1]
    return model_id
