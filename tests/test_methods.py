"""Tests for planner.cost.methods and planner.accuracy.estimators: closed forms, monotonicity, and the Wu et al. 2024 FLOPs anchor."""

from __future__ import annotations

import csv
import functools
import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import domain
from planner.accuracy import estimators as E
from planner.cost import methods as S
from planner.domain import ModelProfile
from planner.errors import InputError, UnknownNameError
from planner.files.catalog import Catalog

DATA = Path(__file__).parent / "data"

@functools.lru_cache(maxsize=None)
def model(model_id: str) -> ModelProfile:
    """Built-in model profiles (architectures from each config.json, via shared/data/models.csv)."""
    return Catalog().model(model_id)


# ---------------------------------------------------------------------------------------------
# Wu et al. 2024 anchor
#
# Wu et al. print generator FLOPs per question: best-of-n and weighted-voting rows equal majority rows,
# so the reward model is not charged, and FLOPs are linear in k, so the prompt is not charged either.
# Assumed mean generated tokens per completion (the paper does not print them; these are the means of
# the lengths implied by the greedy rows at f(ctx) per token, grouped by fine-tune family):
#   MATH500: Llemma-7B/34B (MetaMath SFT) 289 tokens, Mistral-7B and Llama3-8B 246 tokens; GSM8K: 163 tokens.
OUTPUT_TOKENS = {
    ("MATH500", "llemma-7b"): 289, ("MATH500", "llemma-34b"): 289,
    ("MATH500", "mistral-7b"): 246, ("MATH500", "llama-3-8b"): 246,
    ("GSM8K", "llemma-7b"): 163, ("GSM8K", "llemma-34b"): 163,
    ("GSM8K", "mistral-7b"): 163, ("GSM8K", "llama-3-8b"): 163,
}
with (DATA / "wu2024_flops.csv").open(encoding="utf-8", newline="") as _handle:
    WU_ROWS = list(csv.DictReader(_handle))


def _implied_tokens(dataset: str, model_id: str) -> float:
    """Mean generated tokens implied by the model's own greedy row: solve T·f(T/2) = FLOPs."""
    (greedy,) = [r for r in WU_ROWS if (r["dataset"], r["model_id"], r["method_id"]) == (dataset, model_id, "greedy")]
    gen, target, tokens = model(model_id), float(greedy["flops_per_question"]), 200.0
    for _ in range(50):
        tokens = target / gen.flops_per_token(tokens / 2)
    return tokens


def _wu_prediction(row: dict) -> float:
    """Sampling rows: family-grouped lengths (tests the per-token cost across models and linearity in k).
    REBASE rows: the model's own greedy-implied length times the dataset's tree token overhead
    (isolates the overhead, which is model-dependent: 1.16-1.41 on MATH500)."""
    gen = model(row["model_id"])
    prm = model("llemma-34b")
    kwargs = dict(generator=gen, samples=int(row["n_samples"]), prompt_tokens=0,
                  output_tokens=OUTPUT_TOKENS[(row["dataset"], row["model_id"])])
    if row["method_id"] == "rebase":
        kwargs.update(verifier=prm, n_steps=10, token_overhead=S.WU2024_REBASE_TOKEN_OVERHEAD[row["dataset"]],
                      output_tokens=_implied_tokens(row["dataset"], row["model_id"]))
    elif domain.method(row["method_id"]).verifier == "reward-model":
        kwargs.update(verifier=prm)
    return S.search_cost(row["method_id"], **kwargs).generator_flops


@pytest.mark.parametrize("row", WU_ROWS, ids=lambda r: f"{r['model_id']}-{r['dataset']}-{r['method_id']}-{r['n_samples']}")
def test_wu2024_flops_anchor(row):
    published = float(row["flops_per_question"])
    assert _wu_prediction(row) == pytest.approx(published, rel=0.10)


