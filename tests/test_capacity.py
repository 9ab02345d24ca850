"""`planner check` as a library: verdict arithmetic, resolution problems with lines, figures of the examples."""

import math
from dataclasses import replace
from pathlib import Path

import pytest

from planner.capacity.check import (
    MAX,
    MIN,
    CheckResult,
    PlanCheck,
    Verdict,
    check_files,
    check_plan,
    load_multiplier,
    resolve,
)
from planner.errors import ProfileError
from planner.files.checker import ProfileErrors
from planner.files.disk import parse_yaml_text
from planner.files.plans import HOURS_PER_MONTH, parse_plan, read_plan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BASE = """\
workload:
  requests_per_second: 2
  prompt_tokens: 500
  output_tokens: 200
slo:
  ttft_p99_s: 2 s
  e2e_p99_s: 30 s
deployment:
  hardware: h100-sxm
  model: llama-3.1-8b
budget:
  usd_per_month: 5000
  joules_per_query: 500
"""


def plan_of(text: str, name: str = "plan.yaml"):
    return parse_plan(parse_yaml_text(text, Path(name)), Path(name))


def checked(text: str, catalog, goodput: bool = False):
    return check_plan(resolve(plan_of(text), catalog), goodput=goodput)


def by_check(result: PlanCheck) -> dict[str, Verdict]:
    return {v.check: v for v in result.verdicts}


# -- verdict arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize("predicted,limit,direction,passed,headroom", [
    (0.5, 1.0, MAX, True, 0.5),
    (1.5, 1.0, MAX, False, -0.5),
    (1.0, 1.0, MAX, True, 0.0),
    (0.45, 0.40, MIN, True, 0.125),
    (0.30, 0.40, MIN, False, -0.25),
    (math.inf, 2.0, MAX, False, -math.inf),
])
def test_verdict_pass_and_headroom(predicted, limit, direction, passed, headroom):
    v = Verdict(check="x", field="slo.x", line=3, predicted=predicted, limit=limit, unit="s", direction=direction)
    assert v.passed is passed
    assert v.headroom == pytest.approx(headroom)


def test_interval_straddling_the_limit_is_flagged():
    v = Verdict(check="slo.accuracy", field="slo.accuracy", line=1, predicted=0.41, limit=0.40, unit="fraction",
                direction=MIN, interval=(0.37, 0.44))
    assert v.passed and v.straddles
    assert not replace(v, interval=(0.405, 0.44)).straddles


def test_result_status():
    ok = PlanCheck(path="a", verdicts=(Verdict(check="c", field="f", line=1, predicted=1, limit=2, unit="s", direction=MAX),))
    bad = PlanCheck(path="b", verdicts=(Verdict(check="c", field="f", line=1, predicted=3, limit=2, unit="s", direction=MAX),))
    invalid = PlanCheck(path="c", problems=(ProfileError("c", "x", "bad", line=1),))
    assert CheckResult(plans=(ok,)).all_passed
    assert not CheckResult(plans=(ok, bad)).all_passed and not CheckResult(plans=(ok, bad)).any_invalid
    assert CheckResult(plans=(ok, invalid)).any_invalid and not invalid.passed


# -- checks of a plan --------------------------------------------------------------------------------


def test_every_objective_becomes_a_verdict_on_its_line(catalog):
    result = checked(BASE, catalog)
    checks = by_check(result)
    assert set(checks) == {"memory per device", "slo.ttft_p99_s", "slo.e2e_p99_s", "budget.usd_per_month",
                           "budget.joules_per_query"}
    assert {c: v.line for c, v in checks.items()} == {
        "memory per device": 9, "slo.ttft_p99_s": 6, "slo.e2e_p99_s": 7, "budget.usd_per_month": 12,
        "budget.joules_per_query": 13}
    assert result.passed
    assert result.assumptions and all(isinstance(a, str) for a in result.assumptions)


def test_monthly_cost_is_devices_times_price_times_hours(catalog):
    text = BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  tp: 2\n  replicas: 3\n")
    result = checked(text, catalog)
    price = catalog.hardware("h100-sxm").price_usd_per_hour
    assert by_check(result)["budget.usd_per_month"].predicted == pytest.approx(6 * price * HOURS_PER_MONTH)
    assert result.figures["devices"] == 6


