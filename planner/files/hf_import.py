"""Hugging Face ``config.json`` -> model profile mapping (pure: no file system, no network).

The CLI reads the JSON with ``files.disk.read_json``, calls :func:`profile_from_hf_config` and writes
the result with ``dump_yaml`` + ``atomic_write``. The mapping has the layout of a built-in model
profile (``kind, id, name, family, hf_repo, architecture{...}, quantization, license, sources,
notes``) and is accepted by ``files.models.parse_model``.

The importer never sizes a model silently wrong: it refuses (``ProfileError``, exit 2 in the CLI)

* an unknown ``model_type``,
* any config key it did not read and does not know to be irrelevant to the parameter count and the
  KV cache (the error names every such key),
* a layer pattern with a layer kind it cannot size,

unless ``force=True`` (``--force``), which imports with the Llama key names and lists what was not
understood in the profile's notes. Layer kinds it cannot size are refused even then.

Per layer, a *mixer* (softmax attention — full, sliding-window or chunked —, Gated-DeltaNet linear
attention, Mamba-2, or nothing) and an *MLP* (dense of some width, mixture of experts, or nothing)
are read from whichever the config uses:

* ``layer_types`` (``full_attention``, ``sliding_attention``, ``chunked_attention``,
  ``linear_attention``), ``full_attention_interval`` (Qwen3-Next/3.5), Gemma 2's alternation,
  ``max_window_layers``, Llama 4's chunked attention on its RoPE layers (``attention_chunk_size``,
  ``no_rope_layers``);
* Nemotron-H ``hybrid_override_pattern`` (``M`` Mamba-2, ``*`` attention, ``-`` MLP, ``E`` MoE) or
  ``layers_block_type`` (``mamba``, ``attention``, ``mlp``, ``moe``), one block per layer;
* Nemotron-NAS / DeciLM ``block_configs`` (attention or no-op per layer, FFN width from ``ffn_mult``);
* mixture of experts: ``num_local_experts / num_experts / n_routed_experts``, ``num_experts_per_tok /
  experts_per_token / num_experts_per_token / top_k_experts``, ``moe_intermediate_size``, shared
  experts, ``first_k_dense_replace``, ``mlp_only_layers``, ``decoder_sparse_step``, ``moe_layer_freq``
  (an integer period or a per-layer 0/1 list), ``interleave_moe_layer_step`` with
  ``intermediate_size_mlp`` (Llama 4), ``moe_latent_size`` (Nemotron-3 latent MoE);
* multi-head latent attention (``kv_lora_rank`` ...; no ``head_dim`` needed), the attention output gate
  (``attn_output_gate``), non-gated MLPs (``relu2``, GELU families);
* ``quantization_config``, summarised into the profile's ``quantization`` block.

Parameter counting (planner.domain) ignores biases, learned position tables, small norms, attention
sinks and multi-token-prediction modules; the notes of the returned profile say which of these the
config holds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from planner.errors import ProfileError

# model_type -> (family shown in reports, gated MLP, tied embeddings when the config does not say)
_TYPES: dict[str, tuple[str, bool, bool]] = {
    "llama": ("Llama", True, False),
    "llama4": ("Llama 4", True, False),
    "llama4_text": ("Llama 4", True, False),
    "mistral": ("Mistral", True, False),
    "mixtral": ("Mixtral", True, False),
    "qwen2": ("Qwen2", True, False),
    "qwen2_moe": ("Qwen2-MoE", True, False),
    "qwen3": ("Qwen3", True, False),
    "qwen3_moe": ("Qwen3-MoE", True, False),
    "qwen3_vl": ("Qwen3-VL", True, False),
    "qwen3_vl_moe": ("Qwen3-VL-MoE", True, False),
    "qwen3_next": ("Qwen3-Next", True, False),
    "qwen3_5": ("Qwen3.5", True, False),
    "qwen3_5_moe": ("Qwen3.5-MoE", True, False),
    "gemma": ("Gemma", True, True),
    "gemma2": ("Gemma 2", True, True),
    "deepseek_v2": ("DeepSeek-V2", True, False),
    "deepseek_v3": ("DeepSeek-V3", True, False),
    "deepseek_v32": ("DeepSeek-V3.2", True, False),
    "kimi_k2": ("Kimi K2", True, False),
    "kimi_k25": ("Kimi K2.5", True, False),
    "glm_moe_dsa": ("GLM-5", True, False),
    "minimax_m2": ("MiniMax-M2", True, False),
    "step3p7": ("Step-3.7", True, False),
    "gpt_oss": ("gpt-oss", True, False),
    "mimo": ("MiMo", True, False),
    "nemotron_h": ("Nemotron-H", False, False),
    "nemotron-nas": ("Nemotron-NAS", True, False),
    "phi3": ("Phi-3", True, False),
    "gptj": ("GPT-J", False, False),
    "gpt_neox": ("GPT-NeoX", False, False),
    "opt": ("OPT", False, True),
    "falcon": ("Falcon", False, True),
    "RefinedWeb": ("Falcon", False, True),
    "RefinedWebModel": ("Falcon", False, True),
}

# Multimodal wrappers: the language model is under ``text_config``; encoders are not counted.
_WRAPPERS = {"llava", "llama4", "qwen3_vl", "qwen3_vl_moe", "qwen3_5", "qwen3_5_moe", "kimi_k25"}

# Alternative spellings of the core keys, first found wins (GPT-J/GPT-2 style, old Falcon, NemotronH).
_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads"),
    "num_key_value_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "seq_length", "max_sequence_length"),
    "head_dim": ("head_dim", "attention_head_dim"),
    "num_experts_per_tok": ("num_experts_per_tok", "experts_per_token", "num_experts_per_token", "top_k_experts"),
    "n_shared_experts": ("n_shared_experts", "num_shared_experts"),
}

_CORE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")

# Keys that change neither the parameter count nor the KV cache: bookkeeping, generation defaults,
# initialisation and training losses, numerics, position-encoding details, routing rules.
_IRRELEVANT = frozenset({
    # bookkeeping and Hugging Face PretrainedConfig defaults
    "architectures", "auto_map", "transformers_version", "torch_dtype", "dtype", "use_cache", "_attn_implementation",
    "_commit_hash", "tokenizer_class", "prefix", "problem_type", "finetuning_task", "id2label", "label2id",
    "pruned_heads", "return_dict", "return_dict_in_generate", "output_attentions", "output_hidden_states",
    "output_scores", "torchscript", "use_bfloat16", "tf_legacy_loss", "chunk_size_feed_forward", "is_decoder",
    "is_encoder_decoder", "add_cross_attention", "cross_attention_hidden_size", "tie_encoder_decoder",
    "task_specific_params", "bad_words_ids", "begin_suppress_tokens", "suppress_tokens", "diversity_penalty",
    "do_sample", "early_stopping", "encoder_no_repeat_ngram_size", "exponential_decay_length_penalty",
    "forced_bos_token_id", "forced_eos_token_id", "length_penalty", "max_length", "min_length",
    "no_repeat_ngram_size", "num_beam_groups", "num_beams", "num_return_sequences", "remove_invalid_values",
    "repetition_penalty", "temperature", "top_k", "top_p", "typical_p", "ignore_index", "image_placeholder",
    "video_placeholder", "num_logits_to_keep", "cache_implementation", "use_return_dict", "gradient_checkpointing",
    "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels", "summary_first_dropout",
    "classifier_dropout", "hidden_dropout_prob", "attention_probs_dropout_prob",
    # initialisation, dropout, losses, numerics
    "initializer_range", "attention_dropout", "hidden_dropout", "embd_pdrop", "resid_pdrop", "attn_pdrop",
    "dropout", "activation_dropout", "rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "layernorm_epsilon",
    "norm_eps", "rescale_prenorm_residual", "residual_in_fp32", "pretraining_tp", "router_aux_loss_coef",
    "aux_loss_alpha", "seq_aux", "output_router_logits", "router_jitter_noise", "swiglu_limit",
    "final_logit_softcapping", "attn_logit_softcapping", "query_pre_attn_scalar", "init_std", "layerdrop",
    "scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn",
    # residual wiring and norm placement (no weights)
    "use_parallel_residual", "parallel_attn", "apply_residual_connection_post_layernorm", "do_layer_norm_before",
    "layer_norm_elementwise_affine", "_remove_final_layer_norm",
    # position encoding
    "rope_theta", "rope_scaling", "rope_parameters", "rope_interleave", "partial_rotary_factor", "rotary_dim",
    "rotary_pct", "rotary_emb_base", "use_mrope", "initial_context_length", "rotary", "alibi",
    "original_max_position_embeddings", "scale_embedding",
    # activations (the MLP's gating is decided by model_type or mlp_hidden_act)
    "hidden_act", "hidden_activation", "activation_function", "mamba_hidden_act",
    # expert routing rules (not sizes)
    "scoring_func", "topk_method", "n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor", "ep_size",
    "moe_router_dtype", "use_routing_bias", "use_moe_router_bias", "moe_router_scaling_factor",
    # Mamba kernels and initialisation
    "use_mamba_kernels", "chunk_size", "time_step_floor", "time_step_limit", "time_step_max", "time_step_min",
    "time_step_rank",
    # query/key norms (a few thousand parameters)
    "use_qk_norm", "qk_norm_type",
})

# Keys of a multimodal wrapper around text_config: encoders and projectors are not counted (noted).
_WRAPPER_KEYS = frozenset({
    "text_config", "vision_config", "audio_config", "vision_feature_layer", "vision_feature_select_strategy",
    "projector_hidden_act", "projector_hidden_size", "multimodal_projector_bias", "image_grid_pinpoints",
    "image_seq_length", "vision_soft_tokens_per_image", "use_unified_vision_chunk", "tie_word_embeddings",
    "model_type", "_name_or_path", "language_model_only",
})

# deepseek_sparse_attention (GLM-5.x): MLA with an indexer that picks the attended tokens; the cache is full.
_ATTENTION_KINDS = ("full_attention", "sliding_attention", "chunked_attention", "deepseek_sparse_attention")
_LAYER_KINDS = (*_ATTENTION_KINDS, "linear_attention")
_NEMOTRON_H_CHARS = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}


def supported_model_types() -> list[str]:
    """The ``model_type`` values the importer knows (others need ``force``)."""
    return sorted(_TYPES)


def profile_from_hf_config(config: Mapping[str, Any], *, model_id: str, source: str, force: bool = False) -> dict:
    """Build a model-profile mapping from a Hugging Face ``config.json`` object.

    ``model_id`` becomes the profile id (and file name); ``source`` is the citation stored as
    ``sources.config`` (a URL or a path). Raises ``ProfileError(path=None, field=<config key>)``
    naming the key that is missing, malformed or not understood; ``force`` imports an unknown
    ``model_type`` with the Llama key names and keys it does not understand (listed in the notes).
    """
    if not isinstance(config, Mapping):
        raise ProfileError(None, None, f"expected a JSON object (config.json), got {type(config).__name__}")
    if not str(model_id or "").strip():
        raise ProfileError(None, "id", "expected a profile id (e.g. 'llama-3.1-8b'), got nothing")
    if not str(source or "").strip():
        raise ProfileError(None, "sources.config", "expected a citation for the config (URL or path), got nothing")
    outer = _Config(config)
    cfg, wrapped = _text_config(outer)
    outer_type = str(outer.get("model_type") or "")
    inner_type = str(cfg.get("model_type") or "") if wrapped else outer_type
    # A wrapper's own type names the family where known (llama4, qwen3_5_moe); else its language model's (llava).
    model_type = outer_type if outer_type in _TYPES or not inner_type else inner_type
    known = model_type in _TYPES
    if not known and not any(_find(cfg, k) is not None for k in _CORE):
        expected = ", ".join(_CORE)
        raise ProfileError(
            None,
            "model_type",
            f"unknown model_type {model_type or '(none)'!r} and none of the keys {expected} found; "
            f"expected a transformer config.json (supported model_type values: {', '.join(supported_model_types())})",
        )
    if not known and not force:
        raise ProfileError(
            None,
            "model_type",
            f"unknown model_type {model_type or '(none)'!r}: the importer cannot vouch for its size; supported: "
            f"{', '.join(supported_model_types())}; pass --force to read it with Llama key names (check the result)",
        )
    family, gated, tied_default = _TYPES.get(model_type, (model_type or "unknown", True, False))
    notes: list[str] = []
    if not known:
        notes.append(f"model_type {model_type or '(none)'!r} is not one the importer knows; read with Llama key names and a gated MLP (forced; check gated_mlp).")
    if wrapped:
        notes.append("Multimodal checkpoint: only the language model (text_config) is counted; vision/audio encoders and projectors are not.")

    n_layers = _n_layers(cfg, model_type)
    hidden = _int(cfg, "hidden_size")
    n_heads = _int(cfg, "num_attention_heads")
    vocab = _int(cfg, "vocab_size")
    n_kv = _kv_heads(cfg, model_type, n_heads)
    mla, mla_head_dim = _mla(cfg)
    head_dim = mla_head_dim or _int(cfg, "head_dim", default=None)
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
    tied = cfg.get("tie_word_embeddings")
    if tied is None and wrapped:
        tied = outer.get("tie_word_embeddings")
    if tied is None:
        tied = tied_default
    if not isinstance(tied, bool):
        raise ProfileError(None, "tie_word_embeddings", f"expected true or false, got {tied!r}")
    if model_type == "nemotron_h":
        gated = _nemotron_h_gated(cfg)

    # -- which block each layer has ---------------------------------------------------------------
    if model_type == "nemotron_h":
        mixers, mlps = _nemotron_h_layers(cfg, n_layers)
    elif model_type == "nemotron-nas":
        mixers, mlps, nas_kv = _nas_layers(cfg, n_layers, n_heads, hidden)
        n_kv = nas_kv or n_kv
    else:
        mixers = _mixers(cfg, model_type, n_layers)
        mlps = ["mlp"] * n_layers
    moe, moe_note = _moe(cfg, model_type, mlps, n_layers)
    if moe_note:
        notes.append(moe_note)

    widths = Counter(m for m in mlps if isinstance(m, int))
    if model_type == "nemotron-nas":
        cfg.get("intermediate_size")  # null: each block states its own width
        intermediate = max(widths) if widths else _int(cfg, "intermediate_size")
    else:
        intermediate = _intermediate(cfg, model_type, hidden)
        if model_type in ("llama4", "llama4_text") and moe:
            intermediate = _int(cfg, "intermediate_size_mlp", default=intermediate)  # dense layers' width

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

    n_attention = sum(1 for m in mixers if m in _ATTENTION_KINDS)
    if n_attention == 0:
        raise ProfileError(None, "layer_types", f"no softmax-attention layer among {n_layers}: a stack without attention cannot be represented")
    window, n_windowed, window_note = _sliding(cfg, model_type, mixers, max_context)
    if window_note:
        notes.append(window_note)
    if window:
        arch["sliding_window"] = window
        arch["n_sliding_layers"] = n_windowed
    if moe:
        arch["moe"] = moe
    if mla:
        arch["mla"] = mla
        notes.append("Multi-head latent attention: the KV cache holds kv_lora_rank + qk_rope_head_dim values per token per layer.")

    n_mlp = sum(1 for m in mlps if m != "none")
    if n_mlp == 0:
        raise ProfileError(None, "layers", f"no MLP or MoE block among {n_layers} layers: such a stack cannot be represented")
    if n_attention != n_layers:
        arch["n_attention_layers"] = n_attention
    if n_mlp != n_layers:
        arch["n_mlp_layers"] = n_mlp
    if len(widths) > 1:
        arch["mlp_groups"] = [{"n_layers": n, "intermediate_size": w} for w, n in sorted(widths.items(), key=lambda x: (-x[0], x[1]))]
    if model_type == "qwen3_next":  # Qwen3NextAttention always doubles q_proj into query and gate
        arch["attention_output_gate"] = True
    elif _flag(cfg, "attn_output_gate") and not mla:
        arch["attention_output_gate"] = True  # one gate value per query channel (sigmoid or swish: same size)
        cfg.get("output_gate_type")
    n_mamba = mixers.count("mamba")
    if n_mamba:
        arch["mamba"] = _mamba(cfg, n_mamba)
    n_linear = mixers.count("linear_attention")
    if n_linear:
        arch["linear_attention"] = _linear_attention(cfg, n_linear)
    state = _state_precision(cfg)  # read whether or not there is state to store
    if state and (n_mamba or n_linear):
        arch["state_precision"] = state
    stack = _stack_note(n_layers, n_attention, n_mamba, n_linear, n_mlp)
    if stack:
        notes.append(stack)

    notes.extend(_unmodelled(cfg, model_type, hidden))
    name = _display_name(cfg, outer, model_id)
    repo = cfg.get("_name_or_path") or outer.get("_name_or_path")
    quantization = _quantization(cfg.get("quantization_config") if "quantization_config" in cfg else outer.get("quantization_config"))

    unknown = cfg.unread(_IRRELEVANT) + [f"(wrapper) {k}" for k in outer.unread(_IRRELEVANT | _WRAPPER_KEYS)] if wrapped else cfg.unread(_IRRELEVANT)
    if unknown and not force:
        raise ProfileError(
            None,
            ", ".join(unknown),
            f"config key(s) the importer does not understand ({len(unknown)}); they may change the model's size or "
            "KV cache, so it refuses to guess. Pass --force to import without them (they are listed in the profile's notes)",
        )
    if unknown:
        notes.append(f"Imported with --force; keys not understood (may change the size): {', '.join(unknown)}.")

    profile: dict[str, Any] = {
        "kind": "model",
        "id": model_id,
        "name": name,
        "family": family,
    }
    if isinstance(repo, str) and repo.count("/") == 1 and not repo.startswith((".", "/")):
        profile["hf_repo"] = repo
    profile["architecture"] = arch
    if quantization:
        profile["quantization"] = quantization
    profile["license"] = "unknown (config.json carries no license)"
    profile["sources"] = {"config": str(source)}
    profile["notes"] = " ".join(["Imported from config.json" + (f" (model_type {model_type})." if model_type else "."), *notes]).strip()
    return profile


# ---------------------------------------------------------------------------------------------
# Reading with a record of what was read


class _Config(Mapping[str, Any]):
    """A config mapping that records which keys were looked up (read keys count as understood)."""

    def __init__(self, data: Mapping[str, Any]):
        self._data = dict(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def unread(self, irrelevant: frozenset[str]) -> list[str]:
        """Keys present but neither read nor known to be irrelevant to the size."""
        return sorted(
            k for k in self._data
            if k not in self.read and k not in irrelevant and not k.endswith(("_token_id", "_token_ids", "_token_index"))
        )


def _text_config(outer: _Config) -> tuple[_Config, bool]:
    """Multimodal configs nest the language model under ``text_config``; use it when the top level has no dims."""
    inner = outer.get("text_config")
    if isinstance(inner, Mapping) and _find(outer, "hidden_size") is None and _find(inner, "hidden_size") is not None:
        return _Config(inner), True
    return outer, False


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


def _flag(cfg: Mapping[str, Any], key: str) -> bool:
    value = cfg.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProfileError(None, key, f"expected true or false, got {value!r}")
    return value


def _int_list(cfg: Mapping[str, Any], key: str, n_layers: int | None = None) -> list[int] | None:
    value = cfg.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise ProfileError(None, key, f"expected a list of integers, got {value!r}")
    if n_layers is not None and len(value) != n_layers:
        raise ProfileError(None, key, f"expected {n_layers} entries (one per layer), got {len(value)}")
    return value


# ---------------------------------------------------------------------------------------------
# Dimensions


def _n_layers(cfg: Mapping[str, Any], model_type: str) -> int:
    declared = _int(cfg, "num_hidden_layers", default=None)
    pattern = None
    if model_type == "nemotron_h":
        pattern = _nemotron_h_pattern(cfg)
    if pattern is None:
        if declared is None:
            _int(cfg, "num_hidden_layers")  # raises: required key is missing
        return declared
    if declared is not None and declared != len(pattern):
        raise ProfileError(None, "num_hidden_layers", f"{declared} does not match the layer pattern's {len(pattern)} layers")
    return len(pattern)


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


# ---------------------------------------------------------------------------------------------
# Layer patterns


def _mixers(cfg: Mapping[str, Any], model_type: str, n_layers: int) -> list[str]:
    """Each layer's sequence mixer for transformer-style configs."""
    kinds = _int_list(cfg, "attn_type_list", n_layers)  # MiniMax: 1 = softmax attention, 0 = lightning (linear)
    if kinds is not None and any(k != 1 for k in kinds):
        raise ProfileError(None, "attn_type_list", f"{sum(1 for k in kinds if k != 1)} lightning (linear) attention layers: the importer cannot size them")
    layer_types = cfg.get("layer_types")
    cfg.get("full_attention_interval")  # Qwen3-Next/3.5 state the same pattern in layer_types when both are given
    if layer_types is not None:
        if not isinstance(layer_types, list) or not layer_types:
            raise ProfileError(None, "layer_types", f"expected a list of layer kinds, got {layer_types!r}")
        if len(layer_types) != n_layers:
            raise ProfileError(None, "layer_types", f"expected {n_layers} entries (num_hidden_layers), got {len(layer_types)}")
        unknown = sorted({str(t) for t in layer_types if t not in _LAYER_KINDS})
        if unknown:
            raise ProfileError(None, "layer_types", f"layer kind(s) the importer cannot size: {', '.join(unknown)}; expected {', '.join(_LAYER_KINDS)}")
        return [str(t) for t in layer_types]
    interval = _int(cfg, "full_attention_interval", default=None)
    if interval is not None:  # Qwen3-Next: every interval-th layer is full attention, the others linear
        return ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(n_layers)]
    if model_type in ("llama4", "llama4_text") and cfg.get("attention_chunk_size"):
        # Llama 4: RoPE layers use chunked local attention, NoPE layers (every no_rope_layer_interval-th,
        # Hugging Face default 4) attend globally.
        no_rope = _int_list(cfg, "no_rope_layers", n_layers)
        if no_rope is None:
            step = _int(cfg, "no_rope_layer_interval", default=4)
            no_rope = [int((i + 1) % step != 0) for i in range(n_layers)]
        return ["chunked_attention" if use_rope else "full_attention" for use_rope in no_rope]
    return ["full_attention"] * n_layers


