"""Scaling-law forms, fits and predictions: closed forms, published anchors, held-out extrapolation, properties."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.accuracy import scaling
from planner.errors import FitError, InputError

DATA = Path(__file__).parent / "data" / "scaling" / "published_points.csv"
WU = {
    "Greedy": "greedy",
    "Sampling + majority voting": "majority",
    "Sampling + best-of-n (PRM)": "best-of-n",
    "Sampling + weighted voting": "weighted-majority",
    "REBASE + weighted voting": "rebase",
}


def _rows():
    with open(DATA, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _math500_points():
    seen, out = set(), []
    for r in _rows():
        if r["source_id"] == "WU24" and r["dataset"] == "MATH500" and r["method"] in WU:
            key = (r["model"], WU[r["method"]], int(r["n_samples"]))
            if key not in seen:
                seen.add(key)
                out.append(scaling.Point(model=r["model"], method=key[1], samples=key[2], accuracy=float(r["accuracy"]) / 100, n_problems=500))
    return out


def _mbpp(method: str):
    return [
        scaling.Point(model="llama3-8b", method="pass-at-k", samples=int(r["n_samples"]), accuracy=float(r["accuracy"]) / 100, n_problems=500)
        for r in _rows()
        if r["source_id"] == "WU24" and r["dataset"] == "MBPP" and r["method"] == method
    ]


# -- closed forms ------------------------------------------------------------------------------


def test_exp_power_reproduces_brown_anchors():
    """Brown et al. 2024 Fig. 5: Llama-3-8B-Instruct on MATH, a = -1.33, b = -0.43 (log c = a k^b, b < 0);
    Sec. 1: coverage 82.9 % at k = 100 and 98.44 % at k = 10,000."""
    rows = [r for r in _rows() if r["source_id"] == "BROWN24"]
    a = next(float(r["accuracy"]) for r in rows if r["metric"].startswith("fit_param_a"))
    b = next(float(r["accuracy"]) for r in rows if r["metric"].startswith("fit_param_b"))
    assert a < 0 and b < 0  # the sign convention of the published fits
    for r in rows:
        if r["metric"] == "coverage_pct":
            k, c = int(r["n_samples"]), float(r["accuracy"])
            assert 100 * float(scaling.exp_power(k, a, b)) == pytest.approx(c, abs=1.0)


def test_beta_pass_at_k_matches_monte_carlo():
    rng = np.random.default_rng(7)
    alpha, beta = 0.4, 1.3
    p = rng.beta(alpha, beta, size=200_000)
    for k in (1, 4, 16):
        solved = rng.binomial(k, p) > 0
        assert float(scaling.beta_pass_at_k(k, alpha, beta)) == pytest.approx(solved.mean(), abs=0.004)


def test_vote_probability_matches_simulation():
    rng = np.random.default_rng(3)
    p, rho, k = 0.35, 0.6, 7
    q = rho * (1 - p)
    u = rng.random((100_000, k))
    c = np.sum(u < p, axis=1)
    w = np.sum((u >= p) & (u < p + q), axis=1)
    sim = np.mean(np.where(c > w, 1.0, np.where((c == w) & (c > 0), 0.5, 0.0)))
    assert float(scaling.vote_probability(np.array([p]), rho, k)[0]) == pytest.approx(sim, abs=0.004)
    # one sample: the vote is that sample
    assert float(scaling.vote_probability(np.array([p]), rho, 1)[0]) == pytest.approx(p, abs=1e-3)


def test_vote_normal_approximation_joins_the_exact_vote():
    """Exact up to k = 128, normal approximation above: the two agree closely at the switch."""
    exact = scaling.beta_vote_at_k(128, 2.0, 3.0, 0.4)
    approx = scaling.beta_vote_at_k(129, 2.0, 3.0, 0.4)
    assert approx == pytest.approx(exact, abs=0.01)


def test_vote_plateau_is_below_coverage():
    """Wu et al. 2024 Thm 1: majority voting saturates below pass@k."""
    alpha, beta, rho = 0.8, 1.5, 0.5
    plateau = scaling.beta_vote_plateau(alpha, beta, rho)
    assert plateau < float(scaling.beta_pass_at_k(1024, alpha, beta))
    assert scaling.beta_vote_at_k(4096, alpha, beta, rho) == pytest.approx(plateau, abs=0.02)


# -- held-out extrapolation on published curves -------------------------------------------------


def test_heldout_math500_saturating_fit_on_small_k():
    """Fit on k <= K/4 of each Wu et al. MATH500 curve (plus greedy), predict the larger k: within 2.5 points each, 1.5 on average."""
    pts = _math500_points()
    kmax, kmin = {}, {}
    for p in pts:
        kmax[(p.model, p.method)] = max(kmax.get((p.model, p.method), 0), p.samples)
        kmin[(p.model, p.method)] = min(kmin.get((p.model, p.method), 10**6), p.samples)
    train = [p for p in pts if p.method == "greedy" or p.samples <= kmax[(p.model, p.method)] / 4 or p.samples == kmin[(p.model, p.method)]]
    test = [p for p in pts if p not in train]
    assert len(test) == 6
    res = scaling.fit(train, "saturating_power", n_boot=0)
    errors = [100 * abs(float(scaling.predict(res, [p.samples], model=p.model, method=p.method).accuracy[0]) - p.accuracy) for p in test]
    assert max(errors) < 2.5
    assert np.mean(errors) < 1.5


@pytest.mark.parametrize("method, bound", [("Sampling (pass rate)", 3.0), ("REBASE (pass rate)", 4.5)])
def test_heldout_mbpp_pass_at_k_beta(method, bound):
    """Fit Beta pass@k on k = 8, 16 of Wu et al. Table 3 (MBPP), predict k = 32, 64 within the stated bound (points)."""
    pts = _mbpp(method)
    res = scaling.fit([p for p in pts if p.samples <= 16], "beta_pass", n_boot=0)
    for p in pts:
        if p.samples > 16:
            pred = scaling.predict(res, [p.samples], model=p.model, method="pass-at-k")
            assert 100 * abs(float(pred.accuracy[0]) - p.accuracy) < bound


# -- fitting: results and errors ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mbpp_fit():
    return scaling.fit(_mbpp("Sampling (pass rate)"), "beta_pass", seed=1, n_boot=30)


def test_fit_result_fields(mbpp_fit):
    r = mbpp_fit
    assert r.success and r.form == "beta_pass" and r.n_points == 4 and r.n_params == 2
    assert r.k_range == (8, 64) and r.models == ("llama3-8b",)
    assert len(r.residuals) == 4 and r.rmse < 0.03
    for name, value in r.params.items():
        lo, hi = r.intervals[name]
        assert lo <= value <= hi


def test_fit_is_deterministic():
    a = scaling.fit(_mbpp("REBASE (pass rate)"), "exp_power", seed=5, n_boot=20)
    b = scaling.fit(_mbpp("REBASE (pass rate)"), "exp_power", seed=5, n_boot=20)
    assert a == b


def test_too_few_points_raise_fit_error():
    with pytest.raises(FitError, match="at least 2 points"):
        scaling.fit(_mbpp("Sampling (pass rate)")[:1], "beta_pass")


def test_underdetermined_fit_raises():
    pts = [scaling.Point(model="m", method="majority", samples=k, accuracy=a) for k, a in ((4, 0.3), (16, 0.35))]
    with pytest.raises(FitError, match="free parameters"):
        scaling.fit(pts, "saturating_power")


def test_form_must_cover_the_method():
    pts = [scaling.Point(model="m", method="majority", samples=k, accuracy=a) for k, a in ((4, 0.3), (16, 0.35))]
    with pytest.raises(FitError, match="cannot describe"):
        scaling.fit(pts, "beta_pass")


@pytest.mark.parametrize("kwargs, match", [
    ({"accuracy": float("nan")}, "finite"),
    ({"accuracy": 1.5}, r"\[0, 1\]"),
    ({"samples": 0}, "≥ 1"),
    ({"method": "majoirty"}, "did you mean 'majority'"),
])
def test_bad_points_raise_input_error(kwargs, match):
    base = {"model": "m", "method": "majority", "samples": 4, "accuracy": 0.5}
    with pytest.raises(InputError, match=match):
        scaling.Point(**{**base, **kwargs})


def test_unknown_form_suggests():
    with pytest.raises(InputError, match="beta_pass"):
        scaling.get_form("beta_pas")


# -- prediction ----------------------------------------------------------------------------------


def test_extrapolation_warning_beyond_four_times_the_data(mbpp_fit):
    near = scaling.predict(mbpp_fit, [64, 256], model="llama3-8b", method="pass-at-k")
    assert near.extrapolation_warning is None
    far = scaling.predict(mbpp_fit, [64, 1024], model="llama3-8b", method="pass-at-k")
    assert far.extrapolation_warning and "1024" in far.extrapolation_warning
    assert (far.upper[1] - far.lower[1]) > (far.upper[0] - far.lower[0])


def test_per_sample_transform_acts_before_aggregation(mbpp_fit):
    """A penalty on per-sample success hurts pass@1 more than pass@64 (samples recover most of the gap)."""
    base = scaling.predict(mbpp_fit, [1, 64], model="llama3-8b", method="pass-at-k")
    hurt = scaling.predict(mbpp_fit, [1, 64], model="llama3-8b", method="pass-at-k", transform=lambda p: 0.8 * p)
    same = scaling.predict(mbpp_fit, [1, 64], model="llama3-8b", method="pass-at-k", transform=lambda p: p)
    assert np.allclose(same.accuracy, base.accuracy, atol=2e-3)
    loss = base.accuracy - hurt.accuracy
    assert loss[0] > 0 and loss[1] > 0
    assert loss[1] / base.accuracy[1] < loss[0] / base.accuracy[0]


def test_size_law():
    law = scaling.fit_size_law({"a": (7.0, 0.30), "b": (34.0, 0.33), "c": (8.0, 0.296)})
    assert law.slope > 0 and law.params_range_b == (7.0, 34.0)
    assert 0.28 < law.single_sample_accuracy(13.0) < 0.34
    with pytest.raises(FitError):
        scaling.fit_size_law({"a": (7.0, 0.3)})


@settings(max_examples=30, deadline=None)
@given(
    mu=st.floats(0.05, 0.95),
    kappa=st.floats(0.2, 20.0),
    rho=st.floats(0.05, 0.95),
)
def test_properties_of_the_beta_model(mu, kappa, rho):
    alpha, beta = mu * kappa, (1 - mu) * kappa
    ks = np.array([1, 2, 4, 8, 16, 32, 64])
    cover = np.asarray(scaling.beta_pass_at_k(ks, alpha, beta))
    vote = np.asarray(scaling.beta_vote_at_k(ks, alpha, beta, rho))
    assert np.all(np.diff(cover) >= -1e-12)  # pass@k non-decreasing
    assert np.all((cover >= 0) & (cover <= 1)) and np.all((vote >= 0) & (vote <= 1))
    assert np.all(vote <= cover + 3e-3)  # a vote needs at least one correct sample (grid tolerance)


@settings(max_examples=30, deadline=None)
@given(ks=st.lists(st.integers(1, 5000), min_size=1, max_size=6))
def test_prediction_intervals_contain_the_estimate(mbpp_fit, ks):
    pred = scaling.predict(mbpp_fit, ks, model="llama3-8b", method="pass-at-k")
    assert np.all(pred.lower <= pred.accuracy + 1e-12) and np.all(pred.accuracy <= pred.upper + 1e-12)
    assert np.all(pred.lower >= 0) and np.all(pred.upper <= 1)


def test_predict_rejects_bad_samples(mbpp_fit):
    with pytest.raises(InputError):
        scaling.predict(mbpp_fit, [0, 4], model="llama3-8b", method="pass-at-k")
    with pytest.raises(InputError, match="did you mean"):
        scaling.predict(mbpp_fit, [4], model="llama3-8b", method="pass@k")
