"""The joint search: published findings of Wu et al. 2024 as tests, invariants of the search, the library API."""

from __future__ import annotations

import math

import numpy as np
import pytest

import planner
from planner.cost.methods import search_cost
from planner.errors import InputError, UnknownNameError
from planner.optimizer import grid, search
from planner.optimizer.request import SearchRequest, parse_accuracy

LLEMMAS = ("llemma-7b", "llemma-34b")
GPUS = ("h100-sxm", "a100-sxm-80gb")


@pytest.fixture(scope="module")
def math500(catalog):
    return catalog.law("math500")


def run(catalog, law, mode="recommend", **options):
    request = SearchRequest(**options)
    fn = search.recommend if mode == "recommend" else search.frontier
    return fn(catalog, law[0], law[1], request)


@pytest.fixture(scope="module")
def llemma_table(catalog, math500):
    request = SearchRequest(models=LLEMMAS, hardware=GPUS, methods=("greedy", "majority", "rebase"), precisions=("bf16",))
    return grid.build(search.prepare(catalog, math500[0], math500[1], request))


def _best_within(table, model_id, method_id, flops_budget):
    """Best accuracy within a budget of generator FLOPs (Wu et al.'s accounting: their tables leave out the PRM)."""
    mask = ((np.array([o.id for o in table.models])[table.model] == model_id)
            & (np.array(table.methods)[table.method] == method_id) & (table.generator_flops <= flops_budget))
    return table.accuracy[mask].max() if mask.any() else -1.0


@pytest.mark.parametrize("k34", [4, 8, 16, 32])
def test_llemma_7b_rebase_beats_llemma_34b_majority_at_equal_flops(llemma_table, k34):
    """Wu et al. 2024 (Table 1, Fig. 1): on MATH500 Llemma-7B with REBASE is more accurate than Llemma-34B with
    majority voting at the same FLOPs per query."""
    t = llemma_table
    big = (np.array([o.id for o in t.models])[t.model] == "llemma-34b") & (np.array(t.methods)[t.method] == "majority") & (t.samples == k34)
    budget = t.generator_flops[big][0]
    assert _best_within(t, "llemma-7b", "rebase", budget) > _best_within(t, "llemma-34b", "majority", budget)


def test_for_llemma_34b_greedy_accuracy_fewer_flops_pick_a_7b_with_search(catalog, math500, llemma_table):
    """Wu et al. 2024: a small model with search matches the larger model's greedy accuracy at fewer FLOPs."""
    t = llemma_table
    greedy34 = (np.array([o.id for o in t.models])[t.model] == "llemma-34b") & (np.array(t.methods)[t.method] == "greedy")
    target, flops34 = float(t.accuracy[greedy34][0]), float(t.flops[greedy34][0])
    rec = run(catalog, math500, target_accuracy=target, minimize="flops", models=LLEMMAS, hardware=GPUS)
    assert rec.best.model == "llemma-7b" and rec.best.method != "greedy" and rec.best.samples > 1
    assert rec.best.flops_per_query < flops34
    assert rec.best.accuracy >= target


@pytest.mark.parametrize("methods", [("majority",), ("rebase",)])
def test_a_tight_latency_limit_keeps_k_small(catalog, math500, methods):
    """Within a latency budget, tightening it moves the answer to fewer samples (k decodes as a batch, so more
    samples cost little time until the batch turns compute-bound; tree rounds and KV capacity cap it)."""
    loose = run(catalog, math500, max_latency_s=60.0, models=LLEMMAS, hardware=("h100-sxm",), methods=methods)
    tight = run(catalog, math500, max_latency_s=3.0, models=LLEMMAS, hardware=("h100-sxm",), methods=methods)
    assert tight.best.latency_s <= 3.0 < loose.best.latency_s
    assert tight.best.samples < loose.best.samples
    assert tight.best.accuracy <= loose.best.accuracy
    assert any("--max-latency-s" in line for line in tight.binding)


def test_ensemble_of_16_costs_16_times_the_tokens_of_one(catalog):
    """GPT-4 ensemble accounting: 16 inferences per query cost 16× the tokens of one."""
    m = catalog.model("llama-3.1-8b")
    one = search_cost("ensemble", generator=[m], prompt_tokens=500, output_tokens=300)
    sixteen = search_cost("ensemble", generator=[m] * 16, prompt_tokens=500, output_tokens=300)
    assert float(sixteen.generated_tokens) == 16 * float(one.generated_tokens)
    assert float(sixteen.prompt_tokens) == 16 * float(one.prompt_tokens)
    assert float(sixteen.total_flops) == pytest.approx(16 * float(one.total_flops))


