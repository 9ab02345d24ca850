"""Hugging Face config.json import: real configs reproduce the built-in profiles; bad ones fail
with the config key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import ProfileError
from planner.files.catalog import bundled_dir
from planner.files.disk import dump_yaml, read_csv_rows, read_json, read_yaml
from planner.files.hf_import import profile_from_hf_config, supported_model_types
from planner.files.models import parse_model

DATA = Path(__file__).resolve().parent / "data" / "hf"
FIXTURES = sorted(p.stem for p in DATA.glob("*.json"))


def _builtin(model_id: str):
    path = bundled_dir() / "models" / f"{model_id}.yaml"
    return parse_model(read_yaml(path), path)


def _import(config: dict, model_id: str = "imported"):
    mapping = profile_from_hf_config(config, model_id=model_id, source=f"tests/data/hf/{model_id}.json")
    return mapping, parse_model(mapping, Path(f"{model_id}.yaml"))


# Architecture fields where a built-in profile deliberately differs from its config.json.
BUILTIN_OVERRIDES = {
    "deepseek-v3": {"max_context"},  # config 163840; the README's 128K is used
}


def test_fixtures_present():
    assert FIXTURES == ["deepseek-v3", "gemma-2-9b", "gpt-j-6b", "llama-3.1-8b", "mixtral-8x7b"]


@pytest.mark.parametrize("model_id", FIXTURES)
def test_import_reproduces_builtin_profile(model_id):
    config = read_json(DATA / f"{model_id}.json")
    mapping, imported = _import(config, model_id)
    builtin = _builtin(model_id)
    assert imported.total_params == builtin.total_params
    assert imported.active_params == builtin.active_params
    assert imported.kv_cache_bytes(1, 2.0) == builtin.kv_cache_bytes(1, 2.0)
    assert imported.kv_cache_bytes(8192, 2.0) == builtin.kv_cache_bytes(8192, 2.0)
    assert imported.flops_per_token(4096) == builtin.flops_per_token(4096)
    raw = read_yaml(bundled_dir() / "models" / f"{model_id}.yaml")["architecture"]
    for key, value in raw.items():
        if key in BUILTIN_OVERRIDES.get(model_id, set()):
            continue
        assert mapping["architecture"].get(key) == value, key
    assert set(mapping["architecture"]) - set(raw) == set()


@pytest.mark.parametrize("model_id", FIXTURES)
def test_import_round_trips_through_yaml(model_id):
    mapping, imported = _import(read_json(DATA / f"{model_id}.json"), model_id)
    text = dump_yaml(mapping)
    again = parse_model(yaml.safe_load(text), Path(f"{model_id}.yaml"))
    assert again == imported
    assert list(mapping)[:4] == ["kind", "id", "name", "family"]
    assert mapping["kind"] == "model" and mapping["id"] == model_id
    assert mapping["sources"] == {"config": f"tests/data/hf/{model_id}.json"}
    assert "license" in mapping and mapping["notes"]


def test_import_is_pure():
    config = read_json(DATA / "deepseek-v3.json")
    before = dict(config)
    first = profile_from_hf_config(config, model_id="x", source="s")
    assert config == before
    assert profile_from_hf_config(config, model_id="x", source="s") == first


def test_specific_fields():
    ds, ds_model = _import(read_json(DATA / "deepseek-v3.json"))
    assert ds["architecture"]["moe"] == {
        "n_experts": 256, "n_active": 8, "expert_intermediate_size": 2048,
        "n_shared_experts": 1, "shared_intermediate_size": 2048, "n_dense_layers": 3,
    }
    assert ds_model.kv_values_per_token_per_layer == 512 + 64
    assert "multi-token-prediction" in ds["notes"]
    gptj, _ = _import(read_json(DATA / "gpt-j-6b.json"))
    assert gptj["architecture"]["intermediate_size"] == 4 * 4096  # n_inner null
    assert gptj["architecture"]["gated_mlp"] is False and gptj["family"] == "GPT-J"
    gemma, _ = _import(read_json(DATA / "gemma-2-9b.json"))
    assert gemma["architecture"]["tied_embeddings"] is True  # Gemma 2 default
    assert (gemma["architecture"]["sliding_window"], gemma["architecture"]["n_sliding_layers"]) == (4096, 21)
    mixtral, _ = _import(read_json(DATA / "mixtral-8x7b.json"))
    assert "sliding_window" not in mixtral["architecture"]  # null


# ---------------------------------------------------------------------------------------------
# Other model types, from their config key spellings


def _llama_like(**extra):
    base = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 4, "vocab_size": 1000, "max_position_embeddings": 512}
    base.update(extra)
    return base


def test_mistral_sliding_window_on_all_layers():
    arch, model = _import(_llama_like(model_type="mistral", sliding_window=128))
    assert (arch["architecture"]["sliding_window"], arch["architecture"]["n_sliding_layers"]) == (128, 4)
    assert model.kv_cache_bytes(512, 2) == model.kv_cache_bytes(128, 2)


def test_qwen2_sliding_window_disabled_or_partial():
    arch, _ = _import(_llama_like(model_type="qwen2", sliding_window=128, use_sliding_window=False, max_window_layers=2))
    assert "sliding_window" not in arch["architecture"]
    assert "QKV biases" in arch["notes"]
    arch, _ = _import(_llama_like(model_type="qwen2", sliding_window=128, use_sliding_window=True, max_window_layers=1))
    assert arch["architecture"]["n_sliding_layers"] == 3


def test_layer_types_decide_sliding_layers():
    types = ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention"]
    arch, _ = _import(_llama_like(model_type="gemma2", head_dim=32, sliding_window=128, layer_types=types))
    assert arch["architecture"]["n_sliding_layers"] == 3
    with pytest.raises(ProfileError) as info:
        _import(_llama_like(sliding_window=128, layer_types=types[:3]))
    assert info.value.field == "layer_types"


def test_window_not_shorter_than_context_is_full_attention():
    arch, _ = _import(_llama_like(model_type="qwen3", sliding_window=512))
    assert "sliding_window" not in arch["architecture"]


def test_qwen3_moe_and_phi3():
    cfg = _llama_like(model_type="qwen3_moe", num_experts=16, num_experts_per_tok=4, moe_intermediate_size=32,
                      decoder_sparse_step=1, mlp_only_layers=[], head_dim=32)
    arch, model = _import(cfg)
    assert arch["architecture"]["moe"] == {"n_experts": 16, "n_active": 4, "expert_intermediate_size": 32}
    assert arch["architecture"]["intermediate_size"] == 128 and model.n_moe_layers == 4
    arch, model = _import(dict(cfg, mlp_only_layers=[0, 3]))
    assert arch["architecture"]["moe"]["n_dense_layers"] == 2 and model.n_moe_layers == 2
    arch, _ = _import(_llama_like(model_type="phi3", sliding_window=255, num_key_value_heads=4))
    assert arch["family"] == "Phi-3" and arch["architecture"]["n_sliding_layers"] == 4


def test_qwen2_moe_shared_expert():
    cfg = _llama_like(model_type="qwen2_moe", num_experts=8, num_experts_per_tok=2, moe_intermediate_size=16,
                      shared_expert_intermediate_size=64)
    moe = _import(cfg)[0]["architecture"]["moe"]
    assert (moe["n_shared_experts"], moe["shared_intermediate_size"]) == (1, 64)


def test_gpt_neox_and_opt():
    neox = {"model_type": "gpt_neox", "hidden_size": 2048, "intermediate_size": 8192, "num_attention_heads": 16,
            "num_hidden_layers": 24, "vocab_size": 50304, "max_position_embeddings": 2048, "rotary_pct": 0.25,
            "tie_word_embeddings": False, "use_parallel_residual": True}
    arch, model = _import(neox, "pythia-1.4b")
    assert model.total_params == _builtin("pythia-1.4b").total_params
    assert arch["architecture"]["gated_mlp"] is False and arch["architecture"]["head_dim"] == 128
    opt = {"model_type": "opt", "hidden_size": 5120, "ffn_dim": 20480, "num_attention_heads": 40,
           "num_hidden_layers": 40, "vocab_size": 50272, "max_position_embeddings": 2048,
           "word_embed_proj_dim": 5120, "do_layer_norm_before": True, "enable_bias": True}
    arch, model = _import(opt, "opt-13b")
    assert model.total_params == _builtin("opt-13b").total_params
    assert arch["architecture"]["tied_embeddings"] is True
    assert "position" in arch["notes"]
    with pytest.raises(ProfileError) as info:
        _import({k: v for k, v in opt.items() if k != "ffn_dim"})
    assert info.value.field == "ffn_dim"


def test_falcon_spellings():
    new = {"model_type": "falcon", "hidden_size": 8192, "num_attention_heads": 128, "num_hidden_layers": 60,
           "num_kv_heads": 8, "new_decoder_architecture": True, "parallel_attn": True, "bias": False,
           "vocab_size": 65024}
    arch, model = _import(new, "falcon-40b")
    assert model.total_params == _builtin("falcon-40b").total_params
    assert arch["architecture"]["max_context"] == 2048 and arch["architecture"]["n_kv_heads"] == 8
    old = {"model_type": "RefinedWeb", "hidden_size": 8192, "n_head": 128, "n_layer": 60, "n_head_kv": 8,
           "parallel_attn": True, "bias": False, "vocab_size": 65024}
    assert _import(old)[1].total_params == model.total_params
    seven = {"model_type": "RefinedWebModel", "hidden_size": 4544, "n_head": 71, "n_layer": 32,
             "multi_query": True, "parallel_attn": True, "bias": False, "vocab_size": 65024}
    arch, model = _import(seven)
    assert model.attention_type == "mqa" and arch["architecture"]["head_dim"] == 64
    with pytest.raises(ProfileError) as info:
        _import({k: v for k, v in new.items() if k != "num_kv_heads"})
    assert info.value.field == "num_kv_heads"


def test_unknown_type_is_refused_unless_forced():
    with pytest.raises(ProfileError) as info:
        _import(_llama_like(model_type="someday"))
    assert info.value.field == "model_type" and "someday" in info.value.message and "--force" in info.value.message
    mapping = profile_from_hf_config(_llama_like(model_type="someday"), model_id="m", source="s", force=True)
    model = parse_model(mapping, Path("m.yaml"))
    assert mapping["family"] == "someday" and "not one the importer knows" in mapping["notes"]
    assert model.total_params == _import(_llama_like())[1].total_params


def test_multimodal_text_config():
    cfg = {"model_type": "llava", "text_config": _llama_like(), "vision_config": {"hidden_size": 32}}
    assert _import(cfg)[1].total_params == _import(_llama_like())[1].total_params


# ---------------------------------------------------------------------------------------------
# Errors name the config key


@pytest.mark.parametrize("missing", ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                                     "intermediate_size", "max_position_embeddings"])
def test_missing_required_key_is_named(missing):
    cfg = {k: v for k, v in _llama_like().items() if k != missing}
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(cfg, model_id="m", source="s")
    assert info.value.field == missing and info.value.path is None
    assert missing in str(info.value)


def test_unknown_model_type_without_fields():
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config({"model_type": "whisper", "d_ff": 1}, model_id="m", source="s")
    assert info.value.field == "model_type"
    assert "whisper" in info.value.message and "hidden_size" in info.value.message
    assert "llama" in info.value.message


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"hidden_size": "big"}, "hidden_size"),
        ({"num_hidden_layers": 0}, "num_hidden_layers"),
        ({"num_key_value_heads": 3}, "num_key_value_heads"),
        ({"tie_word_embeddings": "yes"}, "tie_word_embeddings"),
        ({"sliding_window": "wide"}, "sliding_window"),
        ({"hidden_size": 66}, "head_dim"),
        ({"num_local_experts": 8}, "num_experts_per_tok"),
        ({"num_local_experts": 2, "num_experts_per_tok": 4}, "num_experts_per_tok"),
        ({"kv_lora_rank": 16}, "qk_nope_head_dim"),
    ],
)
def test_malformed_values_are_named(patch, field):
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(_llama_like(**patch), model_id="m", source="s")
    assert info.value.field == field


def test_id_and_source_required():
    with pytest.raises(ProfileError):
        profile_from_hf_config(_llama_like(), model_id="", source="s")
    with pytest.raises(ProfileError):
        profile_from_hf_config(_llama_like(), model_id="m", source=" ")
    with pytest.raises(ProfileError):
        profile_from_hf_config([1, 2], model_id="m", source="s")  # type: ignore[arg-type]


def test_supported_types_cover_the_brief():
    for model_type in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "gemma", "gemma2",
                       "deepseek_v3", "phi3", "gptj", "gpt_neox", "opt", "falcon"):
        assert model_type in supported_model_types()


# ---------------------------------------------------------------------------------------------
# Real configs (aiconfigurator-core wheel, Apache-2.0): sized within 2 % of the published count, or refused

REAL = DATA / "aiconfigurator"
PUBLISHED = {row["file"]: row for row in read_csv_rows(REAL / "published.csv")[1]}


def _real(name: str, *, force: bool = False):
    mapping = profile_from_hf_config(read_json(REAL / name, allow_nonfinite=True), model_id=Path(name).stem, source=f"aiconfigurator/{name}", force=force)
    return mapping, parse_model(mapping, Path(name).with_suffix(".yaml"))


def test_published_table_covers_every_real_config():
    assert sorted(PUBLISHED) == sorted(p.name for p in REAL.glob("*.json"))
    assert {row["expect"] for row in PUBLISHED.values()} == {"sized", "refused"}


@pytest.mark.parametrize("name", sorted(n for n, row in PUBLISHED.items() if row["expect"] == "sized"))
def test_real_config_is_sized_within_two_percent(name):
    mapping, model = _real(name)
    published = float(PUBLISHED[name]["published_total_b"]) * 1e9
    assert model.total_params == pytest.approx(published, rel=0.02), f"{model.total_params / 1e9:.2f} B vs {published / 1e9} B"
    assert model.active_params <= model.total_params
    again = parse_model(yaml.safe_load(dump_yaml(mapping)), Path(name).with_suffix(".yaml"))
    assert again == model


@pytest.mark.parametrize("name", sorted(n for n, row in PUBLISHED.items() if row["expect"] == "refused"))
def test_real_config_is_refused_naming_what_it_does_not_understand(name):
    with pytest.raises(ProfileError) as info:
        _real(name)
    assert info.value.field and "--force" in info.value.message or "cannot" in info.value.message


def test_llama4_interleaved_moe_and_chunked_attention():
    mapping, model = _real("llama-4-maverick-17b-128e.json")
    arch = mapping["architecture"]
    assert arch["moe"] == {"n_experts": 128, "n_active": 1, "expert_intermediate_size": 8192, "n_shared_experts": 1,
                           "shared_intermediate_size": 8192, "n_dense_layers": 24}
    assert arch["intermediate_size"] == 16384  # intermediate_size_mlp: the dense layers
    assert (arch["sliding_window"], arch["n_sliding_layers"]) == (8192, 36)  # 3 of 4 layers chunked
    assert model.n_moe_layers == 24
    assert model.active_params == pytest.approx(17e9, rel=0.02)
    scout = _real("llama-4-scout-17b-16e.json")[1]
    assert scout.n_moe_layers == 48 and scout.moe.n_experts == 16


def test_nemotron_h_hybrid_stack():
    mapping, model = _real("nemotron-h-56b-base-8k.json")
    arch = mapping["architecture"]
    assert (arch["n_layers"], arch["n_attention_layers"], arch["n_mlp_layers"]) == (118, 10, 54)
    assert arch["mamba"] == {"n_layers": 54, "n_heads": 256, "head_dim": 64, "state_size": 256, "n_groups": 8, "conv_kernel": 4}
    assert arch["gated_mlp"] is False and arch["head_dim"] == 128  # relu2; attention_head_dim
    # Only the 10 attention layers hold a KV cache: 2 x 8 heads x 128 values per token each.
    per_token = model.kv_cache_bytes(1001, 2.0) - model.kv_cache_bytes(1000, 2.0)
    assert per_token == pytest.approx(10 * 2 * 8 * 128 * 2.0)
    # Mamba state per sequence: 54 layers x (16384 x 256 SSM + 3 x (16384 + 2 x 8 x 256) conv) values.
    assert model.recurrent_state_values == 54 * (16384 * 256 + 3 * (16384 + 2 * 8 * 256))
    assert model.kv_cache_bytes(0, 2.0) == model.recurrent_state_values * 2.0
    assert "54 Mamba-2" in mapping["notes"]


def test_nemotron3_moe_and_latent_moe():
    _, nano = _real("nemotron-3-nano-30b-a3b.json")
    assert (nano.attention_layers, nano.mamba.n_layers, nano.n_moe_layers) == (6, 23, 23)
    assert nano.moe.n_shared_experts == 1 and nano.moe.shared_intermediate_size == 3712
    assert nano.active_params == pytest.approx(3.6e9, rel=0.02)  # published 3.6 B with embeddings
    mapping, ultra = _real("nemotron-3-ultra-550b-a55b.json")  # layers_block_type, no num_hidden_layers
    assert mapping["architecture"]["moe"]["latent_size"] == 2048 and ultra.n_layers == 108
    assert ultra.expert_params_per_layer() == 2 * 2048 * 5120  # non-gated expert in the latent width


def test_qwen35_linear_attention_layers_hold_no_kv_cache():
    mapping, model = _real("qwen3.5-35b-a3b.json")
    arch = mapping["architecture"]
    assert arch["n_attention_layers"] == 10 and arch["attention_output_gate"] is True
    assert arch["linear_attention"] == {"kind": "gated-deltanet", "n_layers": 30, "n_key_heads": 16, "n_value_heads": 32,
                                        "key_head_dim": 128, "value_head_dim": 128, "conv_kernel": 4}
    per_token = model.kv_cache_bytes(2, 2.0) - model.kv_cache_bytes(1, 2.0)
    all_layers = 40 * 2 * 2 * 256 * 2.0  # what counting every layer as full attention gives
    assert per_token == pytest.approx(all_layers / 4)
    assert model.recurrent_state_values == 30 * (32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128))


def test_nas_block_configs():
    mapping, model = _real("llama-3.3-nemotron-super-49b.json")
    arch = mapping["architecture"]
    assert arch["n_attention_layers"] == 49 and arch["n_kv_heads"] == 8 and "n_mlp_layers" not in arch
    assert arch["intermediate_size"] == 28672 and arch["mlp_groups"][0] == {"n_layers": 49, "intermediate_size": 28672}
    assert sum(g["n_layers"] for g in arch["mlp_groups"]) == 80
    assert model.kv_cache_bytes(1, 2.0) == 49 * 2 * 8 * 128 * 2.0


def test_nas_blocks_it_cannot_size_are_refused():
    config = read_json(REAL / "llama-3.3-nemotron-super-49b.json", allow_nonfinite=True)
    config["block_configs"][3]["ffn"]["replace_with_linear"] = True
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(config, model_id="m", source="s")
    assert info.value.field == "block_configs[3].ffn.replace_with_linear"
    config = read_json(REAL / "llama-3.3-nemotron-super-49b.json", allow_nonfinite=True)
    config["block_configs"][0]["attention"]["n_heads_in_group"] = 4
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(config, model_id="m", source="s")
    assert info.value.field == "block_configs" and "KV-head" in info.value.message


def test_gpt_oss_quantization_recorded():
    mapping, model = _real("gpt-oss-20b.json")
    assert mapping["quantization"]["method"] == "mxfp4" and mapping["quantization"]["precision"] == "fp4"
    assert model.quantization["precision"] == "fp4"
    assert mapping["architecture"]["moe"]["n_active"] == 4 and mapping["architecture"]["n_sliding_layers"] == 12


def test_mla_without_head_dim_and_forced_import_lists_keys():
    with pytest.raises(ProfileError) as info:
        _real("kimi-k3.json")
    assert "head_dim" not in info.value.message  # 7168 / 96 is not an integer, but MLA does not need it
    mapping, model = _real("kimi-k3.json", force=True)
    assert model.mla is not None and mapping["architecture"]["head_dim"] == 128 + 64
    assert "linear_attn_config" in mapping["notes"] and "--force" in mapping["notes"]


# ---------------------------------------------------------------------------------------------
# Synthetic checks of each rule


def test_unknown_key_is_refused_unless_forced():
    with pytest.raises(ProfileError) as info:
        _import(_llama_like(frobnicate_layers=3, another=True))
    assert info.value.field == "another, frobnicate_layers" and "--force" in info.value.message
    mapping = profile_from_hf_config(_llama_like(frobnicate_layers=3), model_id="m", source="s", force=True)
    assert "frobnicate_layers" in mapping["notes"]
    assert _import(_llama_like(bos_token_id=1, rope_theta=1e4, attention_dropout=0.0))[1]  # irrelevant keys pass


def test_unknown_layer_kinds_are_refused_even_forced():
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(_llama_like(layer_types=["full_attention", "mystery", "full_attention", "full_attention"]),
                               model_id="m", source="s", force=True)
    assert info.value.field == "layer_types" and "mystery" in info.value.message
    hybrid = _llama_like(model_type="nemotron_h", hybrid_override_pattern="M*-X", mamba_num_heads=4, mamba_head_dim=16,
                         ssm_state_size=8)
    with pytest.raises(ProfileError) as info:
        profile_from_hf_config(hybrid, model_id="m", source="s", force=True)
    assert info.value.field == "hybrid_override_pattern" and "'X'" in info.value.message


def test_moe_layer_freq_list_and_expert_count_aliases():
    cfg = _llama_like(n_routed_experts=8, top_k_experts=2, moe_intermediate_size=32, moe_layer_freq=[0, 1, 1, 0])
    arch, model = _import(cfg)
    assert arch["architecture"]["moe"]["n_active"] == 2 and arch["architecture"]["moe"]["n_dense_layers"] == 2
    assert model.n_moe_layers == 2
    with pytest.raises(ProfileError) as info:
        _import(dict(cfg, moe_layer_freq=[0, 1, 2, 0]))
    assert info.value.field == "moe_layer_freq"
    with pytest.raises(ProfileError) as info:
        _import(dict(cfg, moe_layer_freq=[0, 1]))
    assert info.value.field == "moe_layer_freq"
    with pytest.raises(ProfileError) as info:
        _import(dict(cfg, num_experts_per_tok=4))  # two spellings that disagree
    assert info.value.field == "top_k_experts"


def test_mla_does_not_need_head_dim():
    cfg = _llama_like(hidden_size=70, kv_lora_rank=16, q_lora_rank=0, qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=8)
    arch, model = _import(cfg)
    assert arch["architecture"]["head_dim"] == 12 and model.kv_values_per_token_per_layer == 20


def test_stack_without_attention_or_mlp_is_refused():
    cfg = _llama_like(model_type="nemotron_h", hybrid_override_pattern="M-M-", mamba_num_heads=4, mamba_head_dim=16, ssm_state_size=8)
    with pytest.raises(ProfileError) as info:
        _import(cfg)
    assert "without attention" in info.value.message


# ---------------------------------------------------------------------------------------------
# Model-schema fields for hybrid stacks: defaults keep every built-in profile as it was


def test_new_schema_fields_default_to_the_homogeneous_stack():
    for path in sorted((bundled_dir() / "models").glob("*.yaml")):
        model = parse_model(read_yaml(path), path)
        assert model.attention_layers == model.n_layers and model.mlp_layers == model.n_layers
        assert model.recurrent_state_values == 0 and model.quantization == {}


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"n_attention_layers": 5}, "architecture.n_attention_layers"),
        ({"mlp_groups": [{"n_layers": 3, "intermediate_size": 64}]}, "architecture.mlp_groups"),
        ({"mlp_groups": [{"n_layers": 4}]}, "architecture.mlp_groups[0].intermediate_size"),
        ({"linear_attention": {"kind": "mamba-ish", "n_layers": 2, "n_key_heads": 2, "n_value_heads": 4,
                               "key_head_dim": 8, "value_head_dim": 8}}, "architecture.linear_attention.kind"),
        ({"linear_attention": {"n_layers": 2, "n_key_heads": 3, "n_value_heads": 4, "key_head_dim": 8,
                               "value_head_dim": 8}}, "architecture.linear_attention.n_value_heads"),
        ({"mamba": {"n_layers": 9, "n_heads": 4, "head_dim": 8, "state_size": 8}}, "architecture.mamba.n_layers"),
        ({"n_attention_layers": 2, "sliding_window": 64, "n_sliding_layers": 3}, "architecture.n_sliding_layers"),
    ],
)
def test_hybrid_schema_errors_name_the_field(patch, field):
    from planner.files.checker import ProfileErrors

    mapping = profile_from_hf_config(_llama_like(), model_id="m", source="s")
    mapping["architecture"].update(patch)
    with pytest.raises((ProfileError, ProfileErrors)) as info:
        parse_model(mapping, Path("m.yaml"))
    problems = getattr(info.value, "problems", [info.value])
    assert field in [p.field for p in problems]


@settings(max_examples=40, deadline=None)
@given(n_attention=st.integers(1, 8), n_linear=st.integers(0, 8), context=st.integers(0, 10_000))
def test_only_attention_layers_grow_with_context(n_attention, n_linear, context):
    mapping = profile_from_hf_config(_llama_like(), model_id="m", source="s")
    arch = mapping["architecture"]
    arch.update(n_layers=n_attention + n_linear, n_mlp_layers=0)
    if n_attention != arch["n_layers"]:
        arch["n_attention_layers"] = n_attention
    if n_linear:
        arch["linear_attention"] = {"n_layers": n_linear, "n_key_heads": 2, "n_value_heads": 4, "key_head_dim": 8, "value_head_dim": 8}
    model = parse_model(mapping, Path("m.yaml"))
    growth = model.kv_cache_bytes(context + 1, 1.0) - model.kv_cache_bytes(context, 1.0)
    assert growth == n_attention * model.kv_values_per_token_per_layer
    assert model.kv_cache_bytes(0, 1.0) == model.recurrent_state_values == n_linear * (4 * 8 * 8 + 3 * (2 * 16 + 32))
    assert model.total_params > 0 and model.flops_per_token(context) > 0


# ---------------------------------------------------------------------------------------------
# The command


def _cli(*args):
    from typer.testing import CliRunner

    from planner.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_refuses_with_exit_2_and_names_the_keys(tmp_path):
    import json

    config = tmp_path / "config.json"
    config.write_text(json.dumps(_llama_like(frobnicate_layers=3)))
    result = _cli("profiles", "import-hf", config, "--id", "m")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error:") and "frobnicate_layers" in result.stderr and "Traceback" not in result.stderr
    result = _cli("profiles", "import-hf", REAL / "kimi-k3.json", "--id", "k3")
    assert result.exit_code == 2 and "kimi_linear" in result.stderr
    forced = _cli("profiles", "import-hf", REAL / "kimi-k3.json", "--id", "k3", "--force")
    assert forced.exit_code == 0 and "--force" in forced.stderr and "kind: model" in forced.stdout


def test_cli_out_creates_the_folder(tmp_path):
    out = tmp_path / "myprof" / "models" / "nano.yaml"
    result = _cli("profiles", "import-hf", REAL / "nemotron-3-nano-30b-a3b.json", "--id", "nano", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "31.58 B parameters" in result.stderr
    model = parse_model(read_yaml(out), out)
    assert model.mamba is not None and model.attention_layers == 6


def test_real_configs_with_infinity_are_read():
    path = REAL / "nemotron-h-56b-base-8k.json"
    with pytest.raises(ProfileError):
        read_json(path)  # the guarded default refuses non-finite numbers
    assert read_json(path, allow_nonfinite=True)["time_step_limit"][1] == float("inf")


def test_state_precision_from_the_config():
    mapping, nano = _real("nemotron-3-nano-30b-a3b.json")  # mamba_ssm_cache_dtype float32
    assert mapping["architecture"]["state_precision"] == "fp32" and nano.state_bytes_per_value == 4.0
    assert nano.recurrent_state_bytes(2.0) == nano.recurrent_state_values * 4.0
    assert nano.kv_cache_bytes(100, 2.0) == nano.kv_cache_bytes_per_token(2.0) * 100 + nano.recurrent_state_values * 4.0
    h56 = _real("nemotron-h-56b-base-8k.json")[0]  # no dtype key: stored like the KV cache
    assert "state_precision" not in h56["architecture"]
    plain = profile_from_hf_config(_llama_like(), model_id="m", source="s")
    plain["architecture"]["state_precision"] = "fp32"
    with pytest.raises(ProfileError) as info:
        parse_model(plain, Path("m.yaml"))
    assert info.value.field == "architecture.state_precision"


def test_prefill_writes_grow_with_kv_per_token_not_with_the_state():
    from planner.cost.roofline import Scenario, forward_pass
    from planner.domain import precision
    from planner.files.catalog import Catalog

    model = _real("qwen3.5-27b.json")[1]
    bf16 = precision("bf16")
    s = Scenario(model=model, hardware=Catalog().hardware("h100-sxm"), weight_precision=bf16, kv_precision=bf16,
                 batch=1, prompt_tokens=4096, output_tokens=1)
    short = forward_pass(s, batch=1, new_tokens=1024, context_tokens=0)
    long = forward_pass(s, batch=1, new_tokens=4096, context_tokens=0)
    assert long.bytes - short.bytes == pytest.approx(3072 * model.kv_cache_bytes_per_token(2.0))
    assert model.recurrent_state_bytes(2.0) > 1000 * model.kv_cache_bytes_per_token(2.0)  # would dominate if per token


def test_profiles_show_reports_the_state(tmp_path):
    out = tmp_path / "models" / "q.yaml"
    assert _cli("profiles", "import-hf", REAL / "qwen3.5-27b.json", "--id", "q", "--out", out).exit_code == 0
    shown = _cli("profiles", "show", "q", "--profiles", tmp_path, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert "recurrent_state_bytes_per_sequence_bf16" in shown.stdout and "kv_cache_bytes_per_token_bf16" in shown.stdout


def test_blocks_count_the_all_reduces():
    plain = _import(_llama_like())[1]
    assert plain.n_blocks == 2 * plain.n_layers
    _, h56 = _real("nemotron-h-56b-base-8k.json")
    assert h56.n_blocks == 118  # one block per layer: 10 attention + 54 Mamba-2 + 54 MLP
    _, nas = _real("llama-3.3-nemotron-super-49b.json")
    assert nas.n_blocks == 49 + 80  # 31 attention blocks are no-ops


def test_llama4_moe_layers_list_and_qwen3_next_gate():
    cfg = _llama_like(model_type="llama4_text", num_local_experts=4, num_experts_per_tok=1, intermediate_size_mlp=256,
                      moe_layers=[1, 3])
    arch, model = _import(cfg)
    assert model.n_moe_layers == 2 and arch["architecture"]["intermediate_size"] == 256
    with pytest.raises(ProfileError) as info:
        _import(dict(cfg, moe_layers=[9]))
    assert info.value.field == "moe_layers"
    nxt = _llama_like(model_type="qwen3_next", head_dim=16, full_attention_interval=2, linear_num_key_heads=2,
                      linear_num_value_heads=4, linear_key_head_dim=8, linear_value_head_dim=8)
    arch, model = _import(nxt)
    assert arch["architecture"]["attention_output_gate"] is True and model.attention_layers == 2
    assert model.linear_attention.n_layers == 2