def _sliding(cfg: Mapping[str, Any], model_type: str, mixers: list[str], max_context: int) -> tuple[int, int, str]:
    """(window tokens, layers that use it, note) — (0, 0, '') when attention is full everywhere."""
    n_attention = sum(1 for m in mixers if m in _ATTENTION_KINDS)
    n_chunked = mixers.count("chunked_attention")
    for key in ("use_sliding_window", "max_window_layers"):  # only matter with a window
        cfg.get(key)
    if n_chunked:
        chunk = _int(cfg, "attention_chunk_size")
        if chunk >= max_context:
            return 0, 0, f"attention_chunk_size {chunk} is not shorter than the context {max_context}: full attention."
        return chunk, n_chunked, (f"Chunked local attention of {chunk} tokens on {n_chunked} of {n_attention} attention layers "
                                  "(the KV cache of those layers is capped at one chunk, as for a sliding window).")
    window = cfg.get("sliding_window")
    n_marked = mixers.count("sliding_attention")
    if window is None or window is False:
        if n_marked:
            raise ProfileError(None, "sliding_window", f"layer_types marks {n_marked} layers sliding_attention but no window size is given")
        return 0, 0, ""
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0 or not float(window).is_integer():
        raise ProfileError(None, "sliding_window", f"expected a number of tokens or null, got {window!r}")
    window = int(window)
    if window == 0:
        return 0, 0, ""
    if cfg.get("use_sliding_window") is False:
        return 0, 0, f"sliding_window {window} is disabled (use_sliding_window false): full attention."
    if "layer_types" in cfg and cfg.get("layer_types") is not None:
        n_sliding = n_marked
        how = f"{n_sliding} of {n_attention} attention layers are sliding_attention (layer_types)"
    elif model_type == "gemma2":
        n_sliding = math.ceil(len(mixers) / 2)  # even-indexed layers are local in Gemma 2
        how = f"Gemma 2 alternates local and global layers: {n_sliding} of {len(mixers)} windowed"
    elif cfg.get("use_sliding_window") is True and cfg.get("max_window_layers") is not None:
        first = _int(cfg, "max_window_layers", minimum=0)
        n_sliding = max(len(mixers) - first, 0)  # Qwen2: layers from max_window_layers on use the window
        how = f"layers {first} and up use the window (max_window_layers): {n_sliding} of {len(mixers)}"
    else:
        n_sliding = n_attention
        how = f"all {n_attention} attention layers use it"
    if n_sliding == 0:
        return 0, 0, ""
    if window >= max_context:
        return 0, 0, f"sliding_window {window} is not shorter than the context {max_context}: full attention."
    return window, n_sliding, f"Sliding window of {window} tokens: {how}."


