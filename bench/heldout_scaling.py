"""Held-in extrapolation check of the scaling-law forms and of the selection rule `planner fit` uses.

Protocol (issue 10): for every curve (model x method) of ``shared/data/scaling_points.csv`` with more than one k,
fit on k <= K/4 (K: the curve's largest k; greedy points and each curve's smallest k always train), predict the rest.
Scored per form, and for the selection rule: ``law_fit.build_law`` sees only the training part (it splits that
again internally to choose a form), then predicts the held-out points. Curves with a single k, or whose k = 1 is the
only other point (Llemma-card maj@1/maj@k, Brown et al. anchors), cannot be scored this way and are listed.

Run by hand from the repo root:  PYTHONPATH=. python bench/heldout_scaling.py [scaling_points.csv] [--speed]
``--speed`` also times `fit` on 500 synthetic problems x 64 samples (seeded). ``fit_builtin_laws.py`` embeds the
per-form means in the built-in laws.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.accuracy import law_fit, laws, scaling
from planner.accuracy.laws import LawModel, LawPoint
from planner.errors import FitError, InputError

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


PASS_FORMS_ALL = ("beta_pass", "exp_power", "kumaraswamy_pass", "log_linear")
SAMPLING_METHODS = ("greedy", "majority", "best-of-n", "weighted-majority", "rebase")
VOTE_ONLY = ("greedy", "majority", "best-of-n", "weighted-majority")


def rule_heldout(points: list[scaling.Point]) -> tuple[float | None, str, list[tuple]]:
    """The selection rule out of sample: build a law (form chosen by held-in validation) from the training part only,
    predict every held-out point. Returns (mean |error| in points, the forms chosen, the per-point table)."""
    train, test = scaling.heldin_split(points)
    if not test:
        return None, "", []
    law_points = [LawPoint(model=p.model, method=p.method, samples=p.samples, accuracy=p.accuracy, n_problems=p.n_problems)
                  for p in train]
    models = {m: LawModel(id=m, name=m) for m in dict.fromkeys(p.model for p in train)}
    try:
        law = law_fit.build_law(law_points, law_id="bench", task="bench", models=models, sources={"bench": "scaling_points.csv"}, n_boot=0)
    except FitError as exc:
        return None, f"fit failed: {exc}", []
    chosen = ", ".join(f"{fid}={f.result.form}" for fid, f in law.fits.items())
    table = []
    for p in test:
        try:
            row = laws.predict_table(law, p.method, [p.samples], model=p.model)[0]
        except InputError:
            continue
        table.append((p.model, p.method, p.samples, 100 * p.accuracy, 100 * row.accuracy))
    if not table:
        return None, chosen, []
    return float(np.mean([abs(a - b) for *_, a, b in table])), chosen, table


def unscorable(rows: list[dict]) -> list[str]:
    """Curves of the fitting metrics that the K/4 protocol cannot score, with the reason."""
    out = []
    by_curve: dict[tuple, list[float]] = {}
    for r in rows:
        if r["metric"] not in ("accuracy_pct", "coverage_pct", "pass_rate_pct") or not r["n_samples"].replace(".", "").isdigit():
            continue
        if r["source_id"] == "WU24":
            continue
        by_curve.setdefault((r["source_id"], r["model"], r["dataset"], r["method"].split(" (")[0]), []).append(float(r["n_samples"]))
    for (src, model, dataset, method), ks in sorted(by_curve.items()):
        ks = sorted(set(ks))
        why = "one k" if len(ks) == 1 else f"k = {', '.join(f'{k:g}' for k in ks)}: the training part (k <= K/4) holds one point"
        out.append(f"{src} {model} / {dataset} / {method}: {why}")
    return out


def table_rows(rows: list[dict]) -> dict:
    """{data set: {form or 'selection rule': (mean |error| points, n held-out points, note)}}."""
    out: dict = {}
    for dataset in TASKS:
        pts = [p for p, _ in wu_points(rows, dataset)]
        res = {}
        for form in SAMPLING_FORMS:
            methods = VOTE_ONLY if form == "beta_vote" else SAMPLING_METHODS
            err, table = heldout(pts, form, methods=methods)
            res[form] = (err, len([t for t in table if len(t) == 5]), "votes only (no REBASE)" if form == "beta_vote" else "")
        err, chosen, table = rule_heldout(pts)
        res["selection rule"] = (err, len(table), chosen)
        out[f"{dataset} (Wu et al.)"] = res
    for name, pts in mbpp_points(rows).items():
        res = {}
        for form in PASS_FORMS_ALL:
            train = [p for p in pts if p.samples <= 16]
            test = [p for p in pts if p.samples > 16]
            try:
                fitted = scaling.fit(train, form, n_boot=0)
                errs = [abs(100 * p.accuracy - 100 * float(scaling.predict(fitted, [p.samples], model=p.model, method="pass-at-k").accuracy[0])) for p in test]
                res[form] = (float(np.mean(errs)), len(errs), "")
            except FitError as exc:
                res[form] = (None, 0, f"fit failed: {exc}")
        err, chosen, table = rule_heldout(pts)
        res["selection rule"] = (err, len(table), chosen)
        out[f"MBPP {name} (Wu et al. Table 3)"] = res
    return out


def speed(n_problems: int = 500, n_samples: int = 64) -> float:
    """CPU seconds of law_fit.fit_law_from_rows on seeded synthetic per-problem rows with answers and scores."""
    import time

    rng = np.random.default_rng(7)
    p = rng.beta(0.6, 0.9, n_problems)
    rows = []
    for i in range(n_problems):
        for j in range(n_samples):
            ok = rng.random() < p[i]
            rows.append({"problem_id": f"q{i}", "sample_id": str(j), "correct": str(int(ok)),
                         "answer": "a" if ok else str(rng.choice(["b", "c", "d", "e"], p=[0.5, 0.2, 0.2, 0.1])),
                         "score": f"{rng.random() * 0.5 + 0.4 * ok:.4f}"})
    start = time.process_time()
    law_fit.fit_law_from_rows(rows)
    return time.process_time() - start


def synthetic_votes(n_problems: int = 500, n_samples: int = 64, seed: int = 11) -> dict:
    """A check with a known truth (not published data): majority vote on 500 problems x 64 samples drawn from a
    stated process (p ~ Beta(0.6, 0.9); a wrong sample answers B, C, D, E with shares 0.5, 0.2, 0.2, 0.1). `fit`
    sees the per-problem rows; the true majority@k at k = 256 and 1024 is simulated from the same process (4,000
    draws per problem). Reports each vote form's and the rule's error at 32 and 64 (held out) and at 256, 1024."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 0.9, n_problems)
    wrong = np.array(["B", "C", "D", "E"])
    share = np.array([0.5, 0.2, 0.2, 0.1])
    rows = []
    for i in range(n_problems):
        ok = rng.random(n_samples) < p[i]
        answers = np.where(ok, "A", wrong[rng.choice(4, n_samples, p=share)])
        rows += [{"problem_id": f"q{i}", "sample_id": str(j), "correct": str(int(ok[j])), "answer": str(answers[j])}
                 for j in range(n_samples)]
    truth = {}
    for k in (256, 1024):
        wins = 0.0
        for i in range(n_problems):
            draws = 4000
            counts = rng.multinomial(k, np.concatenate([[p[i]], (1 - p[i]) * share]), size=draws)
            top = counts.max(axis=1, keepdims=True)
            tied = (counts == top).sum(axis=1)
            wins += float(np.mean((counts[:, 0] == top[:, 0]) / tied))
        truth[k] = wins / n_problems
    law = law_fit.fit_law_from_rows(rows, n_boot=0)
    observed = {pt.samples: pt.accuracy for pt in law.points if pt.method == "majority"}
    out = {}
    pts = [scaling.Point(model=pt.model, method=pt.method, samples=pt.samples, accuracy=pt.accuracy, n_problems=pt.n_problems)
           for pt in law.points if pt.method in ("majority", "greedy")]
    train = [pt for pt in pts if pt.samples <= n_samples / 4 or pt.method == "greedy"]
    for form in ("saturating_power", "beta_vote", "log_linear"):
        fitted = scaling.fit(train, form, n_boot=0)
        pred = scaling.predict(fitted, [32, 64, 256, 1024], model="user-model", method="majority").accuracy
        out[form] = pred
    sub = law_fit.fit_law_from_rows([r for r in rows if int(r["sample_id"]) < n_samples], n_boot=0)  # the rule on all 64
    rule_train = law_fit.build_law([LawPoint(model=pt.model, method=pt.method, samples=pt.samples, accuracy=pt.accuracy,
                                             n_problems=pt.n_problems) for pt in train],
                                   law_id="rule", task="t", models={"user-model": LawModel(id="user-model", name="m")},
                                   sources={"s": "synthetic"}, n_boot=0)
    out["selection rule"] = np.array([r.accuracy for r in laws.predict_table(rule_train, "majority", [32, 64, 256, 1024])])
    fid = "voting" if "voting" in rule_train.fits else "sampling"
    target = np.array([observed[32], observed[64], truth[256], truth[1024]])
    return {"target": target, "predictions": out, "chosen": rule_train.fits[fid].result.form,
            "chosen_on_all_64": (sub.fits.get("voting") or sub.fits["sampling"]).result.form}


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    rows = read_rows(Path(args[0]) if args else DATA)
    results = table_rows(rows)
    for data, res in results.items():
        print(f"\n{data}")
        for name, (err, n, note) in res.items():
            shown = f"{err:5.2f}" if err is not None else "  -  "
            print(f"  {name:18s} held-out MAE {shown} pts over {n:2d} points  {note}")
    lines = unscorable(rows)
    print(f"\n{len(lines)} other curves the K/4 protocol cannot score (one k, or k = 1 and K only):")
    counts: dict[str, int] = {}
    for line in lines:
        src = line.split(" ", 1)[0]
        counts[src] = counts.get(src, 0) + 1
    for src, n in sorted(counts.items()):
        print(f"  {src}: {n} curves, e.g. {next(x for x in lines if x.startswith(src))}")
    if "--all" in argv:
        for line in lines:
            print("  " + line)
    if "--synthetic" in argv:
        syn = synthetic_votes()
        t = syn["target"]
        print(f"\nsynthetic majority vote (known process; fit on k <= 16 of 64 samples): observed/true "
              f"maj@32 {100 * t[0]:.1f}, maj@64 {100 * t[1]:.1f}, true maj@256 {100 * t[2]:.1f}, maj@1024 {100 * t[3]:.1f} %")
        for name, pred in syn["predictions"].items():
            err = 100 * (np.asarray(pred) - t)
            print(f"  {name:18s} errors at 32/64/256/1024: " + " ".join(f"{e:+5.1f}" for e in err)
                  + (f"   (chose {syn['chosen']})" if name == "selection rule" else ""))
        print(f"  the rule on all 64 samples chooses {syn['chosen_on_all_64']}")
    if "--speed" in argv:
        print(f"\nfit of 500 problems x 64 samples (answers and scores): {speed():.1f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
