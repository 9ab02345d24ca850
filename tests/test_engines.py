"""Engine profiles: parsing, sources, collective model, and what an engine changes in an estimate."""

import dataclasses

import pytest

from planner.cost.roofline import Scenario, allreduce_seconds, estimate, forward_pass
from planner.domain import Engine, precision
from planner.errors import ProfileError
from planner.files.catalog import bundled_dir
from planner.files.checker import ProfileErrors
from planner.files.disk import read_yaml
from planner.files.engines import parse_engine

ENGINES_DIR = bundled_dir() / "engines"
BUILT_IN = ("generic", "trtllm", "vllm", "sglang")


@pytest.mark.parametrize("engine_id", BUILT_IN)
def test_built_in_engines_load_with_sources(catalog, engine_id):
    e = catalog.engine(engine_id)
    assert e.id == engine_id
    assert {"scheduler", "overheads"} <= set(e.sources)
    assert 0 <= e.step_overhead_s < 5e-3 and 0 <= e.layer_overhead_s < 5e-4
    assert set(e.allreduce_step_latency_s) == {"fabric", "pcie", "network"}
    assert e.max_batch >= 256 and e.max_num_tokens >= 2048 and e.prefill_chunk_tokens >= 2048


def test_vllm_and_sglang_say_their_fixed_costs_are_borrowed(catalog):
    for engine_id in ("vllm", "sglang"):
        e = catalog.engine(engine_id)
        assert not e.calibrated
        assert "trtllm" in e.note


def _raw(engine_id="trtllm"):
    return read_yaml(ENGINES_DIR / f"{engine_id}.yaml")


def test_unknown_and_missing_keys_are_all_reported(tmp_path):
    raw = _raw()
    raw["overheads"]["setp"] = raw["overheads"].pop("step")
    del raw["allreduce"]["step_latency"]["pcie"]
    raw["allreduce"]["algorithm"]["fabric"] = ["one-shot", "butterfly"]
    with pytest.raises(ProfileErrors) as info:
        parse_engine(raw, tmp_path / "trtllm.yaml")
    text = str(info.value)
    assert "overheads.setp" in text and "did you mean 'step'" in text
    assert "allreduce.step_latency.pcie" in text and "required" in text
    assert "allreduce.algorithm.fabric" in text and "ring, tree, one-shot, two-shot" in text


def test_id_must_match_the_file_name(tmp_path):
    with pytest.raises(ProfileError, match="expected 'other'"):
        parse_engine(_raw(), tmp_path / "other.yaml")


@pytest.mark.parametrize(("algorithm", "ranks", "steps", "traffic"), [
    ("ring", 4, 6, 1.5), ("ring", 8, 14, 1.75), ("tree", 8, 6, 1.75), ("one-shot", 8, 1, 7.0), ("two-shot", 8, 2, 1.75),
    ("ring", 1, 0, 0.0),
])
def test_allreduce_steps_and_traffic(algorithm, ranks, steps, traffic):
    assert Engine.allreduce_steps(algorithm, ranks) == steps
    assert Engine.allreduce_traffic_factor(algorithm, ranks) == pytest.approx(traffic)


def test_the_faster_custom_algorithm_is_taken_for_each_message_size(catalog):
    """One-shot wins for small (latency-bound) messages, two-shot for large (bandwidth-bound) ones."""
    s = _scenario(catalog, tp=8)
    lat = s.engine.allreduce_step_latency_s["fabric"]
    bw = s.hardware.intra_node_bandwidth_bytes_per_s * s.hardware.efficiency.interconnect
    small, large = 1e3, 3e7
    assert allreduce_seconds(s, 8, small) == pytest.approx(lat + 7 * small / bw)
    assert allreduce_seconds(s, 8, large) == pytest.approx(2 * lat + 1.75 * large / bw)


def _scenario(catalog, **kw):
    args = {"model": catalog.model("llama-3.1-70b"), "hardware": catalog.hardware("h100-sxm"), "weight_precision": precision("bf16"),
            "kv_precision": precision("bf16"), "batch": 1, "prompt_tokens": 1024, "output_tokens": 256, "engine": catalog.engine("trtllm")}
    args.update(kw)
    return Scenario(**args)


