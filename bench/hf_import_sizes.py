"""Importer vs published parameter counts on real Hugging Face configs.

Reads ``tests/data/hf/aiconfigurator/published.csv`` (configs from the aiconfigurator-core wheel,
Apache-2.0; published counts with their sources) and prints a Markdown table: imported total and
active parameters beside the published ones, or why a config is refused.

    python bench/hf_import_sizes.py [--all DIR]

``--all DIR`` also runs every ``*_config.json`` of an unpacked wheel's ``model_configs`` folder
(no published counts: imported size or refusal only).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.errors import PlannerError
from planner.files.disk import read_csv_rows, read_json
from planner.files.hf_import import profile_from_hf_config
from planner.files.models import parse_model

REAL = ROOT / "tests" / "data" / "hf" / "aiconfigurator"


def _size(path: Path) -> tuple[float, float, str]:
    """(total B, active B, '') or (0, 0, the refusal)."""
    try:
        mapping = profile_from_hf_config(read_json(path, allow_nonfinite=True), model_id=path.stem, source=str(path))
        model = parse_model(mapping, path.with_suffix(".yaml"))
    except PlannerError as exc:
        return 0.0, 0.0, str(exc).split(": ", 1)[-1][:110]
    return model.total_params / 1e9, model.active_params / 1e9, ""


def main(argv: list[str]) -> None:
    print("| config | imported total B | published total B | error | imported active B | published active B |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in read_csv_rows(REAL / "published.csv")[1]:
        total, active, refusal = _size(REAL / row["file"])
        if refusal:
            print(f"| {row['file']} | refused: {refusal} | | | | |")
            continue
        published = float(row["published_total_b"])
        error = 100 * (total - published) / published
        print(f"| {row['file']} | {total:.2f} | {published:g} | {error:+.1f} % | {active:.2f} | {row['published_active_b']} |")
    if "--all" in argv:
        folder = Path(argv[argv.index("--all") + 1])
        print("\n| wheel config | imported total B | imported active B |\n|---|---:|---:|")
        for path in sorted(folder.glob("*_config.json")):
            if path.name.endswith("hf_quant_config.json"):
                continue
            total, active, refusal = _size(path)
            print(f"| {path.name} | {'refused: ' + refusal if refusal else f'{total:.2f}'} | {'' if refusal else f'{active:.2f}'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