def test_wu2024_anchor_covers_tables_1_and_4():
    tables = {r["table"][:10] for r in WU_ROWS}
    assert tables == {"v3 Table 1", "v3 Table 4"}
    assert {r["model_id"] for r in WU_ROWS} == {"mistral-7b", "llemma-7b", "llama-3-8b", "llemma-34b"}
    assert len(WU_ROWS) == 62


def test_reward_model_flops_are_charged_beyond_wu_convention():
    gen, prm = model("mistral-7b"), model("llemma-34b")
    maj = S.search_cost("majority", generator=gen, samples=32, prompt_tokens=100, output_tokens=250)
    bon = S.search_cost("best-of-n", generator=gen, verifier=prm, samples=32, prompt_tokens=100, output_tokens=250)
    assert bon.generator_flops == pytest.approx(maj.generator_flops)
    # PRM (33.5 B) scores every generated token once and the prompt once: about 4.7x the generator.
    expected = S.prefill_flops(prm, 100) + 32 * S.decode_flops(prm, 100, 250)
    assert bon.verifier_flops == pytest.approx(expected)
    assert bon.verifier_passes == 32 and bon.verifier_tokens == 100 + 32 * 250
    assert 4.0 < bon.verifier_flops / bon.generator_flops < 5.5


# ---------------------------------------------------------------------------------------------
# Accounting details


def test_shared_prompt_is_prefilled_once():
    gen = model("llama-3-8b")
    one = S.search_cost("majority", generator=gen, samples=1, prompt_tokens=500, output_tokens=200)
    many = S.search_cost("majority", generator=gen, samples=16, prompt_tokens=500, output_tokens=200)
    assert many.generator_prefill_flops == one.generator_prefill_flops
    assert many.generator_decode_flops == pytest.approx(16 * one.generator_decode_flops)
    assert many.prompt_tokens == 500 and many.generated_tokens == 3200
    assert many.parallel_width == 16 and many.decode_steps == 200 and many.rounds == 1


def test_decode_flops_follow_brown_et_al_formula():
    # Brown et al. 2024 §2.3: per token 2·(N + 2·n_layers·d_model·ctx) for MHA; Llemma-7B is MHA.
    gen = model("llemma-7b")
    P, T = 300, 400
    mean_ctx = P + T / 2
    brown = T * 2 * (gen.active_matmul_params + 2 * gen.n_layers * gen.hidden_size * mean_ctx)
    assert S.decode_flops(gen, P, T) == pytest.approx(brown)
    # and the mean context gives the exact sum over decode steps of an affine cost
    exact = sum(gen.flops_per_token(P + t + 0.5) for t in range(T))
    assert S.decode_flops(gen, P, T) == pytest.approx(exact, rel=1e-9)


def test_greedy_forces_one_sample():
    cost = S.search_cost("greedy", generator=model("mistral-7b"), samples=64, prompt_tokens=10, output_tokens=100)
    assert cost.samples == 1 and cost.generated_tokens == 100


def test_rebase_generates_as_many_tokens_as_sampling_and_runs_prm_every_step():
    gen, prm = model("llemma-7b"), model("llemma-34b")
    samp = S.search_cost("weighted-majority", generator=gen, verifier=prm, samples=32, prompt_tokens=80, output_tokens=300)
    tree = S.search_cost("rebase", generator=gen, verifier=prm, samples=32, prompt_tokens=80, output_tokens=300, n_steps=12)
    assert tree.generated_tokens == pytest.approx(samp.generated_tokens)
    assert tree.generator_flops == pytest.approx(samp.generator_flops)
    assert tree.verifier_passes == 32 * 12 and tree.rounds == 12
    assert tree.decode_steps == pytest.approx(300)


def test_mcts_rollouts_cost_more_than_rebase():
    gen, prm = model("llemma-7b"), model("llemma-34b")
    kw = dict(generator=gen, verifier=prm, samples=8, prompt_tokens=80, output_tokens=300, n_steps=10)
    rebase, mcts = S.search_cost("rebase", **kw), S.search_cost("mcts", **kw)
    # one rollout per node: k·T·(n+1)/2 generated tokens
    assert mcts.generated_tokens == pytest.approx(8 * 300 * 11 / 2)
    assert mcts.total_flops > 4 * rebase.total_flops


