"""Speed benchmark: cold-start latency of `planner estimate` and throughput of `--scenarios` with 1,000 rows.

Usage: python bench/speed.py [--planner PATH]
Each figure is the median of 5 runs of the installed console script, in a fresh process.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scenarios_csv(path: Path, rows: int = 1000) -> None:
    models = ["llama-3.1-8b", "mistral-7b", "llama-2-70b", "mixtral-8x7b", "qwen2.5-7b", "gemma-2-9b", "deepseek-v3", "qwen3-30b-a3b"]
    hardware = ["h100-sxm", "a100-sxm-80gb", "h200-sxm", "l40s", "mi300x", "tpu-v5e", "b200", "rtx-4090"]
    batches = ["1", "8", "64", "max"]
    combos = itertools.cycle(itertools.product(models, hardware, batches, ["bf16", "fp8", "int4"]))
    lines = ["model,hardware,tp,precision,batch,prompt_tokens,output_tokens"]
    for _, (m, h, b, p) in zip(range(rows), combos):
        tp = "8" if m == "deepseek-v3" else ("4" if m == "llama-2-70b" else "1")
        lines.append(f"{m},{h},{tp},{p},{b},2048,256")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--planner", default=shutil.which("planner") or str(Path(sys.executable).parent / "planner"))
    args = parser.parse_args()
    single = [args.planner, "estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--format", "json"]
    print(f"planner estimate (one scenario, cold start): {timed(single) * 1e3:.0f} ms")
    print(f"planner --help (interpreter + import floor):  {timed([args.planner, '--help']) * 1e3:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "scenarios.csv"
        scenarios_csv(csv)
        t = timed([args.planner, "estimate", "--scenarios", str(csv), "--format", "json"], runs=3)
        print(f"planner estimate --scenarios (1,000 rows):   {t:.2f} s")


if __name__ == "__main__":
    main()