def _nemotron_h_pattern(cfg: Mapping[str, Any]) -> list[str] | None:
    pattern = cfg.get("hybrid_override_pattern")
    blocks = cfg.get("layers_block_type")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise ProfileError(None, "hybrid_override_pattern", f"expected a string of M, *, - and E, got {pattern!r}")
        bad = sorted(set(pattern) - set(_NEMOTRON_H_CHARS))
        if bad:
            raise ProfileError(None, "hybrid_override_pattern",
                               f"layer kind(s) the importer cannot size: {', '.join(repr(b) for b in bad)}; expected M (Mamba-2), * (attention), - (MLP), E (MoE)")
        return [_NEMOTRON_H_CHARS[ch] for ch in pattern]
    if blocks is not None:
        if not isinstance(blocks, list) or not blocks:
            raise ProfileError(None, "layers_block_type", f"expected a list of block kinds, got {blocks!r}")
        bad = sorted({str(b) for b in blocks if b not in _NEMOTRON_H_CHARS.values()})
        if bad:
            raise ProfileError(None, "layers_block_type", f"block kind(s) the importer cannot size: {', '.join(bad)}; expected mamba, attention, mlp, moe")
        return [str(b) for b in blocks]
    return None


def _nemotron_h_layers(cfg: Mapping[str, Any], n_layers: int) -> tuple[list[str], list[Any]]:
    """Nemotron-H: one block per layer (Mamba-2, attention, MLP or MoE)."""
    pattern = _nemotron_h_pattern(cfg)
    if pattern is None:
        raise ProfileError(None, "hybrid_override_pattern", "nemotron_h config without hybrid_override_pattern or layers_block_type: cannot tell which layer is which")
    mixers = ["full_attention" if b == "attention" else "mamba" if b == "mamba" else "none" for b in pattern]
    mlps = ["mlp" if b == "mlp" else "moe" if b == "moe" else "none" for b in pattern]
    return mixers, mlps


