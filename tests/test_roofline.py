"""Roofline: closed-form anchors and invariants."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.cost.roofline import (
    Scenario,
    decode_step,
    estimate,
    forward_pass,
    max_batch,
    memory_use,
    weight_bytes,
)
from planner.domain import Efficiency, precision
from planner.errors import InputError

IDEAL = Efficiency(compute={"default": 1.0}, memory_bandwidth=1.0, compute_half_tokens={"default": 0.0}, dequant_bandwidth=1.0,
                   interconnect=1.0)


def scenario(catalog, model="llama-3.1-8b", hardware="h100-sxm", **kw) -> Scenario:
    args = dict(model=catalog.model(model), hardware=catalog.hardware(hardware), weight_precision=precision("bf16"),
                kv_precision=precision("bf16"), batch=1, prompt_tokens=128, output_tokens=128)
    args.update(kw)
    return Scenario(**args)


def ideal(s: Scenario) -> Scenario:
    return dataclasses.replace(s, hardware=dataclasses.replace(s.hardware, efficiency=IDEAL))


def test_batch1_decode_is_the_weight_bandwidth_bound(catalog):
    """At batch 1, an ideal device streams every matmul weight once per token: TPOT = bytes / bandwidth."""
    s = ideal(scenario(catalog, prompt_tokens=1, output_tokens=1))
    m = s.model
    step = forward_pass(s, batch=1, new_tokens=1, context_tokens=0)
    read = (m.total_params - m.embedding_params) * 2.0
    assert step.bound == "memory"
    assert step.time_s == pytest.approx(read / s.hardware.memory_bandwidth_bytes_per_s, rel=1e-3)
    # llama-3.1-8b bf16 on H100 SXM: (8.03e9 - 0.525e9) · 2 B / 3.35e12 B/s = 4.48 ms
    assert step.time_s == pytest.approx(4.48e-3, rel=0.01)


def test_prefill_of_a_long_prompt_is_compute_bound_at_2N_per_token(catalog):
    s = ideal(scenario(catalog, prompt_tokens=4096, output_tokens=1))
    pass_ = forward_pass(s, batch=1, new_tokens=4096, context_tokens=0)
    assert pass_.bound == "compute"
    m = s.model
    dense = 2 * m.active_matmul_params * 4096
    assert pass_.flops > dense  # plus attention
    assert pass_.flops == pytest.approx(dense + 4096 * m.attention_flops_per_token(2047.5), rel=1e-9)
    assert pass_.compute_s == pytest.approx(pass_.flops / 989.5e12, rel=1e-9)


def test_weights_bytes_by_precision(catalog):
    m = catalog.model("llama-2-70b")
    bf16 = weight_bytes(m, precision("bf16"))
    assert bf16 == pytest.approx(m.total_params * 2)
    fp8 = weight_bytes(m, precision("fp8"))
    assert bf16 / 2 < fp8 < bf16 / 2 * 1.01  # embeddings stay 16 bit
    assert weight_bytes(m, precision("int4")) < fp8


def test_kv_cache_memory_matches_hand_computation(catalog):
    s = scenario(catalog, batch=8, prompt_tokens=1000, output_tokens=24)
    assert memory_use(s, 8).kv_cache == 8 * 1024 * 131072


def test_tensor_parallel_splits_weights_and_replicates_kv_beyond_kv_heads(catalog):
    one = memory_use(scenario(catalog, model="llama-2-70b"), 1)
    eight = memory_use(scenario(catalog, model="llama-2-70b", tp=8), 1)
    assert eight.weights == pytest.approx(one.weights / 8)
    assert eight.kv_cache == pytest.approx(one.kv_cache / 8)  # 8 KV heads over 8 ranks
    sixteen_heads = catalog.model("llama-2-70b").n_kv_heads
    assert sixteen_heads == 8


def test_model_that_does_not_fit_reports_shortfall(catalog):
    e = estimate(scenario(catalog, model="llama-3.1-405b", hardware="h100-sxm"))
    assert not e.fits
    assert e.memory.shortfall > 700e9
    assert e.max_batch == 0


def test_max_batch_fits_and_one_more_does_not(catalog):
    s = scenario(catalog, batch=None, prompt_tokens=1024, output_tokens=1024)
    b = max_batch(s)
    assert 0 < b < 1024
    assert memory_use(s, b).fits and not memory_use(s, b + 1).fits
    e = estimate(s)
    assert e.mode == "max-throughput" and e.batch == b


def test_moe_decode_reads_only_routed_experts_but_holds_all(catalog):
    s = ideal(scenario(catalog, model="mixtral-8x7b"))
    one = forward_pass(s, batch=1, new_tokens=1, context_tokens=0)
    m = s.model
    assert one.bytes < 0.35 * m.total_params * 2  # ~13 B of 47 B read at batch 1
    many = forward_pass(s, batch=256, new_tokens=1, context_tokens=0)
    assert many.bytes > 0.95 * (m.total_params - m.embedding_params) * 2  # every expert touched
    assert memory_use(s, 1).weights == pytest.approx(m.total_params * 2)


def test_tensor_parallel_adds_communication(catalog):
    s = scenario(catalog, model="llama-2-70b", tp=4, batch=16)
    step = decode_step(s, 16)
    assert step.communication_s > 0
    assert decode_step(scenario(catalog, model="llama-2-70b", tp=1, batch=16), 16).communication_s == 0


@pytest.mark.parametrize("field,value", [("tp", 0), ("pp", -1), ("batch", 0), ("prompt_tokens", 0), ("output_tokens", 0),
                                         ("prompt_tokens", 10**9)])
def test_invalid_scenarios_raise_clear_errors(catalog, field, value):
    with pytest.raises(InputError, match=field.split("_")[0]):
        estimate(scenario(catalog, **{field: value}))


def test_tp_must_divide_heads(catalog):
    with pytest.raises(InputError, match="divide"):
        estimate(scenario(catalog, tp=3))


def test_context_beyond_window_is_a_warning_not_an_error(catalog):
    e = estimate(scenario(catalog, model="gpt-j-6b", prompt_tokens=2048, output_tokens=2048))
    assert any("context window" in w for w in e.warnings)


# --- properties -------------------------------------------------------------------------------

models = st.sampled_from(["llama-3.1-8b", "mistral-7b", "mixtral-8x7b", "gemma-2-9b", "deepseek-v3", "llama-2-70b"])


@settings(max_examples=40, deadline=None)
@given(model=models, factor=st.floats(1.0, 4.0), batch=st.integers(1, 256), prompt=st.integers(1, 4096))
def test_more_bandwidth_never_slows_decode(catalog, model, factor, batch, prompt):
    s = scenario(catalog, model=model, batch=batch, prompt_tokens=prompt, output_tokens=64)
    faster = dataclasses.replace(s, hardware=dataclasses.replace(
        s.hardware, memory_bandwidth_bytes_per_s=s.hardware.memory_bandwidth_bytes_per_s * factor))
    assert decode_step(faster, batch).time_s <= decode_step(s, batch).time_s * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(model=models, batch=st.integers(1, 511), prompt=st.integers(1, 2048), out=st.integers(1, 1024))
def test_larger_batch_never_lowers_throughput_while_it_fits(catalog, model, batch, prompt, out):
    small = estimate(scenario(catalog, model=model, hardware="h200-sxm", batch=batch, prompt_tokens=prompt, output_tokens=out, tp=8 if model == "deepseek-v3" else 1))
    big = estimate(scenario(catalog, model=model, hardware="h200-sxm", batch=batch + 1, prompt_tokens=prompt, output_tokens=out, tp=8 if model == "deepseek-v3" else 1))
    if big.fits:
        assert big.output_tokens_per_s >= small.output_tokens_per_s * (1 - 1e-9)


@settings(max_examples=40, deadline=None)
@given(model=models, context=st.integers(1, 100_000), extra=st.integers(1, 10_000), batch=st.integers(1, 64))
def test_memory_never_shrinks_as_context_grows(catalog, model, context, extra, batch):
    s = scenario(catalog, model=model, batch=batch, prompt_tokens=context, output_tokens=1)
    longer = dataclasses.replace(s, prompt_tokens=context + extra)
    assert memory_use(longer, batch).total >= memory_use(s, batch).total


# --- issue #9: latency-regime physics ---------------------------------------------------------


def test_int4_batch1_decode_is_faster_than_fp16_on_a_bandwidth_bound_device(catalog):
    """Apple M2 Ultra, Llama-2-7B: every published llama.cpp table shows 4-bit about twice as fast as F16."""
    def tpot(p):
        return estimate(scenario(catalog, model="llama-2-7b", hardware="apple-m2-ultra", weight_precision=precision(p),
                                 kv_precision=precision("fp16"), engine=catalog.engine("generic"))).tpot_s
    fp16, int8, int4 = tpot("fp16"), tpot("int8"), tpot("int4")
    assert int4 < int8 < fp16
    assert 1.5 < fp16 / int4 < 4.0


def test_batch1_decode_has_no_compute_floor(catalog):
    s = scenario(catalog, model="llama-2-7b", hardware="apple-m2-ultra", weight_precision=precision("int4"), kv_precision=precision("fp16"))
    step = forward_pass(s, batch=1, new_tokens=1, context_tokens=128)
    assert step.bound == "memory"
    assert step.compute_s < 0.5 * step.memory_s


@pytest.mark.parametrize("hw", ["jetson-agx-orin-64gb", "apple-m2-ultra"])
def test_bf16_runs_at_the_fp16_rate_where_the_device_has_only_fp16(catalog, hw):
    def run(p):
        return estimate(scenario(catalog, hardware=hw, weight_precision=precision(p), kv_precision=precision(p),
                                 engine=catalog.engine("generic")))
    bf16, fp16 = run("bf16"), run("fp16")
    assert bf16.tpot_s == pytest.approx(fp16.tpot_s, rel=1e-9)
    assert bf16.ttft_s == pytest.approx(fp16.ttft_s, rel=1e-9)
    assert any("converted to fp16" in a for a in bf16.assumptions)


def test_per_precision_compute_efficiency_is_used(catalog):
    hw = catalog.hardware("h100-sxm")
    assert hw.efficiency.compute_for("bf16") != hw.efficiency.compute_for("fp8")
    bf16 = ideal(scenario(catalog, prompt_tokens=4096, output_tokens=1))
    assert bf16.hardware.efficiency.compute_for("bf16") == 1.0


def test_one_pass_accepts_arrays(catalog):
    import numpy as np

    s = scenario(catalog, model="mixtral-8x7b", tp=2, engine=catalog.engine("trtllm"))
    batches = np.array([1.0, 8.0, 64.0, 512.0])
    many = forward_pass(s, batch=batches, new_tokens=1, context_tokens=np.array([100.0, 200.0, 400.0, 800.0]))
    for i, b in enumerate(batches):
        one = forward_pass(s, batch=float(b), new_tokens=1, context_tokens=[100.0, 200.0, 400.0, 800.0][i])
        assert many.time_s[i] == pytest.approx(float(one.time_s), rel=1e-12)
        assert many.bytes[i] == pytest.approx(float(one.bytes), rel=1e-12)


def test_tp_that_does_not_divide_heads_lists_layouts_that_work(catalog):
    with pytest.raises(InputError) as info:
        estimate(scenario(catalog, tp=3))
    assert "tp ∈ {1, 2, 4, 8, 16, 32}" in str(info.value)
    with pytest.raises(InputError, match="attention-dp"):
        estimate(scenario(catalog, model="deepseek-v3", hardware="h200-sxm", tp=3))


def test_deepseek_v3_expert_parallel_layouts_are_expressible(catalog):
    """Attention-DP 8 × EP 8 on one H200 node fits; TP16 over two nodes is much slower to first token."""
    base = {"model": "deepseek-v3", "hardware": "h200-sxm", "weight_precision": precision("fp8"), "kv_precision": precision("fp8"),
            "batch": 64, "prompt_tokens": 1024, "output_tokens": 256, "engine": catalog.engine("sglang")}
    dp_ep = estimate(scenario(catalog, tp=1, attention_dp=8, ep=8, **base))
    assert dp_ep.fits and dp_ep.scenario.devices == 8
    tp16 = estimate(scenario(catalog, tp=16, **base))
    assert dp_ep.ttft_s < tp16.ttft_s
    # expert weights are sharded over the 8 ranks, the rest replicated per attention group
    m = memory_use(dp_ep.scenario, 64)
    assert 80e9 < m.weights < 0.3 * dp_ep.scenario.model.total_params
    # the all-to-all shows up as communication
    assert dp_ep.decode_step.communication_s > 0


def test_ep_must_divide_the_stage_and_needs_an_moe_model(catalog):
    with pytest.raises(InputError, match="divide"):
        estimate(scenario(catalog, model="deepseek-v3", hardware="h200-sxm", tp=8, ep=3))
    with pytest.raises(InputError, match="dense model"):
        estimate(scenario(catalog, ep=2, tp=2))


def test_batch_max_reports_one_consistent_run(catalog):
    e = estimate(scenario(catalog, batch=None, prompt_tokens=2048, output_tokens=256, engine=catalog.engine("vllm")))
    pre = float(e.prefill.time_s)
    assert e.e2e_latency_s == pytest.approx(pre + (256 - 1) * e.tpot_s)
    assert e.ttft_idle_s < e.ttft_s <= pre
    assert e.output_tokens_per_s == pytest.approx(e.batch * 256 / e.e2e_latency_s)


def test_energy_follows_the_power_model_not_rated_power(catalog):
    e = estimate(scenario(catalog, engine=catalog.engine("trtllm")))
    hw = e.scenario.hardware
    assert hw.power_w * 0.2 <= e.mean_power_w < hw.power_w
    assert any("idle power" in a for a in e.assumptions)