def test_pass_at_k_and_human_pick_count_calls_not_flops():
    gen = model("mistral-7b")
    pk = S.search_cost("pass-at-k", generator=gen, samples=10, prompt_tokens=50, output_tokens=100)
    hp = S.search_cost("human-pick", generator=gen, samples=4, prompt_tokens=50, output_tokens=100)
    assert pk.verifier_flops == 0 and pk.verifier_calls == 10
    assert hp.verifier_flops == 0 and hp.verifier_calls == 4


def test_ensemble_runs_each_model_once():
    models = [model("mistral-7b"), model("llama-3-8b"), model("llemma-7b")]
    cost = S.search_cost("ensemble", generator=models, prompt_tokens=100, output_tokens=200)
    assert cost.samples == 3 and cost.prompt_tokens == 300 and cost.generated_tokens == 600
    singles = sum(S.search_cost("greedy", generator=m, prompt_tokens=100, output_tokens=200).total_flops for m in models)
    assert cost.total_flops == pytest.approx(singles)


def test_vectorised_over_samples():
    ks = np.array([1, 4, 16, 64])
    cost = S.search_cost("majority", generator=model("mistral-7b"), samples=ks, prompt_tokens=100, output_tokens=200)
    assert cost.total_flops.shape == (4,)
    assert np.all(np.diff(cost.total_flops) > 0)


def test_errors():
    gen = model("mistral-7b")
    with pytest.raises(UnknownNameError, match="best-of-n"):
        domain.method("best-of-m")
    with pytest.raises(InputError, match="verifier"):
        S.search_cost("best-of-n", generator=gen, samples=4, prompt_tokens=1, output_tokens=10)
    with pytest.raises(InputError, match="n_steps"):
        S.search_cost("rebase", generator=gen, verifier=gen, samples=4, prompt_tokens=1, output_tokens=10)
    with pytest.raises(InputError, match="output_tokens"):
        S.search_cost("majority", generator=gen, samples=4, prompt_tokens=1, output_tokens=0)
    with pytest.raises(InputError, match="samples"):
        S.search_cost("majority", generator=gen, samples=0, prompt_tokens=1, output_tokens=10)
    assert set(domain.SEARCH_METHODS) == {"greedy", "majority", "best-of-n", "weighted-majority", "mcts", "rebase",
                              "pass-at-k", "ensemble", "human-pick"}


# ---------------------------------------------------------------------------------------------
# Monotonicity (hypothesis)

_GEN_METHODS = ["majority", "best-of-n", "weighted-majority", "rebase", "mcts", "pass-at-k", "human-pick"]


@settings(max_examples=60, deadline=None)
@given(method=st.sampled_from(_GEN_METHODS), k=st.integers(1, 256), extra=st.integers(1, 256),
       prompt=st.integers(0, 4000), output=st.integers(1, 4000))
def test_more_samples_never_cost_fewer_flops(method, k, extra, prompt, output):
    gen, prm = model("mistral-7b"), model("llemma-34b")
    kw = dict(generator=gen, verifier=prm, prompt_tokens=prompt, output_tokens=output, n_steps=8)
    a = S.search_cost(method, samples=k, **kw)
    b = S.search_cost(method, samples=k + extra, **kw)
    assert b.total_flops >= a.total_flops
    assert b.generated_tokens >= a.generated_tokens


@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(_GEN_METHODS + ["greedy"]), k=st.integers(1, 128),
       prompt=st.integers(0, 4000), output=st.integers(1, 4000))
def test_larger_model_never_costs_fewer_flops(method, k, prompt, output):
    prm = model("llemma-34b")
    kw = dict(verifier=prm, samples=k, prompt_tokens=prompt, output_tokens=output, n_steps=8)
    small = S.search_cost(method, generator=model("llemma-7b"), **kw)
    large = S.search_cost(method, generator=model("llemma-34b"), **kw)
    assert large.total_flops >= small.total_flops