def _nemotron_h_gated(cfg: Mapping[str, Any]) -> bool:
    """Nemotron-H MLPs and experts are up/down projections with one activation (relu2): not gated."""
    act = cfg.get("mlp_hidden_act")
    if act is not None and act not in ("relu2", "relu", "gelu", "silu"):
        raise ProfileError(None, "mlp_hidden_act", f"expected relu2 (or another single activation), got {act!r}")
    return False


def _ffn_mult_to_width(ffn_mult: float, hidden: int) -> int:
    """DeciLM / Nemotron-NAS FFN width: int(2 * ffn_mult * hidden / 3) rounded up to a multiple of 256
    (``_ffn_mult_to_intermediate_size`` in the models' ``modeling_decilm.py``; vLLM ``nemotron_nas.py``)."""
    width = int(2 * ffn_mult * hidden / 3)
    return -(-width // 256) * 256


def _nas_layers(cfg: Mapping[str, Any], n_layers: int, n_heads: int, hidden: int) -> tuple[list[str], list[Any], int]:
    """Nemotron-NAS (DeciLM) ``block_configs``: per layer, attention or nothing, and an FFN of its own width."""
    blocks = cfg.get("block_configs")
    if not isinstance(blocks, list) or len(blocks) != n_layers:
        got = f"{len(blocks)} entries" if isinstance(blocks, list) else repr(blocks)
        raise ProfileError(None, "block_configs", f"expected one block per layer ({n_layers}), got {got}")
    mixers: list[str] = []
    mlps: list[Any] = []
    groups: set[int] = set()
    for i, block in enumerate(blocks):
        where = f"block_configs[{i}]"
        attention = block.get("attention") if isinstance(block, Mapping) else None
        ffn = block.get("ffn") if isinstance(block, Mapping) else None
        if not isinstance(attention, Mapping) or not isinstance(ffn, Mapping):
            raise ProfileError(None, where, f"expected a mapping with 'attention' and 'ffn', got {block!r}")
        extra_a = sorted(k for k, v in attention.items()
                         if k not in ("n_heads_in_group", "no_op", "replace_with_linear") and v not in (None, False))
        extra_f = sorted(k for k, v in ffn.items() if k not in ("ffn_mult", "no_op", "replace_with_linear") and v not in (None, False))
        if extra_a or extra_f:
            keys = [f"{where}.attention.{k}" for k in extra_a] + [f"{where}.ffn.{k}" for k in extra_f]
            raise ProfileError(None, ", ".join(keys), "block options the importer cannot size (sparsity, windows or sinks)")
        if attention.get("replace_with_linear") or ffn.get("replace_with_linear"):
            part = "attention" if attention.get("replace_with_linear") else "ffn"
            raise ProfileError(None, f"{where}.{part}.replace_with_linear", "a block replaced by a linear layer cannot be represented in a model profile")
        if attention.get("no_op"):
            mixers.append("none")
        else:
            group = attention.get("n_heads_in_group")
            if isinstance(group, bool) or not isinstance(group, int) or group < 1 or n_heads % group:
                raise ProfileError(None, f"{where}.attention.n_heads_in_group", f"expected a divisor of num_attention_heads ({n_heads}), got {group!r}")
            groups.add(group)
            mixers.append("full_attention")
        if ffn.get("no_op"):
            mlps.append("none")
        else:
            mult = ffn.get("ffn_mult")
            if isinstance(mult, bool) or not isinstance(mult, (int, float)) or mult <= 0:
                raise ProfileError(None, f"{where}.ffn.ffn_mult", f"expected a positive number, got {mult!r}")
            mlps.append(_ffn_mult_to_width(float(mult), hidden))
    if len(groups) > 1:
        raise ProfileError(None, "block_configs", f"attention layers with different KV-head groupings ({sorted(groups)}) cannot be represented in one profile")
    n_kv = n_heads // groups.pop() if groups else 0
    return mixers, mlps, n_kv


def _stack_note(n_layers: int, n_attention: int, n_mamba: int, n_linear: int, n_mlp: int) -> str:
    if n_attention == n_layers and n_mlp == n_layers:
        return ""
    parts = [f"{n_attention} attention"]
    if n_mamba:
        parts.append(f"{n_mamba} Mamba-2")
    if n_linear:
        parts.append(f"{n_linear} linear-attention (Gated DeltaNet)")
    parts.append(f"{n_mlp} MLP/MoE")
    kv = "only the attention layers hold a KV cache" + ("; the others hold a fixed-size state per sequence" if n_mamba or n_linear else "")
    return f"Layer stack of {n_layers}: {', '.join(parts)} blocks; {kv}."


# ---------------------------------------------------------------------------------------------
# Blocks


def _moe(cfg: Mapping[str, Any], model_type: str, mlps: list[Any], n_layers: int) -> tuple[dict | None, str]:
    """Mixture of experts; turns the MoE layers' entries of ``mlps`` into 'moe' (in place)."""
    n_experts, first = None, ""
    for key in ("num_local_experts", "num_experts", "n_routed_experts"):
        if not cfg.get(key):
            continue
        if n_experts is None:
            n_experts, first = _int(cfg, key), key
        elif cfg.get(key) != n_experts:
            raise ProfileError(None, key, f"disagrees with {first} ({n_experts}): got {cfg.get(key)!r}")
    if not n_experts or n_experts < 2:
        for key in ("mlp_only_layers", "decoder_sparse_step", "moe_layer_freq", "first_k_dense_replace"):
            cfg.get(key)  # without experts every MLP is dense whatever these say
        if "moe" in mlps:
            raise ProfileError(None, "n_routed_experts", "the layer pattern has MoE layers but no expert count is given")
        return None, ""
    n_active = _int(cfg, "num_experts_per_tok")
    for alias in _ALIASES["num_experts_per_tok"]:
        if cfg.get(alias) is not None and cfg.get(alias) != n_active:
            raise ProfileError(None, alias, f"disagrees with {_which(cfg, 'num_experts_per_tok')} ({n_active}): got {cfg.get(alias)!r}")
    if n_active > n_experts:
        raise ProfileError(None, _which(cfg, "num_experts_per_tok"), f"expected at most {n_experts} (the number of experts), got {n_active}")
    expert = _int(cfg, "moe_intermediate_size", default=None)
    if expert is None:
        expert = _int(cfg, "expert_intermediate_size", default=None)
    if expert is None:
        expert = _int(cfg, "intermediate_size")  # Mixtral, gpt-oss, MiniMax, Llama 4: intermediate_size is per expert
    moe: dict[str, Any] = {"n_experts": n_experts, "n_active": n_active, "expert_intermediate_size": expert}
    n_shared = _int(cfg, "n_shared_experts", default=0, minimum=0)
    shared_size = 0
    for key in ("shared_expert_intermediate_size", "moe_shared_expert_intermediate_size", "shared_intermediate_size", "share_expert_dim"):
        if cfg.get(key) is not None:
            shared_size = _int(cfg, key, minimum=0)
            break
    if model_type in ("llama4", "llama4_text"):
        n_shared, shared_size = 1, expert  # Llama4TextMoe always adds one shared expert of the expert width
    if shared_size:
        # Qwen2-MoE, Nemotron-H, MiniMax, Step: one shared MLP of the stated width.
        moe["n_shared_experts"] = 1
        moe["shared_intermediate_size"] = shared_size
    elif n_shared:
        # DeepSeek: the shared MLP is n_shared_experts x moe_intermediate_size wide.
        moe["n_shared_experts"] = n_shared
        moe["shared_intermediate_size"] = expert

    if n_shared > 1 and shared_size:
        note_shared = f" (config also says n_shared_experts {n_shared}; {shared_size} is read as their total width)"
    else:
        note_shared = ""
    if "moe" not in mlps:  # transformer-style: decide which layers are MoE
        sparse = _sparse_layers(cfg, model_type, n_layers)
        for i in range(n_layers):
            if i in sparse and mlps[i] != "none":
                mlps[i] = "moe"
    n_moe = mlps.count("moe")
    if n_moe == 0:
        raise ProfileError(None, "n_routed_experts", f"{n_experts} experts are declared but no layer is a MoE layer")
    n_dense = sum(1 for m in mlps if m not in ("moe", "none"))
    if n_dense:
        moe["n_dense_layers"] = n_dense
    latent = _int(cfg, "moe_latent_size", default=0, minimum=0)
    if latent:
        moe["latent_size"] = latent
    note = f"Mixture of experts: {n_experts} experts of {expert}, {n_active} active per token"
    if moe.get("n_shared_experts"):
        note += f", plus {moe['n_shared_experts']} shared of {moe['shared_intermediate_size']}{note_shared}"
    if latent:
        note += f"; routed experts work in a {latent}-wide latent (projections counted)"
    note += f"; {n_moe} of {n_layers} layers are MoE"
    leading = next((i for i, m in enumerate(mlps) if m == "moe"), 0)
    if n_dense and any(m not in ("moe", "none") for m in mlps[leading:]):
        note += " (dense layers are not all leading ones; counted as n_dense_layers, which gives the same totals)"
    return moe, note + "."


def _sparse_layers(cfg: Mapping[str, Any], model_type: str, n_layers: int) -> set[int]:
    """Indices of the MoE layers of a transformer-style config."""
    dense = _int(cfg, "first_k_dense_replace", default=0, minimum=0)
    sparse = set(range(dense, n_layers))
    mlp_only = cfg.get("mlp_only_layers") or []
    if not isinstance(mlp_only, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in mlp_only):
        raise ProfileError(None, "mlp_only_layers", f"expected a list of layer indices, got {mlp_only!r}")
    sparse -= set(mlp_only)
    step = _int(cfg, "decoder_sparse_step", default=1)
    if step > 1:
        sparse = {i for i in sparse if (i + 1) % step == 0}
    interleave = _int(cfg, "interleave_moe_layer_step", default=1)
    if interleave > 1:  # Llama 4: layers interleave-1, 2*interleave-1, ... are MoE
        sparse = {i for i in sparse if (i + 1) % interleave == 0}
    listed = cfg.get("moe_layers")  # Llama 4 (newer configs): the MoE layers' indices
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_layers for i in listed):
            raise ProfileError(None, "moe_layers", f"expected a list of layer indices below {n_layers}, got {listed!r}")
        sparse &= set(listed)
    kinds = cfg.get("mlp_layer_types")  # GLM-5.x: 'dense' or 'sparse' per layer
    if kinds is not None:
        if not isinstance(kinds, list) or len(kinds) != n_layers or any(k not in ("dense", "sparse") for k in kinds):
            raise ProfileError(None, "mlp_layer_types", f"expected {n_layers} entries of 'dense' or 'sparse', got {kinds!r}")
        sparse = {i for i in sparse if kinds[i] == "sparse"}
    freq = cfg.get("moe_layer_freq")
    if isinstance(freq, list):  # MiniMax-M3, MiMo-V2: a 0/1 flag per layer
        flags = _int_list(cfg, "moe_layer_freq", n_layers) or []
        if any(f not in (0, 1) for f in flags):
            raise ProfileError(None, "moe_layer_freq", f"expected a list of 0/1 flags (1 = MoE layer), got {flags!r}")
        sparse = {i for i in sparse if flags[i]}
    else:
        period = _int(cfg, "moe_layer_freq", default=1)  # DeepSeek: MoE where layer_idx % moe_layer_freq == 0
        if period > 1:
            sparse = {i for i in sparse if i % period == 0}
    return sparse