def test_ensemble_in_the_search_scales_with_k(catalog, math500):
    request = SearchRequest(models=("llemma-7b",), hardware=("h100-sxm",), methods=("ensemble",), precisions=("bf16",))
    t = grid.build(search.prepare(catalog, math500[0], math500[1], request))
    by_k = {int(k): f for k, f, tp in zip(t.samples, t.flops, t.tp) if tp == 1}
    assert by_k[16] == pytest.approx(16 * by_k[1])


def test_best_meets_the_target_and_every_constraint(catalog, math500):
    rec = run(catalog, math500, target_accuracy=0.42, hardware=GPUS, max_latency_s=20.0, max_ttft_s=0.5, max_devices=4)
    b = rec.best
    assert b.accuracy >= 0.42 and b.latency_s <= 20.0 and b.ttft_s <= 0.5 and b.devices <= 4
    # nothing feasible is cheaper
    assert all(c.cost_usd_per_query >= b.cost_usd_per_query or c.accuracy < 0.42 for c in rec.frontier)


def test_frontier_is_pareto_optimal(catalog, math500):
    rec = run(catalog, math500, mode="frontier", minimize="latency", hardware=GPUS)
    acc = [c.accuracy for c in rec.frontier]
    lat = [c.latency_s for c in rec.frontier]
    assert len(rec.frontier) > 3
    assert all(a < b for a, b in zip(acc, acc[1:])) and all(a <= b for a, b in zip(lat, lat[1:]))


def test_budget_mode_maximises_accuracy_within_the_budget(catalog, math500):
    small = run(catalog, math500, budget_usd_per_1k_queries=0.05, hardware=GPUS)
    large = run(catalog, math500, budget_usd_per_1k_queries=1.0, hardware=GPUS)
    assert small.best.cost_usd_per_1k_queries <= 0.05 and large.best.cost_usd_per_1k_queries <= 1.0
    assert large.best.accuracy >= small.best.accuracy


def test_infeasible_target_reports_the_best_reachable(catalog, math500):
    rec = run(catalog, math500, target_accuracy=0.99, hardware=("h100-sxm",))
    assert rec.best is None and rec.best_reachable is not None and rec.best_reachable.accuracy < 0.99
    assert rec.frontier


def test_same_inputs_same_answer(catalog, math500):
    a = run(catalog, math500, target_accuracy=0.40, hardware=GPUS)
    b = run(catalog, math500, target_accuracy=0.40, hardware=GPUS)
    assert a == b


def test_unpriced_devices_stay_for_latency_but_not_for_cost(catalog, math500):
    cost = run(catalog, math500, target_accuracy=0.30, hardware=("apple-m2-ultra", "h100-sxm"), models=("llemma-7b",))
    assert cost.best.hardware == "h100-sxm" and any("no price" in w for w in cost.warnings)
    energy = run(catalog, math500, mode="frontier", minimize="energy", hardware=("apple-m2-ultra",), models=("llemma-7b",))
    assert energy.frontier and all(c.cost_usd_per_query is None for c in energy.frontier)


def test_default_space_has_at_least_1e5_candidates(catalog, math500):
    request = SearchRequest(target_accuracy=0.45)
    table = grid.build(search.prepare(catalog, math500[0], math500[1], request))
    assert len(table) >= 100_000


@pytest.mark.parametrize("options,error", [
    ({"target_accuracy": 1.5}, InputError),
    ({"target_accuracy": 0.4, "budget_usd_per_1k_queries": 1.0}, InputError),
    ({}, InputError),
    ({"target_accuracy": 0.4, "models": ("llemma-7x",)}, UnknownNameError),
    ({"target_accuracy": 0.4, "hardware": ("h100-sxn",)}, UnknownNameError),
    ({"target_accuracy": 0.4, "methods": ("rebse",)}, UnknownNameError),
    ({"target_accuracy": 0.4, "minimize": "money"}, InputError),
])
def test_bad_requests_raise_clear_errors(catalog, math500, options, error):
    with pytest.raises(error):
        run(catalog, math500, **options)


@pytest.mark.parametrize("text,value", [("0.45", 0.45), ("45%", 0.45), (" 45 % ".replace(" ", ""), 0.45), ("1", 1.0)])
def test_parse_accuracy(text, value):
    assert math.isclose(parse_accuracy(text), value)


def test_parse_accuracy_refuses_ambiguous_values():
    with pytest.raises(InputError, match="percentage"):
        parse_accuracy("45")


def test_library_api_returns_the_frozen_result():
    rec = planner.recommend(task="math500", target_accuracy=0.4, hardware=["h100-sxm"], models=["llemma-7b"])
    assert rec.best is not None and rec.best.model == "llemma-7b"
    with pytest.raises(Exception):
        rec.best = None  # frozen
    front = planner.frontier(task="gsm8k", hardware=["h100-sxm"], minimize="latency")
    assert front.frontier and front.best is None
