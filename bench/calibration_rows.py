"""Map rows of measured_perf_calibration.csv (shared/data; copied to bench/data with its sources) to scenarios.

Each measured row becomes (Scenario, metric extractor, measured value in SI). Rows the planner cannot
express (a model with no profile, an unknown device) are counted and skipped, never guessed.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

from planner.cost.roofline import Estimate, Scenario, regime
from planner.domain import precision
from planner.files.catalog import Catalog

DATA = Path(__file__).parent / "data" / "measured_perf_calibration.csv"

HARDWARE = {
    "NVIDIA H200 SXM 141GB": "h200-sxm",
    "NVIDIA H100 SXM 80GB": "h100-sxm",
    "NVIDIA A100 SXM4 80GB": "a100-sxm-80gb",
    "NVIDIA L40S 48GB": "l40s",
    "NVIDIA Jetson AGX Orin 64GB": "jetson-agx-orin-64gb",
    "NVIDIA A100 40GB (form factor not stated)": "a100-sxm-40gb",
    "NVIDIA RTX A6000 48GB": "rtx-a6000",
    "NVIDIA RTX 4090 24GB": "rtx-4090",
    "NVIDIA A100 80GB (form factor not stated)": "a100-sxm-80gb",
    "NVIDIA H100 PCIe 80GB": "h100-pcie",
    "Apple M2 Ultra (76-core GPU, 192GB)": "apple-m2-ultra",
    "Apple M3 Max (40-core GPU, 48GB)": "apple-m3-max",
}
MODELS = {
    "GPT-J-6B": "gpt-j-6b", "GPT-J 6B": "gpt-j-6b", "Mistral-7B": "mistral-7b", "Llama-2-7B": "llama-2-7b",
    "Llama-2-13B": "llama-2-13b", "Llama-2-70B": "llama-2-70b", "Falcon-180B": "falcon-180b",
    "Llama-3-8B": "llama-3-8b", "Mixtral-8x7B": "mixtral-8x7b",
}


def _precision(text: str) -> str | None:
    t = text.upper()
    if t.startswith("FP8"):
        return "fp8"
    if t in ("FP16", "F16"):
        return "fp16"
    if t.startswith("INT4") or t.startswith("Q4"):
        return "int4"
    return None


def engine_of(row: dict) -> str:
    """Engine profile id for a row: TensorRT-LLM and FasterTransformer rows -> trtllm; every other engine -> generic."""
    name = row["engine"].lower()
    return "trtllm" if name.startswith(("tensorrt-llm", "fastertransformer")) else "generic"


def _int(text: str, default: int) -> int:
    text = text.strip().lstrip(">")
    return int(text) if text.isdigit() and int(text) > 0 else default


@dataclasses.dataclass(frozen=True)
class Case:
    row: dict
    scenario: Scenario
    metric: str  # output_throughput | ttft | tpot | prefill_throughput
    measured: float  # SI: tokens/s or seconds
    extract: Callable[[Estimate], float]

    @property
    def hardware_class(self) -> str:
        return self.scenario.hardware.device_class

    @property
    def subsets(self) -> tuple[str, ...]:
        """Regimes this row belongs to (fidelity is reported per subset; bands come from them)."""
        return regimes(self.scenario)


regimes = regime  # one definition, in the cost model (bands are looked up with it)


def load_cases(catalog: Catalog | None = None, path: Path = DATA) -> tuple[list[Case], int]:
    """(expressible cases, total rows)."""
    catalog = catalog or Catalog()
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    cases = []
    for r in rows:
        hw_id, model_id = HARDWARE.get(r["hardware"]), MODELS.get(r["model"])
        wp, kp = _precision(r["weight_precision"]), _precision(r["kv_precision"])
        if not (hw_id and model_id and wp and kp) or hw_id not in catalog.names("hardware"):
            continue
        metric, value = r["metric"], float(r["value"])
        tp, pp = _int(r["tp"], 1), _int(r["pp"], 1)
        batch = _int(r["batch_or_concurrency"], 1)
        isl, osl = _int(r["input_len"], 0), _int(r["output_len"], 0)
        if metric == "output_throughput_per_gpu":
            kind, measured, prompt, out = "output_throughput", value * tp * pp, isl, osl
            extract = lambda e: e.output_tokens_per_s
        elif metric == "output_throughput" and osl:
            kind, measured, prompt, out = "output_throughput", value, isl, osl
            extract = lambda e: e.output_tokens_per_s
        elif metric in ("output_throughput", "decode_throughput") and batch == 1:
            # batch-1 generation rate: 1 / TPOT. llama-bench tg128 has no prompt.
            kind, measured, prompt, out = "tpot", 1.0 / value, max(isl, 1), 128
            extract = lambda e: e.tpot_s
        elif metric == "TPOT":
            kind, measured, prompt, out = "tpot", value / 1e3, isl or 128, osl or 128
            extract = lambda e: e.tpot_s
        elif metric == "TTFT":
            kind, measured, prompt, out = "ttft", value / 1e3, isl, 1
            extract = lambda e: e.ttft_s
        elif metric == "prefill_throughput":
            prompt = isl or 512  # llama-bench pp512 default
            kind, measured, out = "prefill_throughput", value, 1
            extract = lambda e, p=prompt: p / e.ttft_s
        else:
            continue
        if not prompt or not out:
            continue
        wprec = precision(wp)
        scenario = Scenario(
            model=catalog.model(model_id), hardware=catalog.hardware(hw_id), tp=tp, pp=pp,
            weight_precision=wprec, kv_precision=precision(kp), batch=batch, prompt_tokens=prompt, output_tokens=out,
            engine=catalog.engine(engine_of(r)),
        )
        cases.append(Case(r, scenario, kind, measured, extract))
    return cases, len(rows)


def with_hardware(case: Case, hardware) -> Case:
    return dataclasses.replace(case, scenario=dataclasses.replace(case.scenario, hardware=hardware))