def _mla(cfg: Mapping[str, Any]) -> tuple[dict | None, int]:
    """Multi-head latent attention and the per-head query/key width it implies (no ``head_dim`` needed)."""
    if not cfg.get("kv_lora_rank"):
        return None, 0
    mla = {
        "kv_lora_rank": _int(cfg, "kv_lora_rank"),
        "q_lora_rank": _int(cfg, "q_lora_rank", default=0, minimum=0),
        "qk_nope_head_dim": _int(cfg, "qk_nope_head_dim"),
        "qk_rope_head_dim": _int(cfg, "qk_rope_head_dim"),
        "v_head_dim": _int(cfg, "v_head_dim"),
    }
    width = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
    stated = _int(cfg, "qk_head_dim", default=width)
    if stated != width:
        raise ProfileError(None, "qk_head_dim", f"expected qk_nope_head_dim + qk_rope_head_dim ({width}), got {stated}")
    cfg.get("head_dim")  # GLM-5 states the RoPE width again as head_dim; MLA sizes do not use it
    return mla, width


def _mamba(cfg: Mapping[str, Any], n_layers: int) -> dict:
    """Mamba-2 block shape (Nemotron-H): inner width = mamba_num_heads * mamba_head_dim (``expand`` is not used)."""
    cfg.get("expand")
    mamba = {
        "n_layers": n_layers,
        "n_heads": _int(cfg, "mamba_num_heads"),
        "head_dim": _int(cfg, "mamba_head_dim"),
        "state_size": _int(cfg, "ssm_state_size"),
        "n_groups": _int(cfg, "n_groups", default=1),
        "conv_kernel": _int(cfg, "conv_kernel", default=4),
    }
    if mamba["n_heads"] % mamba["n_groups"]:
        raise ProfileError(None, "n_groups", f"expected a divisor of mamba_num_heads ({mamba['n_heads']}), got {mamba['n_groups']}")
    return mamba