def test_a_tight_budget_fails_and_more_replicas_raise_saturation(catalog):
    result = checked(BASE.replace("usd_per_month: 5000", "usd_per_month: 100"), catalog)
    assert not by_check(result)["budget.usd_per_month"].passed and not result.passed
    one = checked(BASE, catalog).figures["saturation_rps"]
    three = checked(BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  replicas: 3\n"), catalog).figures["saturation_rps"]
    assert three == pytest.approx(3 * one)


def test_overload_fails_latency_and_headroom(catalog):
    text = BASE.replace("requests_per_second: 2", "requests_per_second: 5000") + "  # end\n"
    text = text.replace("slo:\n", "slo:\n  min_headroom: 0.1\n")
    result = checked(text, catalog, goodput=True)
    checks = by_check(result)
    assert result.figures["utilisation_at_peak"] > 1
    assert not checks["slo.min_headroom"].passed and not checks["slo.e2e_p99_s"].passed
    assert 0 < result.figures["goodput_rps"] < result.figures["saturation_rps"] < 5000


def test_samples_multiply_the_load(catalog):
    text = BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  method: majority\n  samples: 8\n")
    one, eight = checked(BASE, catalog), checked(text, catalog)
    assert eight.figures["load_multiplier"] == pytest.approx(8.0)
    assert eight.figures["saturation_rps"] < one.figures["saturation_rps"] / 4


def test_peak_factor_moves_the_latency_check_not_the_cost(catalog):
    calm = checked(BASE.replace("requests_per_second: 2", "requests_per_second: 20"), catalog)
    peaky = checked(BASE.replace("requests_per_second: 2", "requests_per_second: 20\n  peak_factor: 4"), catalog)
    assert peaky.figures["peak_requests_per_second"] == pytest.approx(80)
    assert peaky.figures["utilisation_at_peak"] == pytest.approx(4 * calm.figures["utilisation_at_peak"])
    assert peaky.figures["monthly_cost_usd"] == calm.figures["monthly_cost_usd"]


def test_a_model_that_does_not_fit_fails_memory(catalog):
    result = checked(BASE.replace("llama-3.1-8b", "llama-3.1-405b"), catalog)
    memory = by_check(result)["memory per device"]
    assert not memory.passed and memory.predicted > memory.limit
    assert result.figures["saturation_rps"] == 0 and not by_check(result)["slo.e2e_p99_s"].passed


# -- resolution: unknown names and impossible layouts are invalid plans, with lines --------------------


def resolve_problems(text: str, catalog) -> dict[str, ProfileError]:
    with pytest.raises((ProfileError, ProfileErrors)) as info:
        resolve(plan_of(text), catalog)
    exc = info.value
    return {p.field: p for p in (exc.problems if isinstance(exc, ProfileErrors) else [exc])}


def test_unknown_profiles_get_suggestions_and_lines(catalog):
    found = resolve_problems(BASE.replace("h100-sxm", "h100-sxn").replace("llama-3.1-8b", "llama-3.1-8x"), catalog)
    assert set(found) == {"deployment.hardware", "deployment.model"}
    assert found["deployment.hardware"].line == 9 and "h100-sxm" in found["deployment.hardware"].message
    assert found["deployment.model"].line == 10


def test_layouts_the_model_cannot_run(catalog):
    found = resolve_problems(BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  tp: 3\n"), catalog)
    assert found["deployment.tp"].line == 11 and "divide" in found["deployment.tp"].message
    found = resolve_problems(BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  tp: 2\n  ep: 2\n"), catalog)
    assert "dense" in found["deployment.ep"].message and found["deployment.ep"].line == 12


def test_unknown_task_is_invalid(catalog):
    text = BASE.replace("  output_tokens: 200\n", "  output_tokens: 200\n  task: math5000\n")
    found = resolve_problems(text, catalog)
    assert "math500" in found["workload.task"].message


def test_check_files_keeps_going_after_a_bad_file(tmp_path, catalog):
    good, bad, missing = tmp_path / "good.yaml", tmp_path / "bad.yaml", tmp_path / "nope.yaml"
    good.write_text(BASE)
    bad.write_text(BASE.replace("tp", "tp").replace("usd_per_month", "usd_per_moth"))
    result = check_files([good, bad, missing], catalog)
    assert [p.valid for p in result.plans] == [True, False, False]
    assert result.plans[1].problems[0].line == 12 and "did you mean 'usd_per_month'" in result.plans[1].problems[0].message
    assert result.any_invalid


# -- the examples -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def examples(catalog):
    return {p.stem: check_plan(resolve(read_plan(p), catalog), goodput=False) for p in sorted(EXAMPLES.glob("*.yaml"))}


def test_the_four_examples_exist(examples):
    assert set(examples) == {"chat-h100", "math-tutor-best-of-n", "batch-summarisation", "on-device-assistant"}


def test_examples_pass_their_own_checks(examples):
    for name, result in examples.items():
        failing = [v.check for v in result.verdicts if not v.passed]
        assert result.passed, f"{name}: {failing}"


def test_math_tutor_shows_the_load_multiplier_and_an_accuracy_interval(examples):
    tutor = examples["math-tutor-best-of-n"]
    assert tutor.figures["load_multiplier"] == pytest.approx(16.0)
    accuracy = by_check(tutor)["slo.accuracy"]
    lo, hi = accuracy.interval
    assert lo < accuracy.predicted < hi
    assert any("16× the request rate" in a for a in tutor.assumptions)
    assert tutor.figures["reward_model_load"] > 0
    assert any("reward model llemma-34b" in a for a in tutor.assumptions)


def test_phone_has_no_price_but_an_energy_budget(examples):
    phone = examples["on-device-assistant"]
    assert phone.figures["monthly_cost_usd"] is None
    assert "budget.joules_per_query" in by_check(phone)
    assert phone.figures["utilisation_at_peak"] < 0.1


def test_load_multiplier_for_tree_search_exceeds_k(catalog):
    text = BASE.replace("  model: llama-3.1-8b\n", "  model: llemma-7b\n  method: rebase\n  samples: 8\n  reward_model: llemma-7b\n")
    r = resolve(plan_of(text), catalog)
    assert load_multiplier(r) >= 8.0


# -- planner plan: the search ------------------------------------------------------------------------

DRAFT = """\
workload:
  requests_per_second: 10
  peak_factor: 2
  prompt_tokens: 1000
  output_tokens: 300
slo:
  ttft_p99_s: 2 s
  e2e_p99_s: 60 s
  min_headroom: 0.2
deployment:
  model: llama-3.1-8b
"""


def draft_of(text: str):
    return parse_plan(parse_yaml_text(text, Path("draft.yaml")), Path("draft.yaml"), draft=True)


def test_search_finds_the_cheapest_passing_layout(catalog):
    from planner.capacity.plan import search

    result = search(draft_of(DRAFT), catalog, hardware=["h100-sxm", "a100-sxm-80gb", "l40s"])
    best = result.best
    assert best is not None and best.check.passed
    assert set(result.searched) == {"hardware", "tp", "max_batch", "replicas"}
    assert best.plan.deployment.hardware in {"h100-sxm", "a100-sxm-80gb", "l40s"}
    # nothing that passes is cheaper, and one replica fewer of the winner fails
    for r in result.runners_up:
        assert r.monthly_cost_usd >= best.monthly_cost_usd
    if best.plan.deployment.replicas > 1:
        fewer = replace(best.plan, deployment=replace(best.plan.deployment, replicas=best.plan.deployment.replicas - 1))
        assert not check_plan(resolve(fewer, catalog), goodput=False).passed


def test_search_keeps_fixed_choices_and_is_deterministic(catalog):
    from planner.capacity.plan import search

    text = DRAFT.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  hardware: a100-sxm-80gb\n  tp: 2\n")
    a, b = search(draft_of(text), catalog), search(draft_of(text), catalog)
    assert a.best.plan.deployment.hardware == "a100-sxm-80gb" and a.best.plan.deployment.tp == 2
    assert set(a.searched) == {"max_batch", "replicas"}
    assert a.best.plan == b.best.plan and a.evaluated == b.evaluated


def test_search_reports_what_fails_when_nothing_passes(catalog):
    from planner.capacity.plan import failure_summary, search

    text = DRAFT.replace("ttft_p99_s: 2 s", "ttft_p99_s: 1 us")
    result = search(draft_of(text), catalog, hardware=["h100-sxm"], max_replicas=4)
    assert result.best is None and result.closest is not None
    assert result.failing_checks[0][0] == "slo.ttft_p99_s"
    assert "slo.ttft_p99_s" in failure_summary(result)


def test_invalid_draft_names_are_reported_with_lines(catalog):
    from planner.capacity.plan import search

    with pytest.raises((ProfileError, ProfileErrors)) as info:
        search(draft_of(DRAFT.replace("llama-3.1-8b", "llama-3.1-8x")), catalog)
    assert "llama-3.1-8b" in str(info.value) and ":11:" in str(info.value)


TUTOR_DRAFT = """\
workload:
  requests_per_second: 1
  peak_factor: 3
  prompt_tokens: 200
  output_tokens: 270
  task: math500
slo:
  accuracy: 40%
  e2e_p99_s: 60 s
deployment:
  hardware: h100-sxm
"""


def test_draft_without_model_uses_recommends_search(catalog):
    from planner.capacity.plan import search
    from planner.optimizer.request import SearchRequest
    from planner.optimizer.search import recommend

    result = search(draft_of(TUTOR_DRAFT), catalog, max_replicas=8)
    best = result.best
    assert best is not None and best.check.passed
    assert {"model", "method", "samples", "precision"} <= set(result.searched)
    assert "recommend" in result.model_note
    # the same answer `planner recommend --task math500 --target-accuracy 40% --hardware h100-sxm` gives
    law = catalog.get("law", "math500", __import__("planner.files.laws", fromlist=["parse_law"]).parse_law)
    rec = recommend(catalog, law, "built-in", SearchRequest(target_accuracy=0.40, hardware=("h100-sxm",),
                                                           prompt_tokens=200, output_tokens=270))
    d = best.plan.deployment
    assert (d.model, d.method, d.samples, d.precision) == (rec.best.model, rec.best.method, rec.best.samples, rec.best.precision)
    assert by_check(best.check)["slo.accuracy"].predicted >= 0.40


def test_draft_without_model_needs_an_accuracy_target(catalog):
    from planner.capacity.plan import search

    with pytest.raises(ProfileError) as info:
        search(draft_of(TUTOR_DRAFT.replace("  accuracy: 40%\n", "")), catalog)
    assert "slo.accuracy" in str(info.value)


def test_unreachable_accuracy_is_a_finding_not_an_error(catalog):
    from planner.capacity.plan import failure_summary, search

    result = search(draft_of(TUTOR_DRAFT.replace("accuracy: 40%", "accuracy: 99%")), catalog)
    assert result.best is None and "reaches slo.accuracy 99 %" in failure_summary(result)


def test_engine_profiles_and_moe_layouts(catalog):
    found = resolve_problems(BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  engine: vlm\n"), catalog)
    assert "vllm" in found["deployment.engine"].message and found["deployment.engine"].line == 11
    generic = checked(BASE, catalog)
    vllm = checked(BASE.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  engine: vllm\n"), catalog)
    assert any("engine generic" in a for a in generic.assumptions) and any("engine vllm" in a for a in vllm.assumptions)
    moe = BASE.replace("llama-3.1-8b", "deepseek-v3").replace("h100-sxm", "h200-sxm").replace(
        "  model: deepseek-v3\n", "  model: deepseek-v3\n  precision: fp8\n  tp: 8\n  ep: 8\n")
    result = checked(moe, catalog)
    assert result.figures["devices"] == 8 and by_check(result)["memory per device"].passed
    found = resolve_problems(moe.replace("  ep: 8\n", "  ep: 8\n  attention_dp: 2\n  pp: 200\n"), catalog)
    assert "deployment.pp" in found
