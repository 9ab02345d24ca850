"""Law profiles: built-in laws, strict parsing, YAML round trip, fitting a user's rows, prediction tables."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from planner.accuracy import law_fit, laws
from planner.errors import FitError, InputError, ProfileError, UnknownNameError
from planner.files import laws as law_files
from planner.files.disk import dump_yaml, read_yaml

BUILTIN = Path(__file__).resolve().parent.parent / "profiles" / "laws"


@pytest.fixture(scope="module")
def math500(catalog_module):
    return catalog_module.get("law", "math500", law_files.parse_law)


@pytest.fixture(scope="module")
def catalog_module():
    from planner.files.catalog import Catalog

    return Catalog()


@pytest.mark.parametrize("name", ["math500", "gsm8k"])
def test_builtin_laws_load(catalog_module, name):
    law = catalog_module.get("law", name, law_files.parse_law)
    assert law.id == law.task == name
    assert {"greedy", "majority", "best-of-n", "weighted-majority", "rebase", "ensemble"} <= set(law.methods)
    assert "mcts" not in law.methods  # no published MCTS rows for these models
    fit = law.fits["sampling"]
    assert fit.result.form == "saturating_power" and fit.result.rmse < 0.02
    assert fit.heldout_error_pts["saturating_power"] < fit.heldout_error_pts["log_linear"]
    assert law.points and all(p.source for p in law.points)


def test_builtin_law_round_trips(math500):
    data = law_files.law_to_yaml_dict(math500)
    again = law_files.parse_law(read_yaml_text(dump_yaml(data)), Path("math500.yaml"))
    assert law_files.law_to_yaml_dict(again) == data
    assert dump_yaml(law_files.law_to_yaml_dict(again)) == (BUILTIN / "math500.yaml").read_text(encoding="utf-8")


def read_yaml_text(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize("edit, field, match", [
    (lambda d: d.update(methds={}), "methds", "did you mean 'methods'"),
    (lambda d: d.pop("task"), "task", "missing"),
    (lambda d: d.update(kind="model"), "kind", "expected 'law'"),
    (lambda d: d["fits"]["sampling"].update(form="saturating"), "fits.sampling.form", "did you mean 'saturating_power'"),
    (lambda d: d["points"][0].update(accuracy="high"), "points[0].accuracy", "number"),
    (lambda d: d["points"][0].update(method="majoirty"), "points[0].method", "did you mean 'majority'"),
    (lambda d: d["methods"].update(mcts={"fit": "sampling", "derived_from": "majority"}), "methods.mcts", "exactly one"),
    (lambda d: d["fits"]["sampling"]["quality"].update(rmse=-1), "fits.sampling.quality.rmse", "in \\["),
])
def test_parse_law_errors_name_the_field(edit, field, match):
    data = copy.deepcopy(read_yaml(BUILTIN / "math500.yaml"))
    edit(data)
    with pytest.raises(ProfileError, match=match) as info:
        law_files.parse_law(data, BUILTIN / "math500.yaml")
    assert info.value.field == field


def test_predict_table(math500):
    rows = laws.predict_table(math500, "weighted-majority", [1, 4, 16, 64, 256], model="mistral-7b")
    assert [r.samples for r in rows] == [1, 4, 16, 64, 256]
    acc = [r.accuracy for r in rows]
    assert acc == sorted(acc)
    assert rows[-1].accuracy == pytest.approx(0.428, abs=0.01)  # Wu et al. Table 1: 42.8 % at k = 256
    for r in rows:
        assert 0 <= r.lower <= r.accuracy <= r.upper <= 1 and not r.extrapolated
    far = laws.predict_table(math500, "weighted-majority", [4096], model="mistral-7b")[0]
    assert far.extrapolated and "extrapolated" in far.warnings[0]


def test_predict_derived_and_missing_methods(math500):
    ens = laws.predict_table(math500, "ensemble", [16], model="mistral-7b")[0]
    maj = laws.predict_table(math500, "majority", [16], model="mistral-7b")[0]
    assert ens.accuracy == maj.accuracy and "ensemble predicted as majority" in ens.warnings[0]
    with pytest.raises(InputError, match="no curve for method 'mcts'"):
        laws.predict_table(math500, "mcts", [16])
    with pytest.raises(InputError, match="did you mean"):
        laws.predict_table(math500, "best-of-m", [16])


def test_model_without_data_is_extrapolated_and_wider(math500):
    own = laws.predict_table(math500, "majority", [32], model="llemma-7b-metamath")[0]
    anchored = laws.predict_table(math500, "majority", [32], model="my-7b", anchor_accuracy=0.30)[0]
    assert anchored.extrapolated and not own.extrapolated
    assert anchored.upper - anchored.lower > own.upper - own.lower
    sized = laws.predict_table(math500, "majority", [32], model="my-13b", params_b=13.0)[0]
    assert sized.extrapolated and "size law" in sized.warnings[0]
    with pytest.raises(UnknownNameError, match="llemma"):
        laws.predict_table(math500, "majority", [32], model="llemma-7b-metamat")


def test_precision_penalty_hook(math500):
    base = laws.predict_table(math500, "pass-at-k", [1, 64], model="llama3-8b-instruct")
    hurt = laws.predict_table(math500, "pass-at-k", [1, 64], model="llama3-8b-instruct", transform=lambda p: 0.9 * p)
    assert all(h.accuracy < b.accuracy for h, b in zip(hurt, base))


# -- a user's rows -------------------------------------------------------------------------------

AGG = [
    {"model": "m", "task": "t", "method": "greedy", "samples": "1", "accuracy": "30.0", "n_problems": "500"},
    {"model": "m", "task": "t", "method": "majority", "samples": "4", "accuracy": "34.0", "n_problems": "500"},
    {"model": "m", "task": "t", "method": "majority", "samples": "16", "accuracy": "37.0", "n_problems": "500"},
    {"model": "m", "task": "t", "method": "majority", "samples": "64", "accuracy": "38.2", "n_problems": "500"},
]


def test_fit_law_from_aggregate_percent_rows():
    law = law_fit.fit_law_from_rows(AGG, law_id="mine", n_boot=20)
    assert law.accuracy_scale == "percent" and law.task == "t"
    pred = laws.predict_table(law, "majority", [64], model="m")[0]
    assert pred.accuracy == pytest.approx(0.382, abs=0.01)
    frac = [{**r, "accuracy": str(float(r["accuracy"]) / 100)} for r in AGG]
    assert law_fit.fit_law_from_rows(frac, n_boot=0).accuracy_scale == "fraction"


def test_fit_law_is_deterministic():
    a = dump_yaml(law_files.law_to_yaml_dict(law_fit.fit_law_from_rows(AGG, n_boot=20, seed=3)))
    b = dump_yaml(law_files.law_to_yaml_dict(law_fit.fit_law_from_rows(AGG, n_boot=20, seed=3)))
    assert a == b
    assert law_files.parse_law(read_yaml_text(a), Path("user-law.yaml")).id == "user-law"


@pytest.mark.parametrize("rows, error, match", [
    ([{"model": "m", "method": "majority", "accuracy": "0.3"}], InputError, "unrecognised columns"),
    ([{**AGG[0], "accuracy": "130"}], InputError, "outside"),
    ([{**AGG[0], "accuracy": "nan"}], InputError, "finite"),
    ([{**AGG[0], "method": "majorty"}], InputError, "did you mean 'majority'"),
    ([{**AGG[0], "samples": "0"}], InputError, "between 1 and"),
    (AGG[:2], FitError, "free parameters"),
])
def test_fit_law_from_rows_errors(rows, error, match):
    with pytest.raises(error, match=match):
        law_fit.fit_law_from_rows(rows, n_boot=0)


def test_fit_law_from_per_problem_rows():
    rng = np.random.default_rng(0)
    rows = []
    for pid in range(60):
        p = rng.beta(0.6, 0.9)
        for sid in range(8):
            ok = rng.random() < p
            answer = "right" if ok else rng.choice(["w1", "w2", f"w{sid + 3}"], p=[0.5, 0.2, 0.3])
            rows.append({"problem_id": str(pid), "sample_id": str(sid), "correct": "1" if ok else "0", "answer": answer})
    law = law_fit.fit_law_from_rows(rows, n_boot=10)
    assert {"pass-at-k", "majority", "greedy"} <= set(law.methods)
    assert law.fits["pass-at-k"].result.form == "beta_pass"
    p8 = laws.predict_table(law, "pass-at-k", [8], model="user-model")[0]
    m8 = laws.predict_table(law, "majority", [8], model="user-model")[0]
    assert p8.accuracy > m8.accuracy
    observed = next(p for p in law.points if p.method == "pass-at-k" and p.samples == 8).accuracy
    assert p8.accuracy == pytest.approx(observed, abs=0.03)


@pytest.mark.parametrize("name, low, high", [("math500", 235, 291), ("gsm8k", 140, 175)])
def test_builtin_laws_carry_their_workload(catalog_module, name, low, high):
    """Generated tokens per sample from Wu et al.'s FLOPs per question at 2 N per token (a cited derivation)."""
    law = catalog_module.get("law", name, law_files.parse_law)
    assert law.workload is not None and low <= law.workload.output_tokens <= high
    assert "Wu et al." in law.workload.source and "assumption" in law.workload.source


@pytest.mark.parametrize("name", ["math500", "gsm8k"])
def test_builtin_law_models_name_the_catalog_profile_and_its_exact_size(catalog_module, name):
    law = catalog_module.get("law", name, law_files.parse_law)
    for mid, m in law.models.items():
        assert m.profile is not None, mid
        assert m.params_b == catalog_module.model(m.profile).total_params / 1e9
    assert law.find_model("llemma-7b") == "llemma-7b-metamath"
    assert law.find_model("LLAMA-3-8B") == "llama3-8b-instruct"
    assert law.find_model("gpt-4") is None


def test_workload_and_profile_round_trip(math500):
    again = law_files.parse_law(read_yaml_text(dump_yaml(law_files.law_to_yaml_dict(math500))), Path("math500.yaml"))
    assert again.workload == math500.workload
    assert {k: (m.profile, m.params_b) for k, m in again.models.items()} == {k: (m.profile, m.params_b) for k, m in math500.models.items()}