_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def _state_precision(cfg: Mapping[str, Any]) -> str:
    """Storage of the Mamba / linear-attention state when the config names it (``mamba_ssm_cache_dtype``,
    ``mamba_ssm_dtype``; vLLM keeps the SSM state in that type), else '' (as the KV cache)."""
    for key in ("mamba_ssm_cache_dtype", "mamba_ssm_dtype"):
        value = cfg.get(key)
        if value is None or value == "auto":
            continue
        if value not in _DTYPES:
            raise ProfileError(None, key, f"expected one of {', '.join(_DTYPES)} (or auto), got {value!r}")
        return _DTYPES[value]
    return ""


def _linear_attention(cfg: Mapping[str, Any], n_layers: int) -> dict:
    """Gated DeltaNet block shape (Qwen3-Next, Qwen3.5)."""
    linear = {
        "kind": "gated-deltanet",
        "n_layers": n_layers,
        "n_key_heads": _int(cfg, "linear_num_key_heads"),
        "n_value_heads": _int(cfg, "linear_num_value_heads"),
        "key_head_dim": _int(cfg, "linear_key_head_dim"),
        "value_head_dim": _int(cfg, "linear_value_head_dim"),
        "conv_kernel": _int(cfg, "linear_conv_kernel_dim", default=4),
    }
    if linear["n_value_heads"] % linear["n_key_heads"]:
        raise ProfileError(None, "linear_num_value_heads", f"expected a multiple of linear_num_key_heads ({linear['n_key_heads']}), got {linear['n_value_heads']}")
    return linear


