"""Served-latency fidelity: cost.serving against shared/data/served_calibration.csv (copied to bench/data).

Usage: python bench/served_fidelity.py [--rows] [--csv PATH] [--write]

Each row is TensorRT-LLM serving one model at a fixed concurrency (`silicon_concurrency` in the source
column, else `batch_size`), every request with the row's input/output lengths. The planner predicts
served TTFT and TPOT with `planner.cost.serving.served`. One number is fitted here: the engine's fixed
per-request overhead (front end, tokenisation, scheduling), as the value that minimises the median
absolute log error of TTFT. Everything else comes from the profiles (the roofline's efficiencies are
calibrated on a different file, measured_perf_calibration.csv). The in-sample value is what
profiles/engines/trtllm.yaml carries as `overheads.request` (`--write` puts it there).

Reports median and p90 absolute percentage error of TTFT and TPOT:
  in sample            the overhead fitted on every row;
  leave-one-model-out  for each model, the overhead fitted on the other models' rows, errors on its own.
  baseline             the static roofline, for comparison (nothing fitted).
Rows whose precision is not recorded (`precision` empty) are taken as bf16.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.cost.roofline import Scenario, decode_step, default_kv_precision, forward_pass  # noqa: E402
from planner.cost.serving import knobs_for, served  # noqa: E402
from planner.domain import precision  # noqa: E402
from planner.files.catalog import Catalog  # noqa: E402

DATA = Path(__file__).parent / "data" / "served_calibration.csv"
MODELS = {"Qwen/Qwen3-32B": "qwen3-32b", "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b", "meta-llama/Llama-3.1-70B": "llama-3.1-70b"}
ENGINES = {"trtllm": "trtllm"}
HARDWARE = {"h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200", "gb200": "gb200"}


@dataclasses.dataclass(frozen=True)
class Case:
    row: dict
    scenario: Scenario
    concurrency: int
    ttft_s: float
    tpot_s: float

    @property
    def model(self) -> str:
        return self.scenario.model.id


def load_cases(catalog: Catalog, path: Path = DATA) -> list[Case]:
    cases = []
    for r in csv.DictReader(path.open(encoding="utf-8")):
        found = re.search(r"silicon_concurrency=(\d+)", r["silicon_data_source"])
        concurrency = int(found.group(1)) if found else int(r["batch_size"])
        weights = precision(r["precision"] or "bf16")
        scenario = Scenario(
            model=catalog.model(MODELS[r["model_path"]]), hardware=catalog.hardware(HARDWARE[r["system"]]),
            tp=int(r["tp_size"]), pp=int(r["pp_size"] or 1), weight_precision=weights, kv_precision=default_kv_precision(weights),
            batch=None, prompt_tokens=int(r["isl"]), output_tokens=int(r["osl"]), engine=catalog.engine(ENGINES[r["backend"]]),
        )
        cases.append(Case(r, scenario, concurrency, float(r["silicon_ttft_ms"]) / 1e3, float(r["silicon_tpot_ms"]) / 1e3))
    return cases


def predict(cases: list[Case], overhead_s: float) -> list[tuple[Case, float, float]]:
    out = []
    for c in cases:
        knobs = dataclasses.replace(knobs_for(c.scenario), request_overhead_s=overhead_s)
        e = served(c.scenario, c.concurrency, knobs=knobs)
        out.append((c, e.ttft_s, e.tpot_s))
    return out


def static_floor(cases: list[Case]) -> list[tuple[Case, float, float]]:
    """Baseline: the static roofline - TTFT = one prompt's prefill, TPOT = decode step of a static batch of n."""
    return [(c, forward_pass(c.scenario, batch=1, new_tokens=c.scenario.prompt_tokens, context_tokens=0).time_s,
             decode_step(c.scenario, c.concurrency).time_s) for c in cases]


def fit_overhead(cases: list[Case]) -> float:
    """Overhead (s) minimising the median |ln(predicted / measured)| of TTFT: golden-section search on [0, 1] s."""
    def loss(x: float) -> float:
        return statistics.median(abs(math.log(t / c.ttft_s)) for c, t, _ in predict(cases, x))

    lo, hi = 0.0, 1.0
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(18):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(b)
    return round(0.5 * (lo + hi), 4)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ape(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured * 100.0


def table(title: str, results: list[tuple[Case, float, float]]) -> str:
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for c, ttft, tpot in results:
        pair = (ape(ttft, c.ttft_s), ape(tpot, c.tpot_s))
        groups[c.model].append(pair)
        groups["all"].append(pair)
    lines = [title, f"{'model':<16} {'rows':>5} {'TTFT median':>12} {'TTFT p90':>9} {'TPOT median':>12} {'TPOT p90':>9}"]
    for name in sorted(groups, key=lambda k: (k == "all", k)):
        ttft = [a for a, _ in groups[name]]
        tpot = [b for _, b in groups[name]]
        lines.append(f"{name:<16} {len(ttft):>5} {statistics.median(ttft):>11.1f}% {percentile(ttft, 0.9):>8.1f}% "
                     f"{statistics.median(tpot):>11.1f}% {percentile(tpot, 0.9):>8.1f}%")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--rows", action="store_true", help="print every row's prediction (in sample)")
    parser.add_argument("--write", action="store_true",
                        help="write the in-sample overhead to profiles/engines/trtllm.yaml (and to vllm/sglang, which borrow it)")
    args = parser.parse_args()
    catalog = Catalog()
    cases = load_cases(catalog, args.csv)
    overhead = fit_overhead(cases)
    in_sample = predict(cases, overhead)
    print(f"rows: {len(cases)}; request overhead fitted on all rows: {overhead * 1e3:.0f} ms")
    if args.write:
        for name in ("trtllm", "vllm", "sglang"):
            profile = Path(__file__).resolve().parent.parent / "profiles" / "engines" / f"{name}.yaml"
            text = profile.read_text(encoding="utf-8")
            text, n = re.subn(r"(?m)^(  request: )[0-9.]+ ms", lambda m: f"{m.group(1)}{overhead * 1e3:.0f} ms", text)
            if n != 1:
                raise SystemExit(f"{profile}: no single 'overheads.request' line to update")
            profile.write_text(text, encoding="utf-8")
            print(f"wrote overheads.request = {overhead * 1e3:.0f} ms to {profile}")
    print(table("in sample", in_sample))
    held_out = []
    notes = []
    for model in sorted({c.model for c in cases}):
        train = [c for c in cases if c.model != model]
        test = [c for c in cases if c.model == model]
        fitted = fit_overhead(train)
        notes.append(f"{model}: {fitted * 1e3:.0f} ms")
        held_out += predict(test, fitted)
    print()
    print(table("leave-one-model-out (overhead fitted without the model: " + ", ".join(notes) + ")", held_out))
    print()
    print(table("baseline: static roofline (TTFT = one prefill, TPOT = static decode step at batch n)", static_floor(cases)))
    if args.rows:
        print()
        for c, ttft, tpot in sorted(in_sample, key=lambda t: (t[0].model, t[0].scenario.hardware.id, t[0].scenario.tp, t[0].concurrency)):
            s = c.scenario
            print(f"{s.model.id:<14} {s.hardware.id:<9} {s.weight_precision.name:<5} tp{s.tp} {s.prompt_tokens}/{s.output_tokens} "
                  f"n={c.concurrency:<4} TTFT {c.ttft_s * 1e3:9.1f} ms pred {ttft * 1e3:9.1f}  TPOT {c.tpot_s * 1e3:6.1f} ms pred {tpot * 1e3:6.1f}")


if __name__ == "__main__":
    main()
