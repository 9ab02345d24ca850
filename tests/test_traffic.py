"""Traffic: Little's law, tails, saturation, goodput, load multipliers and monthly cost."""

import math

import pytest

from planner.cost.roofline import Scenario
from planner.cost.traffic import HOURS_PER_MONTH, Z90, Z99, LatencySlo, LengthSpread, at_rate, erlang_c, monthly_cost, saturation_rate
from planner.domain import precision
from planner.errors import InputError


def scenario(catalog, **kw) -> Scenario:
    args = dict(model=catalog.model("llama-3.1-8b"), hardware=catalog.hardware("h100-sxm"), weight_precision=precision("bf16"),
                kv_precision=precision("bf16"), batch=None, prompt_tokens=1024, output_tokens=256)
    args.update(kw)
    return Scenario(**args)


@pytest.fixture(scope="module")
def s(catalog):
    return scenario(catalog)


@pytest.mark.parametrize("servers,offered,expected", [(1, 0.5, 0.5), (1, 0.9, 0.9), (2, 1.0, 1 / 3), (3, 2.0, 4 / 9)])
def test_erlang_c_anchors(servers, offered, expected):
    """M/M/1 waits with probability ρ; M/M/2 at a = 1: 1/3; M/M/3 at a = 2: 4/9 (Kleinrock 1975 §3.5)."""
    assert erlang_c(servers, offered) == pytest.approx(expected, rel=1e-9)