# ---------------------------------------------------------------------------------------------
# Estimators


def _brute_pass_at_k(n, c, k):
    samples = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c,k", [(5, 0, 1), (5, 1, 1), (5, 2, 3), (8, 3, 4), (10, 9, 2), (6, 6, 6), (7, 1, 7)])
def test_pass_at_k_matches_brute_force(n, c, k):
    assert E.pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), abs=1e-12)
    assert E.pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


def test_pass_at_k_is_stable_for_large_n_and_vectorised():
    # C(1000, 500) overflows a float; the product form does not.
    value = E.pass_at_k(1000, 3, 500)
    assert value == pytest.approx(1 - (500 * 499 * 498) / (1000 * 999 * 998), rel=1e-12)
    arr = E.pass_at_k(np.array([10, 10, 10]), np.array([0, 1, 5]), 2)
    assert arr.shape == (3,) and arr[0] == 0 and arr[1] == pytest.approx(0.2)
    with pytest.raises(InputError):
        E.pass_at_k(5, 6, 1)


def _brute_majority(answers, correct, k):
    total = 0.0
    subsets = list(itertools.combinations(range(len(answers)), k))
    for s in subsets:
        counts = {}
        for i in s:
            counts[answers[i]] = counts.get(answers[i], 0) + 1
        top = max(counts.values())
        winners = [a for a, v in counts.items() if v == top]
        total += (correct in winners) / len(winners)
    return total / len(subsets)


@pytest.mark.parametrize("seed", range(6))
def test_majority_at_k_matches_brute_force(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 9)
    answers = [rng.choice("abcd") for _ in range(n)]
    for k in range(1, n + 1):
        assert E.majority_at_k(answers, "a", k) == pytest.approx(_brute_majority(answers, "a", k), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_best_of_n_and_weighted_at_k_match_brute_force(seed):
    rng = random.Random(seed)
    n = 7
    answers = [rng.choice("abc") for _ in range(n)]
    rewards = [round(rng.random(), 1) for _ in range(n)]  # rounding makes ties
    correct = [a == "a" for a in answers]
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        bon = 0.0
        wtd = 0.0
        for s in subsets:
            best = max(rewards[i] for i in s)
            top = [i for i in s if rewards[i] == best]
            bon += sum(correct[i] for i in top) / len(top)
            totals = {}
            for i in s:
                totals[answers[i]] = totals.get(answers[i], 0.0) + rewards[i]
            m = max(totals.values())
            winners = [a for a, v in totals.items() if abs(v - m) <= 1e-12]
            wtd += ("a" in winners) / len(winners)
        assert E.best_of_n_at_k(rewards, correct, k) == pytest.approx(bon / len(subsets), abs=1e-12)
        assert E.weighted_at_k(answers, rewards, "a", k) == pytest.approx(wtd / len(subsets), abs=1e-9)


def test_human_pick_closed_form():
    for k, m in [(1, 1), (4, 1), (4, 4), (16, 3)]:
        assert E.human_pick_win_rate(k, m, disagreement=0.0) == pytest.approx(k / (k + m))
        assert E.human_pick_win_rate(k, m, disagreement=1.0) == pytest.approx(1 / (1 + m))
    # a monte-carlo check of the formula at d = 0.2
    rng = np.random.default_rng(0)
    k, m, d, n = 4, 2, 0.2, 200_000
    ours = rng.random((n, k))
    theirs = rng.random((n, m)).max(axis=1)
    pick = np.where(rng.random(n) < d, ours[np.arange(n), rng.integers(0, k, n)], ours.max(axis=1))
    assert (pick > theirs).mean() == pytest.approx(E.human_pick_win_rate(k, m, 0.2), abs=0.005)
    with pytest.raises(InputError):
        E.human_pick_win_rate(2, 2, disagreement=1.5)
