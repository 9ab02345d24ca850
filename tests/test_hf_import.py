"""Hugging Face config.json import: real configs reproduce the built-in profiles; bad ones fail
with the config key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.errors import ProfileError
from planner.files.catalog import bundled_dir
from planner.files.disk import dump_yaml, read_json, read_yaml
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
    gptj, gptj_model = _import(read_json(DATA / "gpt-j-6b.json"))
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


def test_unknown_type_with_llama_keys_is_read():
    arch, model = _import(_llama_like(model_type="someday"))
    assert arch["family"] == "someday" and "not one the importer knows" in arch["notes"]
    assert model.total_params > 0


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
