"""Tests for planner.accuracy.quantization and its file parser: the penalty's properties, profile parsing, the fit, published anchors."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.accuracy.quantization import (
    QuantPenalty,
    QuantPoint,
    apply_penalty,
    classify_precision,
    fit_penalty,
    is_aggregate,
    pass_k_of,
)
from planner.errors import ProfileError, UnknownNameError
from planner.files.catalog import Catalog
from planner.files.quantization import parse_penalty


@functools.cache
def default() -> QuantPenalty:
    return Catalog().get("quantization", "default", parse_penalty)


def _minimal(**overrides) -> dict:
    data = {"kind": "quantization", "id": "test", "form": "logit-power", "alpha": 0.5,
            "weight": {"int4": 0.2, "fp8": 0.01}, "kv": {"int8": 0.0, "int4": 0.3}, "kv_aliases": {"fp8": "int8"},
            "sources": {"data": "test"}}
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------------
# Properties


def test_zero_at_bf16_and_fp16():
    p = np.linspace(0, 1, 11)
    for prec in ("bf16", "fp16", "fp32"):
        assert np.array_equal(apply_penalty(p, params=8e9, precision=prec, penalty=default()), p)
    assert apply_penalty(0.4, params=8e9, precision="bf16", kv_precision="bf16", penalty=default()) == 0.4


def test_shape_and_endpoints():
    p = np.array([[0.0, 0.3], [0.7, 1.0]])
    out = apply_penalty(p, params=8e9, precision="int4", penalty=default())
    assert out.shape == p.shape and out[0, 0] == 0.0 and out[1, 1] == 1.0
    assert isinstance(apply_penalty(0.5, params=8e9, precision="int4", penalty=default()), float)


@settings(max_examples=80, deadline=None)
@given(p=st.floats(0, 1), log_n=st.floats(8.5, 12), prec=st.sampled_from(["bf16", "fp8", "int8", "int4", "fp4"]),
       kv=st.sampled_from([None, "bf16", "fp8", "int8", "int4"]))
def test_penalty_never_raises_accuracy(p, log_n, prec, kv):
    q = apply_penalty(p, params=10**log_n, precision=prec, kv_precision=kv, penalty=default())
    assert 0.0 <= q <= p


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 0.99), log_n=st.floats(8.5, 11.5), factor=st.floats(1.5, 100),
       prec=st.sampled_from(["fp8", "int8", "int4", "fp4"]))
def test_penalty_shrinks_with_model_size(p, log_n, factor, prec):
    small = p - apply_penalty(p, params=10**log_n, precision=prec, penalty=default())
    large = p - apply_penalty(p, params=10**log_n * factor, precision=prec, penalty=default())
    assert large <= small + 1e-15


def test_fewer_bits_cost_more_and_fp8_is_near_lossless():
    pen = default()
    drops = {prec: 0.5 - apply_penalty(0.5, params=8e9, precision=prec, penalty=pen) for prec in ("fp8", "int8", "int4", "fp4")}
    assert drops["fp8"] < drops["int4"] < drops["fp4"]
    assert drops["fp8"] < 0.005  # under half an accuracy point at p = 0.5 for an 8B model


def test_gap_shrinks_at_pass_at_k():
    # The penalty acts per sample; aggregated over k samples the absolute gap in pass@k shrinks for
    # problems a model solves at least 30 % of the time (for rarely solved ones, p < ~0.15, it grows:
    # k samples turn a small per-sample loss into a larger coverage loss).
    pen = default()
    p = np.linspace(0.3, 0.95, 14)
    q = apply_penalty(p, params=1.5e9, precision="int4", penalty=pen)
    gap1 = p - q
    gap10 = (1 - (1 - p) ** 10) - (1 - (1 - q) ** 10)
    assert np.all(gap10 < gap1)


def test_unknown_precisions():
    with pytest.raises(UnknownNameError, match="int4"):
        apply_penalty(0.5, params=8e9, precision="int5", penalty=default())
    with pytest.raises(UnknownNameError):
        apply_penalty(0.5, params=8e9, precision="int4", kv_precision="int2", penalty=default())


# ---------------------------------------------------------------------------------------------
# Published anchors (rows of shared/data/quant_points.csv, copied here with their sources)
#   Liu et al. 2025 (arXiv 2504.04823) Table 3: DeepSeek-R1-Distill-Llama 8B / 70B, W4A16-AWQ-g128, MATH-500.
#   Neural Magic cards Meta-Llama-3.1-{8B,70B}-Instruct-quantized.w4a16 (GPTQ g128), MMLU 5-shot.
#   Liu et al. 2025 Table 1: DeepSeek-R1-Distill-Qwen-1.5B W4A16-AWQ-g128, MATH-500.
#   Neural Magic card Meta-Llama-3.1-70B-Instruct-FP8-dynamic, GSM8K (CoT, 8-shot, strict).
ANCHORS = [
    # model, params, precision, baseline %, published quantized %, tolerance (points)
    ("DeepSeek-R1-Distill-Llama-8B", 8e9, "int4", 89.6, 88.2, 2.0),
    ("DeepSeek-R1-Distill-Llama-70B", 70e9, "int4", 96.0, 94.6, 2.0),
    ("Llama-3.1-8B-Instruct", 8e9, "int4", 68.3, 66.9, 1.5),
    ("Llama-3.1-70B-Instruct", 70e9, "int4", 83.9, 83.6, 1.5),
    ("DeepSeek-R1-Distill-Qwen-1.5B", 1.5e9, "int4", 84.4, 82.6, 2.0),
    ("Llama-3.1-70B-Instruct", 70e9, "fp8", 94.9, 94.5, 1.0),
]


@pytest.mark.parametrize("name,params,prec,base,published,tol", ANCHORS, ids=[f"{a[0]}-{a[2]}" for a in ANCHORS])
def test_published_anchor(name, params, prec, base, published, tol):
    predicted = 100 * apply_penalty(base / 100, params=params, precision=prec, penalty=default())
    assert predicted == pytest.approx(published, abs=tol)


def test_int4_costs_8b_more_than_70b_at_equal_baseline():
    pen = default()
    d8 = 0.9 - apply_penalty(0.9, params=8e9, precision="int4", penalty=pen)
    d70 = 0.9 - apply_penalty(0.9, params=70e9, precision="int4", penalty=pen)
    assert d8 > 2 * d70


# ---------------------------------------------------------------------------------------------
# Profile parsing


def test_shipped_profile_has_provenance():
    pen = default()
    assert pen.form == "logit-power" and set(pen.weight) >= {"fp8", "int8", "int4", "fp4"}
    assert {"n_points", "rmse_points", "leave_one_model_out_rmse_points"} <= set(pen.fit)
    assert pen.params_range[0] <= 8e9 <= pen.params_range[1]
    assert "liu2025" in pen.sources and pen.intervals["weight.int4"][0] <= pen.weight["int4"] <= pen.intervals["weight.int4"][1]


def test_parse_penalty_accepts_minimal_mapping():
    pen = parse_penalty(_minimal(), Path("test.yaml"))
    assert pen.coefficient("int4", "fp8") == pytest.approx(0.2)  # fp8 KV aliases int8 (0)
    assert pen.coefficient("int4", "int4") == pytest.approx(0.5)


@pytest.mark.parametrize("overrides,field", [
    ({"alpha": "fast"}, "alpha"),
    ({"alpha": -1}, "alpha"),
    ({"form": "cubic"}, "form"),
    ({"weight": {"int4": -0.1}}, "weight.int4"),
    ({"weight": {"bf16": 0.1}}, "weight.bf16"),
    ({"weight": {}}, "weight"),
    ({"kv_aliases": {"fp8": "int2"}}, "kv_aliases.fp8"),
    ({"intervals": {"alpha": [1, 0]}}, "intervals.alpha"),
    ({"sources": {"data": ""}}, "sources.data"),
    ({"colour": "red"}, "colour"),
    ({"kind": "model"}, "kind"),
    ({"id": "other"}, "id"),
])
def test_parse_penalty_names_the_field(overrides, field):
    with pytest.raises(ProfileError) as err:
        parse_penalty(_minimal(**overrides), Path("test.yaml"))
    assert err.value.field == field
    assert "test.yaml" in str(err.value)


def test_parse_penalty_missing_field():
    data = _minimal()
    del data["weight"]
    with pytest.raises(ProfileError, match="weight"):
        parse_penalty(data, Path("test.yaml"))


# ---------------------------------------------------------------------------------------------
# Data mapping and fitting


@pytest.mark.parametrize("label,expected", [
    ("int4:W4A16-AWQ-g128", ("int4", None)),
    ("int4:GGUF-Q4_K_M(4.90 bpw, unsloth)", ("int4", None)),
    ("int8:W8A8KV8-SmoothQuant", ("int8", "int8")),
    ("int8:W8A8-INT8 (GPTQ W per-channel, dyn per-token A)", ("int8", None)),
    ("fp8:W8A8-FP8-dynamic", ("fp8", None)),
    ("kv4:W16A16KV4-QuaRot", (None, "int4")),
    ("fp4:W4A4KV4-MXFP4", ("mxfp4", "int4")),
    ("fp4:NVFP4 (ModelOpt PTQ, W4A4) vs FP8 native", ("fp4", None)),
    ("int4:W4A4KV4-FlatQuant", ("int4-w4a4", "int4")),
    ("fp4:W4A4-NVFP4-QAT", None),
    ("int2:GGUF-Q2_K(3.20 bpw, unsloth)", None),
])
def test_classify_precision(label, expected):
    assert classify_precision(label) == expected


def test_dataset_helpers():
    assert is_aggregate("5-benchmark average") and is_aggregate("AVG10 (arc_c,...)") and not is_aggregate("MATH-500")
    assert pass_k_of("HumanEval pass@10") == 10 and pass_k_of("HumanEval pass@1") == 1 and pass_k_of("GSM8K") == 1


def test_fit_recovers_synthetic_parameters():
    rng = np.random.default_rng(1)
    truth = QuantPenalty(id="truth", form="logit-power", alpha=0.6, weight={"int4": 0.5, "fp8": 0.05}, kv={"int4": 0.8})
    points = []
    for i, (n, prec, kv) in enumerate([(n, w, k) for n in (1.5e9, 8e9, 32e9, 70e9)
                                        for w, k in (("int4", None), ("fp8", None), (None, "int4"))]):
        for base in rng.uniform(0.2, 0.9, 5):
            q = apply_penalty(base, params=n, precision=prec or "bf16", kv_precision=kv, penalty=truth)
            points.append(QuantPoint(model=f"m{n:g}", params=n, dataset="d", weight=prec, kv=kv, baseline=base,
                                     accuracy=q + rng.normal(0, 0.002)))
    fit = fit_penalty(points)
    assert fit.success and fit.n_points == len(points)
    assert fit.alpha == pytest.approx(0.6, abs=0.15)
    assert fit.weight["int4"] == pytest.approx(0.5, rel=0.3)
    assert fit.kv["int4"] == pytest.approx(0.8, rel=0.3)
    assert fit.rmse_points < 0.5


def test_naive_baseline_is_scored_like_the_penalty():
    from planner.accuracy.quantization import naive_leave_one_model_out

    pts = [QuantPoint(model=f"m{i}", params=n, dataset="d", weight="int4", kv=None, baseline=0.5, accuracy=0.5 - d)
           for i, (n, d) in enumerate([(1e9, 0.06), (8e9, 0.02), (70e9, 0.01)])]
    out = naive_leave_one_model_out(pts)
    # leaving out m0 predicts 0.5 - mean(0.02, 0.01) = 0.485 against 0.44: +4.5 points
    assert out["n_scored"] == 3 and abs(out["rmse_points_by_format"]["int4"] - np.sqrt((4.5**2 + 1.5**2 + 3.0**2) / 3)) < 1e-9