def test_lognormal_spread_recovers_its_shape():
    spread = LengthSpread(p50_tokens=1000, p99_tokens=1000 * math.exp(Z99 * 0.5))
    assert spread.sigma(1000 * math.exp(0.125)) == pytest.approx(0.5)
    grid = LengthSpread(p90_tokens=1000 * math.exp(Z90 * 0.4 - 0.08)).quantiles(1000)
    assert grid.mean() == pytest.approx(1000, rel=0.01)  # the mean is the scenario's length
    assert float(sorted(grid)[len(grid) // 2]) == pytest.approx(1000 * math.exp(-0.08), rel=0.01)  # median = mean·e^(-σ²/2)
    assert LengthSpread().sigma(512) == 0.0


@pytest.mark.parametrize("spread,match", [
    (LengthSpread(p50_tokens=1000, p99_tokens=500), "below the median"),
    (LengthSpread(p90_tokens=5000), "too far above the mean"),
    (LengthSpread(p99_tokens=800), "must exceed the mean"),
    (LengthSpread(p90_tokens=-3), "positive"),
])
def test_bad_spreads_are_input_errors(spread, match):
    with pytest.raises(InputError, match=match):
        spread.sigma(1024)


def test_little_law_at_low_load(s):
    r = at_rate(s, 1.0)
    assert r.stable and r.concurrency == pytest.approx(1.0 * r.e2e_p50_s, rel=0.02)


def test_percentiles_are_ordered_and_spread_widens_the_tail(s):
    narrow = at_rate(s, 5.0)
    wide = at_rate(s, 5.0, prompt_spread=LengthSpread(p90_tokens=2000), output_spread=LengthSpread(p99_tokens=1500))
    for r in (narrow, wide):
        assert r.ttft_p50_s <= r.ttft_p90_s <= r.ttft_p99_s
        assert r.e2e_p50_s <= r.e2e_p90_s <= r.e2e_p99_s
        assert r.tpot_p99_s >= r.tpot_s
    assert wide.e2e_p99_s > 2 * narrow.e2e_p99_s
    assert wide.ttft_p99_s > narrow.ttft_p99_s


def test_latency_grows_with_rate_and_explodes_near_saturation(s):
    sat = at_rate(s, 1.0).saturation_rps
    low, high = at_rate(s, 0.2 * sat), at_rate(s, 0.98 * sat)
    assert high.ttft_p99_s > low.ttft_p99_s and high.tpot_s > low.tpot_s
    assert high.utilisation == pytest.approx(0.98, rel=1e-6)
    over = at_rate(s, 1.5 * sat)
    assert not over.stable and math.isinf(over.ttft_p99_s) and over.utilisation > 1
    assert any("beyond what" in w for w in over.warnings)


def test_samples_multiply_the_load(s):
    """k samples per request put k sequences on the engine: the same latencies as k times the traffic."""
    four = at_rate(s, 2.0, load_multiplier=4)
    plain = at_rate(s, 8.0)
    assert four.ttft_p99_s == pytest.approx(plain.ttft_p99_s, rel=1e-6)
    assert four.saturation_rps == pytest.approx(plain.saturation_rps / 4, rel=1e-6)
    assert any("4 engine sequences" in a for a in four.assumptions)


def test_replicas_share_the_traffic(catalog, s):
    two = at_rate(scenario(catalog, replicas=2), 10.0)
    one = at_rate(s, 5.0)
    assert two.ttft_p50_s == pytest.approx(one.ttft_p50_s, rel=1e-6)
    assert two.saturation_rps == pytest.approx(2 * one.saturation_rps, rel=1e-6)
    assert two.concurrency == pytest.approx(2 * one.concurrency, rel=1e-6)


def test_goodput_is_the_largest_rate_meeting_the_slo(s):
    slo = LatencySlo(ttft_p99_s=0.35, tpot_p99_s=0.03)
    r = at_rate(s, 1.0, slo=slo)
    assert r.slo_met is True
    assert 0 < r.goodput_rps < r.saturation_rps
    assert at_rate(s, 0.97 * r.goodput_rps, slo=slo).slo_met is True
    assert at_rate(s, 1.05 * r.goodput_rps, slo=slo).slo_met is False
    assert at_rate(s, 1.0).goodput_rps is None
    assert at_rate(s, 1.0, slo=LatencySlo(ttft_p99_s=1e-4)).goodput_rps == 0.0


def test_saturation_is_the_full_batch_rate(s):
    assert saturation_rate(s) == pytest.approx(at_rate(s, 1.0).saturation_rps, rel=1e-9)


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf")])
def test_bad_rates_are_input_errors(s, rate):
    with pytest.raises(InputError, match="requests_per_second"):
        at_rate(s, rate)


def test_monthly_cost_anchors(s):
    """H100 SXM at $3.78/h (profile price): 730 h/month = $2,759.40; energy from the device power model."""
    from planner.cost.roofline import device_power_w

    m = monthly_cost(s, 10.0, peak_factor=2.0)
    assert HOURS_PER_MONTH == 730
    assert m.usd_per_month == pytest.approx(3.78 * 730)
    assert m.usd_per_query == pytest.approx(3.78 / 3600 / 10.0)
    assert m.usd_per_query_at_peak == pytest.approx(m.usd_per_query / 2)
    idle, rated = device_power_w(s.hardware, 0.0), device_power_w(s.hardware, 1.0)
    assert rated == pytest.approx(700)
    for w in (m.device_power_w, m.device_power_w_at_peak):
        assert idle < w <= rated
    assert m.energy_j_per_month == pytest.approx(m.device_power_w * 730 * 3600)
    assert m.energy_j_per_query == pytest.approx(m.device_power_w / 10.0)
    assert m.energy_j_per_query_at_peak == pytest.approx(m.device_power_w_at_peak / 20.0)
    assert m.replicas_needed_at_peak == 1 and not m.warnings


def test_an_idle_deployment_draws_idle_power(s):
    from planner.cost.roofline import device_power_w

    m = monthly_cost(s, 1e-4)
    assert m.device_power_w == pytest.approx(device_power_w(s.hardware, 0.0), rel=0.01)


def test_monthly_cost_flags_a_peak_beyond_capacity(s):
    sat = saturation_rate(s)
    m = monthly_cost(s, sat, peak_factor=3.0)
    assert m.replicas_needed_at_peak == 3
    assert any("needs 3 replicas" in w for w in m.warnings)
    with pytest.raises(InputError, match="peak_factor"):
        monthly_cost(s, 1.0, peak_factor=0.5)


def test_a_shared_prompt_is_prefilled_once(s):
    """k samples of one request through the prefix cache: one prefill, k decodes - cheaper than k full requests."""
    shared = at_rate(s, 2.0, load_multiplier=8, prefills_per_request=1)
    separate = at_rate(s, 2.0, load_multiplier=8)
    assert shared.saturation_rps > separate.saturation_rps
    assert shared.tpot_s < separate.tpot_s
    assert any("prefix cache" in a for a in shared.assumptions)
    with pytest.raises(InputError, match="prefills_per_request"):
        at_rate(s, 2.0, load_multiplier=2, prefills_per_request=3)