def test_allreduce_is_latency_plus_bytes_over_the_link(catalog):
    s = _scenario(catalog, tp=4)
    e, hw = s.engine, s.hardware
    message = 1e6
    link = hw.intra_node_bandwidth_bytes_per_s * hw.efficiency.interconnect
    expected = min(Engine.allreduce_steps(a, 4) * e.allreduce_step_latency_s["fabric"] + Engine.allreduce_traffic_factor(a, 4) * message / link
                   for a in e.allreduce_algorithm["fabric"])
    assert allreduce_seconds(s, 4, message) == pytest.approx(expected)
    # beyond one node the network link and its latency are used
    s16 = _scenario(catalog, tp=16)
    assert allreduce_seconds(s16, 16, message, span=16) > allreduce_seconds(s, 8, message)


def test_pcie_collectives_cost_more_than_nvlink(catalog):
    nvlink = _scenario(catalog, tp=4)
    pcie = _scenario(catalog, tp=4, hardware=dataclasses.replace(catalog.hardware("h100-sxm"), intra_node_link="pcie",
                                                                 intra_node_bandwidth_bytes_per_s=64e9))
    assert allreduce_seconds(pcie, 4, 1e5) > allreduce_seconds(nvlink, 4, 1e5)


def test_tp8_batch1_decode_is_faster_than_tp4_on_nvlink(catalog):
    """Issue #9: fixed costs must not swamp the bandwidth gained by splitting the weights."""
    for engine in BUILT_IN:
        tp4 = estimate(_scenario(catalog, tp=4, engine=catalog.engine(engine)))
        tp8 = estimate(_scenario(catalog, tp=8, engine=catalog.engine(engine)))
        assert tp8.tpot_s < tp4.tpot_s * 0.85, engine


def test_engine_overheads_enter_every_pass(catalog):
    s = _scenario(catalog)
    bare = forward_pass(dataclasses.replace(s, engine=Engine()), batch=1, new_tokens=1, context_tokens=1024)
    with_engine = forward_pass(s, batch=1, new_tokens=1, context_tokens=1024)
    e = s.engine
    assert with_engine.overhead_s - bare.overhead_s == pytest.approx(e.step_overhead_s + e.layer_overhead_s * s.model.n_layers)


def test_engine_max_batch_caps_the_max_throughput_batch(catalog):
    s = _scenario(catalog, model=catalog.model("llama-3.1-8b"), batch=None,
                  engine=dataclasses.replace(catalog.engine("vllm"), max_batch=64))
    assert estimate(s).batch == 64


def test_no_engine_warns(catalog):
    e = estimate(_scenario(catalog, model=catalog.model("llama-3.1-8b"), engine=Engine()))
    assert any("no engine profile" in w for w in e.warnings)


# --- calibration bands (profiles/calibration/bands.yaml) ----------------------------------------


def test_bands_cover_every_regime_an_estimate_can_have(catalog):
    from planner.cost.roofline import regime

    bands = catalog.bands()
    for batch in (1, 64):
        for tp in (1, 4):
            for hw in ("h100-sxm", "apple-m2-ultra", "jetson-agx-orin-64gb"):
                s = _scenario(catalog, model=catalog.model("llama-3.1-8b"), hardware=catalog.hardware(hw), batch=batch, tp=tp)
                band = bands.for_regime(regime(s))
                assert band is not None and band.low <= 1.0 <= band.high * 1.5 and band.rows >= bands.min_rows


def test_a_thin_regime_falls_back_to_its_widest_axis():
    from planner.domain import Band, BandTable

    table = BandTable(min_rows=8, regimes={
        "batch-1/multi-device/edge": Band(low=0.9, high=1.0, rows=2, regime="batch-1/multi-device/edge"),
        "batch-1": Band(low=0.8, high=1.1, rows=70, regime="batch-1"),
        "multi-device": Band(low=0.6, high=1.3, rows=60, regime="multi-device"),
        "edge": Band(low=0.85, high=1.09, rows=18, regime="edge"),
        "all": Band(low=0.8, high=1.3, rows=187, regime="all"),
    })
    assert table.for_regime(("batch-1", "multi-device", "edge")).regime == "multi-device"
    assert table.for_regime(("batched", "nowhere", "else")).regime == "all"


def test_malformed_bands_are_reported(tmp_path):
    from planner.files.bands import parse_bands

    data = {"kind": "bands", "source": "x", "regimes": {"all": {"low": 1.2, "high": 0.9, "rows": 3}, "edge": {"lo": 1}}}
    with pytest.raises(ProfileErrors) as info:
        parse_bands(data, tmp_path / "bands.yaml")
    text = str(info.value)
    assert "regimes.all.low" in text and "regimes.edge.lo" in text
