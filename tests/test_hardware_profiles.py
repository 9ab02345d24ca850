"""Built-in hardware profiles: every required device loads, the folder validates, a few anchor
figures match the spec sheets (and shared/data/hardware_specs.csv where it is present), and the
conventions of the profile format hold for every file."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from planner.domain import COMPUTE_PRECISIONS, HARDWARE_CLASSES
from planner.files.catalog import Catalog, bundled_dir, validate_dir
from planner.files.disk import read_yaml
from planner.files.hardware import parse_hardware

HARDWARE_DIR = bundled_dir() / "hardware"
HARDWARE_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hardware_specs.csv"

REQUIRED_IDS = [
    "a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-80gb", "h100-sxm", "h100-pcie", "h100-nvl",
    "h200-sxm", "gh200", "b200", "gb200", "l4", "l40s", "rtx-4090", "rtx-a6000", "mi300x",
    "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e", "jetson-agx-orin-64gb", "jetson-orin-nano",
    "apple-m1", "apple-m1-max", "apple-m2-ultra", "apple-m3-max", "apple-m4-max",
    "snapdragon-8-gen-2", "snapdragon-8-gen-3", "snapdragon-8-elite", "snapdragon-x-elite",
    "intel-core-ultra-npu",
]
ALL_IDS = sorted(p.stem for p in HARDWARE_DIR.glob("*.yaml"))

# Classes rented by the hour; the others (phones, Apple, Jetson, laptop SoCs) carry no price block.
RENTED_CLASSES = {"datacenter-gpu", "workstation-gpu", "consumer-gpu", "tpu"}
SOC_CLASSES = {"edge-soc", "apple-soc", "phone-soc", "pc-soc"}

T, G = 1e12, 1e9
GIB = 1024.0**3


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def _load(hw_id: str):
    path = HARDWARE_DIR / f"{hw_id}.yaml"
    return parse_hardware(read_yaml(path), path)


# ---------------------------------------------------------------------------------------------
# Loading and validation


@pytest.mark.parametrize("hw_id", REQUIRED_IDS)
def test_required_id_loads_through_catalog(catalog, hw_id):
    hw = catalog.hardware(hw_id)
    assert hw.id == hw_id
    assert Path(hw.path).stem == hw_id


def test_bundled_hardware_folder_validates():
    checked, problems = validate_dir(bundled_dir(), parsers={"hardware": parse_hardware})
    hardware_problems = [p for p in problems if "hardware" in str(p)]
    assert checked >= len(REQUIRED_IDS)
    assert hardware_problems == []


def test_validate_dir_reports_no_hardware_problems_with_default_parsers():
    # model-profile problems (other files) may appear; none may point at a hardware file
    _, problems = validate_dir(bundled_dir())
    assert [p for p in problems if str(HARDWARE_DIR) in str(p)] == []


# ---------------------------------------------------------------------------------------------
# Anchor values (spec sheets; the CSV rows cite the same sheets)

ANCHORS = [
    # (id, attribute or peak key, expected SI value, relative tolerance, where it comes from)
    ("h100-sxm", "bf16", 989.5 * T, 1e-3, "NVIDIA H100 datasheet 1,979 sparse / 2"),
    ("h100-sxm", "fp8", 1979 * T, 1e-3, "NVIDIA H100 datasheet 3,958 sparse / 2"),
    ("h100-sxm", "memory_bandwidth_bytes_per_s", 3.35 * T, 1e-3, "NVIDIA H100 SXM 3.35 TB/s"),
    ("h100-sxm", "memory_capacity_bytes", 80 * G, 1e-3, "80 GB HBM3"),
    ("h200-sxm", "memory_capacity_bytes", 141 * G, 1e-3, "141 GB HBM3e"),
    ("h200-sxm", "memory_bandwidth_bytes_per_s", 4.8 * T, 1e-3, "4.8 TB/s"),
    ("a100-sxm-80gb", "memory_bandwidth_bytes_per_s", 2.039 * T, 1e-3, "A100 80GB 2,039 GB/s"),
    ("a100-sxm-80gb", "bf16", 312 * T, 1e-3, "A100 datasheet dense BF16"),
    ("a100-sxm-40gb", "memory_bandwidth_bytes_per_s", 1.555 * T, 1e-3, "A100 40GB 1,555 GB/s"),
    ("mi300x", "memory_bandwidth_bytes_per_s", 5.3 * T, 1e-3, "AMD ROCm MI300 doc 5.3 TB/s"),
    ("mi300x", "bf16", 1307.4 * T, 1e-3, "AMD ROCm MI300 doc, 2048 FLOPS/clock/CU"),
    ("tpu-v5e", "bf16", 197 * T, 1e-3, "Google Cloud TPU v5e doc"),
    ("tpu-v5e", "memory_bandwidth_bytes_per_s", 819 * G, 1e-3, "Google Cloud TPU v5e doc 819 GBps"),
    ("tpu-v5p", "memory_capacity_bytes", 95 * GIB, 1e-3, "Google Cloud TPU v5p doc 95 GiB"),
    ("tpu-v6e", "bf16", 918 * T, 1e-3, "Google Cloud TPU v6e doc"),
    ("b200", "fp4", 9000 * T, 1e-3, "B200 HGX 1000 W dense FP4"),
    ("gb200", "intra_node_bandwidth_bytes_per_s", 900 * G, 1e-3, "NVLink 5 1.8 TB/s bidirectional / 2"),
    ("l40s", "fp8", 733 * T, 1e-3, "L40S datasheet 1,466 sparse / 2"),
    ("rtx-4090", "memory_bandwidth_bytes_per_s", 1008 * G, 1e-3, "RTX 4090 1,008 GB/s"),
    ("jetson-agx-orin-64gb", "memory_bandwidth_bytes_per_s", 204.8 * G, 1e-3, "AGX Orin datasheet 204.8 GB/s"),
    ("apple-m2-ultra", "memory_bandwidth_bytes_per_s", 800 * G, 1e-3, "Apple M2 Ultra 800 GB/s"),
    ("apple-m2-ultra", "fp32", 27.2 * T, 1e-3, "Apple: 76-core GPU 27.2 teraflops"),
]


@pytest.mark.parametrize("hw_id,field,expected,rel,source", ANCHORS, ids=[f"{a[0]}-{a[1]}" for a in ANCHORS])
def test_anchor_values(hw_id, field, expected, rel, source):
    hw = _load(hw_id)
    value = hw.peak_flops[field] if field in COMPUTE_PRECISIONS else getattr(hw, field)
    assert value == pytest.approx(expected, rel=rel), source


def _csv_rows():
    if not HARDWARE_CSV.is_file():
        pytest.skip("shared/data/hardware_specs.csv not present in this checkout")
    with HARDWARE_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


CSV_ANCHORS = [
    # (id, device, variant prefix, precision, peak key)
    ("h100-sxm", "NVIDIA H100", "SXM5 80GB", "BF16", "bf16"),
    ("h100-pcie", "NVIDIA H100", "PCIe 80GB", "FP8", "fp8"),
    ("a100-pcie-80gb", "NVIDIA A100", "PCIe 80GB", "BF16", "bf16"),
    ("l4", "NVIDIA L4", "PCIe 24GB", "FP8", "fp8"),
    ("mi300x", "AMD Instinct MI300X", "OAM 192GB", "FP8", "fp8"),
    ("tpu-v5e", "Google TPU v5e", "chip", "INT8", "int8"),
    ("tpu-v6e", "Google TPU v6e (Trillium)", "chip", "BF16", "bf16"),
    ("rtx-a6000", "NVIDIA RTX A6000", "48GB", "INT8", "int8"),
]


@pytest.mark.parametrize("hw_id,device,variant,precision,key", CSV_ANCHORS, ids=[c[0] + "-" + c[4] for c in CSV_ANCHORS])
def test_peaks_match_shared_csv(hw_id, device, variant, precision, key):
    rows = [r for r in _csv_rows() if r["device"] == device and r["variant"].startswith(variant) and r["precision"] == precision]
    assert rows, f"no CSV row for {device} {variant} {precision}"
    expected = float(rows[0]["dense_tflops"]) * T
    assert _load(hw_id).peak_flops[key] == pytest.approx(expected, rel=1e-3)


# ---------------------------------------------------------------------------------------------
# Invariants over every profile in the folder


@pytest.mark.parametrize("hw_id", ALL_IDS)
def test_profile_invariants(hw_id):
    hw = _load(hw_id)
    peaks = hw.peak_flops
    assert hw.device_class in HARDWARE_CLASSES
    assert peaks and all(v > 0 for v in peaks.values())
    if "fp8" in peaks and "bf16" in peaks:
        assert peaks["fp8"] >= peaks["bf16"]
    if "int8" in peaks:
        for base in ("bf16", "fp16"):
            if base in peaks:
                assert peaks["int8"] >= peaks[base]
    if "fp4" in peaks and "fp8" in peaks:
        assert peaks["fp4"] >= peaks["fp8"]
    assert hw.memory_capacity_bytes > 0
    assert hw.memory_bandwidth_bytes_per_s > 0
    assert 0 < hw.usable_memory_fraction <= 1
    # at least a quarter of memory is left for weights and KV cache (phones keep about a third)
    unusable = hw.memory_reserve_bytes + (1 - hw.usable_memory_fraction) * hw.memory_capacity_bytes
    assert unusable < 0.75 * hw.memory_capacity_bytes
    assert hw.power_w > 0
    assert hw.sources.get("spec", "").strip()
    # a float precision must resolve, or bf16/fp16 models could not be planned on this device
    value, _ = hw.peak_flops_for("bf16", "fp16")
    assert value > 0


@pytest.mark.parametrize("hw_id", ALL_IDS)
def test_interconnect_is_per_direction_and_consistent(hw_id):
    hw = _load(hw_id)
    assert hw.devices_per_node >= 1
    # one direction per device: NVLink 5 (900 GB/s) is the fastest link in the set
    assert hw.intra_node_bandwidth_bytes_per_s <= 900 * G * 1.001
    assert hw.inter_node_bandwidth_bytes_per_s <= hw.intra_node_bandwidth_bytes_per_s or hw.devices_per_node == 1
    if hw.device_class in SOC_CLASSES:
        assert hw.devices_per_node == 1


@pytest.mark.parametrize("hw_id", ALL_IDS)
def test_price_only_for_rented_devices(hw_id):
    hw = _load(hw_id)
    raw = read_yaml(HARDWARE_DIR / f"{hw_id}.yaml")
    if hw.device_class in RENTED_CLASSES:
        assert hw.price_usd_per_hour is not None and hw.price_usd_per_hour > 0
        # a dated reading, or an explicit statement that the source gives no date
        assert re.search(r"20\d\d-\d\d-\d\d|date not recorded|undated", raw["price"]["source"])
    else:
        assert hw.price_usd_per_hour is None
        assert "price" not in raw


@pytest.mark.parametrize("hw_id", ALL_IDS)
def test_efficiency_block_has_exemplar_keys(hw_id):
    raw = read_yaml(HARDWARE_DIR / f"{hw_id}.yaml")
    assert list(raw["efficiency"]) == [
        "compute", "compute_half_tokens", "memory_bandwidth", "dequant_bandwidth", "interconnect", "calibrated", "note",
    ]
    assert "default" in raw["efficiency"]["compute"] and "default" in raw["efficiency"]["compute_half_tokens"]


def test_overheads_in_a_hardware_profile_point_to_engine_profiles(tmp_path):
    from planner.files.checker import ProfileErrors
    from planner.files.hardware import parse_hardware

    raw = read_yaml(HARDWARE_DIR / "h100-sxm.yaml")
    raw["efficiency"]["layer_overhead"] = "5 us"
    with pytest.raises((ProfileErrors, Exception)) as info:
        parse_hardware(raw, tmp_path / "h100-sxm.yaml")
    assert "efficiency.layer_overhead" in str(info.value) and "engine profiles" in str(info.value)


@pytest.mark.parametrize("hw_id", ALL_IDS)
def test_intra_node_link_kind_is_declared_where_devices_are_linked(hw_id):
    hw = _load(hw_id)
    raw = read_yaml(HARDWARE_DIR / f"{hw_id}.yaml")
    if hw.intra_node_bandwidth_bytes_per_s > 0:
        assert raw["interconnect"]["intra_node_link"] in ("fabric", "pcie")
        if "PCIe" in raw["interconnect"].get("intra_node_bandwidth_comment", "") or hw_id.endswith("pcie"):
            assert hw.intra_node_link == "pcie"
    assert list(raw)[:5] == ["kind", "id", "name", "class", "vendor"]
    assert raw["id"] == hw_id
