"""Held-out check of the scaling-law forms: fit on k <= K/4 of each published curve, predict the rest.

Run by hand from the repo root:  .venv/bin/python bench/heldout_scaling.py [scaling_points.csv]
Prints, per task, curve and form, the predicted and observed accuracy at every held-out k and the
mean absolute error in accuracy points. ``fit_builtin_laws.py`` embeds the per-form means in the laws.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.accuracy import scaling
from planner.errors import FitError

DATA = Path("/work/shared/data/scaling_points.csv")

# Wu et al. 2024 method labels -> planner method ids. "REBASE + weighted voting" is the paper's headline
# REBASE configuration (Table 1); REBASE + majority / + best-of-n rows are not used.
WU_METHODS = {
    "Greedy": "greedy",
    "Sampling + majority voting": "majority",
    "Sampling + best-of-n (PRM)": "best-of-n",
    "Sampling + weighted voting": "weighted-majority",
    "REBASE + weighted voting": "rebase",
}
TASKS = {"MATH500": ("math500", 500), "GSM8K": ("gsm8k", 1319)}  # problems per test set (MATH500: 500; GSM8K test: 1319)
MODEL_IDS = {
    "Mistral-7B": "mistral-7b",
    "Llemma-7B (MetaMath SFT)": "llemma-7b-metamath",
    "Llemma-34B (MetaMath SFT)": "llemma-34b-metamath",
    "Llama3-8B-Instruct": "llama3-8b-instruct",
    "Llemma-7B": "llemma-7b",
    "Llemma-34B": "llemma-34b",
    "Minerva-8B": "minerva-8b",
    "Minerva-62B": "minerva-62b",
    "Minerva-540B": "minerva-540b",
}
SAMPLING_FORMS = ("saturating_power", "beta_vote", "log_linear")
PASS_FORMS = ("beta_pass", "exp_power", "log_linear")


def read_rows(path: Path = DATA) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def wu_points(rows: list[dict], dataset: str) -> list[tuple[scaling.Point, dict]]:
    """(point, source row) for Wu et al. rows of one dataset; duplicates (Table 1 = Table 4) keep the first."""
    _, n = TASKS[dataset]
    seen, out = set(), []
    for i, r in enumerate(rows, start=2):
        if r["source_id"] != "WU24" or r["dataset"] != dataset or r["method"] not in WU_METHODS:
            continue
        if r["metric"] not in ("accuracy_pct", "coverage_pct", "pass_rate_pct"):
            continue
        key = (r["model"], WU_METHODS[r["method"]], int(r["n_samples"]))
        if key in seen:
            continue
        seen.add(key)
        pt = scaling.Point(model=MODEL_IDS[r["model"]], method=key[1], samples=key[2], accuracy=float(r["accuracy"]) / 100, n_problems=n)
        out.append((pt, {**r, "_line": i}))
    return out


def split(points: list[scaling.Point]) -> tuple[list[scaling.Point], list[scaling.Point]]:
    """Train on k <= K/4 of each curve (K = its largest k; greedy and each curve's smallest k always train), test on the rest."""
    kmax: dict = {}
    kmin: dict = {}
    for p in points:
        kmax[(p.model, p.method)] = max(kmax.get((p.model, p.method), 0), p.samples)
        kmin[(p.model, p.method)] = min(kmin.get((p.model, p.method), 10**9), p.samples)
    # a curve's smallest k always trains (a curve with one k has nothing to hold out)
    train = [p for p in points if p.method == "greedy" or p.samples <= kmax[(p.model, p.method)] / 4 or p.samples == kmin[(p.model, p.method)]]
    test = [p for p in points if p not in train]
    return train, test


def heldout(points: list[scaling.Point], form: str, methods=None) -> tuple[float | None, list[tuple]]:
    """Mean |error| (accuracy points) on the held-out points, and the per-point table."""
    train, test = split(points)
    if methods is not None:
        train = [p for p in train if p.method in methods]
        test = [p for p in test if p.method in methods]
    if not test:
        return None, []
    try:
        res = scaling.fit(train, form, n_boot=0)
    except FitError as exc:
        return None, [("fit failed", str(exc))]
    table = []
    for p in test:
        pred = scaling.predict(res, [p.samples], model=p.model, method=p.method)
        table.append((p.model, p.method, p.samples, 100 * p.accuracy, 100 * float(pred.accuracy[0])))
    return float(np.mean([abs(a - b) for *_, a, b in table])), table


MBPP = {  # Wu et al. 2024 v3 Table 3 (MBPP pass rate, Llama3-8B-Instruct presumed), rows 63-70 of scaling_points.csv
    "Sampling (pass rate)": "sampling",
    "REBASE (pass rate)": "rebase",
}


def mbpp_points(rows: list[dict]) -> dict[str, list[scaling.Point]]:
    out: dict[str, list[scaling.Point]] = {}
    for r in rows:
        if r["source_id"] == "WU24" and r["dataset"] == "MBPP" and r["method"] in MBPP and r["metric"] == "pass_rate_pct":
            out.setdefault(MBPP[r["method"]], []).append(
                scaling.Point(model="llama3-8b-instruct", method="pass-at-k", samples=int(r["n_samples"]), accuracy=float(r["accuracy"]) / 100, n_problems=500)
            )
    return out


def summary(rows: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """{task: {fit group: {form: mean held-out error}}} used by fit_builtin_laws.py."""
    out: dict = {}
    for dataset, (task, _) in TASKS.items():
        pts = [p for p, _ in wu_points(rows, dataset)]
        out[task] = {"sampling": {}}
        for form in SAMPLING_FORMS:
            err, _ = heldout(pts, form, methods=("greedy", "majority", "best-of-n", "weighted-majority", "rebase") if form != "beta_vote" else ("greedy", "majority", "best-of-n", "weighted-majority"))
            if err is not None:
                out[task]["sampling"][form] = err
    out["mbpp"] = {"pass-at-k": {}}
    for form in PASS_FORMS:
        errs = []
        for pts in mbpp_points(rows).values():
            train = [p for p in pts if p.samples <= 16]
            test = [p for p in pts if p.samples > 16]
            res = scaling.fit(train, form, n_boot=0)
            for p in test:
                errs.append(abs(100 * p.accuracy - 100 * float(scaling.predict(res, [p.samples], model=p.model, method="pass-at-k").accuracy[0])))
        out["mbpp"]["pass-at-k"][form] = float(np.mean(errs))
    return out


def main(argv: list[str]) -> int:
    rows = read_rows(Path(argv[1]) if len(argv) > 1 else DATA)
    for dataset in TASKS:
        pts = [p for p, _ in wu_points(rows, dataset)]
        for form in SAMPLING_FORMS:
            methods = None if form != "beta_vote" else ("greedy", "majority", "best-of-n", "weighted-majority")
            err, table = heldout(pts, form, methods=methods)
            print(f"{dataset:8s} {form:17s} held-out MAE {err:5.2f} pts" if err is not None else f"{dataset} {form}: no held-out points")
            for row in table:
                if len(row) == 5:
                    print(f"    {row[0]:22s} {row[1]:18s} k={row[2]:<4d} observed {row[3]:5.1f}  predicted {row[4]:5.1f}  error {row[4] - row[3]:+5.1f}")
                else:
                    print("    ", *row)
    for name, pts in mbpp_points(rows).items():
        for form in PASS_FORMS:
            train = [p for p in pts if p.samples <= 16]
            test = [p for p in pts if p.samples > 16]
            res = scaling.fit(train, form, n_boot=0)
            preds = [float(scaling.predict(res, [p.samples], model=p.model, method="pass-at-k").accuracy[0]) for p in test]
            errs = [100 * (b - p.accuracy) for p, b in zip(test, preds)]
            detail = "  ".join(f"k={p.samples}: {100 * p.accuracy:.1f} vs {100 * b:.1f}" for p, b in zip(test, preds))
            print(f"MBPP-{name:8s} {form:17s} held-out MAE {np.mean(np.abs(errs)):5.2f} pts   ({detail})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