# ---------------------------------------------------------------------------------------------
# Quantization and notes


_QUANT_PRECISION = {"fp8": "fp8", "mxfp4": "fp4", "nvfp4": "fp4", "fp4": "fp4", "int8": "int8", "int4": "int4", "w4a16": "int4",
                    "w8a8": "int8", "nvfp4_awq": "fp4"}


def _quantization(qc: Any) -> dict[str, str]:
    """Summary of ``quantization_config``: method, the planner precision of the weights where clear, details."""
    if qc is None:
        return {}
    if not isinstance(qc, Mapping):
        raise ProfileError(None, "quantization_config", f"expected a mapping, got {qc!r}")
    method = str(qc.get("quant_method") or qc.get("quant_algo") or "unknown")
    precision = ""
    bits = qc.get("bits") if qc.get("bits") is not None else qc.get("w_bit")
    weights = None
    groups = qc.get("config_groups")
    if isinstance(groups, Mapping) and groups:
        first = next(iter(groups.values()))
        weights = first.get("weights") if isinstance(first, Mapping) else None
    if method.lower() in _QUANT_PRECISION:
        precision = _QUANT_PRECISION[method.lower()]
    elif isinstance(qc.get("quant_algo"), str) and qc["quant_algo"].lower() in _QUANT_PRECISION:
        precision = _QUANT_PRECISION[qc["quant_algo"].lower()]
    elif isinstance(weights, Mapping) and weights.get("num_bits") in (4, 8):
        kind = "fp" if weights.get("type") == "float" else "int"
        precision = f"{kind}{weights['num_bits']}"
    elif bits in (4, 8) and method.lower() in ("awq", "gptq", "bitsandbytes", "compressed-tensors"):
        precision = f"int{bits}"
    elif qc.get("load_in_4bit"):
        precision = "int4"
    elif qc.get("load_in_8bit"):
        precision = "int8"
    details = []
    for key in ("fmt", "format", "quant_algo", "bits", "group_size", "weight_block_size", "activation_scheme"):
        value = qc.get(key)
        if value is not None and key != "quant_method":
            details.append(f"{key} {value}")
    if isinstance(weights, Mapping):
        for key in ("num_bits", "type", "group_size", "strategy"):
            if weights.get(key) is not None:
                details.append(f"weights.{key} {weights[key]}")
    for key in ("modules_to_not_convert", "ignore", "ignored_layers", "exclude_modules"):
        value = qc.get(key)
        if isinstance(value, list) and value:
            details.append(f"{len(value)} module pattern(s) left unquantized ({key})")
    out = {"method": method}
    if precision:
        out["precision"] = precision
    if details:
        out["details"] = "; ".join(details)
    return out


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
    elif model_type in ("falcon", "RefinedWeb", "RefinedWebModel"):
        cfg.get("parallel_attn")
        if cfg.get("bias"):
            out.append("Linear biases are not counted.")
    if cfg.get("attention_bias") or cfg.get("qkv_bias") or model_type in ("qwen2", "qwen2_moe"):
        out.append("QKV biases are not counted.")
    biases = [k for k in ("mlp_bias", "use_bias", "mamba_proj_bias", "enable_bias") if cfg.get(k)]
    cfg.get("use_conv_bias")  # the Mamba convolution's bias is counted
    if biases and model_type not in ("opt", "gptj", "gpt_neox", "falcon", "RefinedWeb", "RefinedWebModel"):
        out.append(f"Linear biases ({', '.join(biases)}) are not counted.")
    if model_type == "gpt_oss":
        out.append("Attention sinks (one value per head per layer) are not counted.")
    mtp = [k for k in ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_modules", "mtp_transformer_layers") if cfg.get(k)]
    for key in ("use_mtp", "mtp_use_dedicated_embeddings", "mtp_hybrid_override_pattern", "mtp_layers_block_type", "moe_shared_expert_overlap"):
        cfg.get(key)
    if mtp:
        out.append(f"The multi-token-prediction modules ({', '.join(f'{k} {cfg[k]}' for k in mtp)}) are not counted (as in published counts).")
    if cfg.get("index_n_heads"):
        n, d = _int(cfg, "index_n_heads"), _int(cfg, "index_head_dim")
        for key in ("index_topk", "index_topk_freq", "index_topk_pattern", "indexer_types", "index_skip_topk_offset",
                    "index_share_for_mtp_iteration", "indexer_rope_interleave"):
            cfg.get(key)
        out.append(f"DeepSeek sparse attention: the lightning indexer ({n} heads of {d}; about {hidden * (n + d) + n * d * _int(cfg, 'q_lora_rank', default=hidden):,} "
                   f"parameters and {d} cached values per token per layer) is not counted; attention FLOPs assume dense attention.")
    if model_type in ("llama4", "llama4_text"):
        for key in ("attn_temperature_tuning", "floor_scale", "attn_scale", "for_llm_compressor", "no_rope_layer_interval"):
            cfg.get(key)
    return out


def _display_name(cfg: Mapping[str, Any], outer: Mapping[str, Any], model_id: str) -> str:
    repo = cfg.get("_name_or_path")
    if not repo:
        repo = outer.get("_name_or_path")
    if isinstance(repo, str) and repo.strip():
        return repo.rstrip("/").split("/")[-1]
    return model_id
