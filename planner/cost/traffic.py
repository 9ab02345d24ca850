"""Traffic: from an arrival rate to concurrency, tail latency, saturation, goodput and monthly cost.

Open-loop Poisson arrivals at ``requests_per_second`` (the whole deployment, user requests), each
turned into ``load_multiplier`` engine sequences (k samples, tree expansions, reward-model passes),
spread evenly over the replicas. Per replica:

    n        = λ · E2E(n)                 Little's law (Little 1961), solved for the concurrency n by
                                          bisection on the served model (``serving.served`` with Poisson
                                          arrivals, c_a² = 1, and the prompt-length spread as c_s²)
    λ_sat    = served rate at the largest running batch (engine max batch or KV capacity)
    beyond the running batch, requests wait for a slot: M/M/c with c = the largest running batch and
    service time E2E (Erlang C; Kleinrock 1975, Queueing Systems I §3.5)

Tails. Lengths follow log-normal distributions fitted to the given mean and percentiles. Prefill time
scales linearly with the prompt. The wait for a prefill slot is approximated by an atom at zero of mass
1-ρ and an exponential tail carrying the Kingman mean (the heavy-traffic exponential approximation,
Kingman 1962; Tijms 2003, A First Course in Stochastic Models §2.5). A request's TPOT is the decode step
plus the prefills that join its steps, a Poisson count. Independent parts are combined on quantile
grids (deterministic). Goodput (DistServe, Zhong et al. 2024 §2): the largest arrival rate at which
every percentile SLO still holds.

Seconds, requests per second, tokens, US dollars, joules; SI throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from planner.cost.roofline import Scenario, device_power_w
from planner.cost.serving import ServedEstimate, knobs_for, kv_capacity, served
from planner.errors import InputError

# Standard normal quantiles (z_0.90, z_0.99) for log-normal length fits.
Z90 = 1.2815515655446004
Z99 = 2.3263478740408408
_GRID = 256  # quantile-grid points per distribution
_BISECTIONS = 40
_GOODPUT_BISECTIONS = 14
HOURS_PER_MONTH = 730.0  # 8,760 h / 12
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
MAX_RATE = 1e7


@dataclass(frozen=True, slots=True, kw_only=True)
class LengthSpread:
    """Spread of a token length around the scenario's mean: any of p50/p90/p99 (tokens).

    Fitted as a log-normal whose mean is the scenario's length; with p50 and a tail percentile the
    shape comes from their ratio, with only a tail percentile from its ratio to the mean.
    """

    p50_tokens: float | None = None
    p90_tokens: float | None = None
    p99_tokens: float | None = None

    def sigma(self, mean_tokens: float) -> float:
        """Log-normal shape σ (0 = every request has the mean length)."""
        tail = [(z, v) for z, v in ((Z99, self.p99_tokens), (Z90, self.p90_tokens)) if v is not None]
        for name, v in (("p50_tokens", self.p50_tokens), ("p90_tokens", self.p90_tokens), ("p99_tokens", self.p99_tokens)):
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"length spread {name} must be a positive number of tokens, got {v!r}")
        if not tail:
            return 0.0
        z, v = tail[0]
        if self.p50_tokens is not None:
            if v < self.p50_tokens:
                raise InputError(f"length spread: a tail percentile ({v:g}) is below the median ({self.p50_tokens:g})")
            return math.log(v / self.p50_tokens) / z
        # ln(v / mean) = z·σ - σ²/2  →  σ = z - sqrt(z² - 2·ln(v/mean)) (the root below z)
        r = math.log(v / mean_tokens)
        if r <= 0:
            raise InputError(f"length spread: tail percentile {v:g} must exceed the mean length {mean_tokens:g}")
        disc = z * z - 2.0 * r
        if disc < 0:
            raise InputError(f"length spread: tail percentile {v:g} is too far above the mean {mean_tokens:g} for a log-normal")
        return z - math.sqrt(disc)

    def quantiles(self, mean_tokens: float, n: int = _GRID):
        """Lengths at the mid-points of ``n`` equal-probability bins (numpy array, tokens)."""
        import numpy as np

        sigma = self.sigma(mean_tokens)
        z = _normal_quantiles(n)
        return mean_tokens * np.exp(sigma * z - sigma * sigma / 2.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySlo:
    """Latency limits in seconds (None = no limit). Any object with these attributes may be passed as ``slo``."""

    ttft_p50_s: float | None = None
    ttft_p99_s: float | None = None
    tpot_p99_s: float | None = None
    e2e_p99_s: float | None = None


SLO_FIELDS = ("ttft_p50_s", "ttft_p99_s", "tpot_p99_s", "e2e_p99_s")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficResult:
    """What a replica set sees at an arrival rate (seconds; rates in user requests per second, deployment-wide).

    concurrency: engine sequences in flight across the deployment (Little's law).
    ttft_*_s, e2e_*_s: percentiles over requests; tpot_p99_s: 99th percentile of a request's mean TPOT.
    saturation_rps: largest sustainable arrival rate; goodput_rps: largest rate meeting every SLO
    (None without an SLO). utilisation: arrival rate / saturation rate.
    """

    requests_per_s: float
    load_multiplier: float
    concurrency: float
    ttft_p50_s: float
    ttft_p90_s: float
    ttft_p99_s: float
    e2e_p50_s: float
    e2e_p90_s: float
    e2e_p99_s: float
    tpot_s: float
    tpot_p99_s: float
    slot_wait_probability: float
    saturation_rps: float
    goodput_rps: float | None
    utilisation: float
    stable: bool
    slo_met: bool | None
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def _normal_quantiles(n: int):
    """Standard normal quantiles at the mid-points (i + 0.5) / n: Φ⁻¹(p) = √2 · erf⁻¹(2p - 1)."""
    import numpy as np

    p = (np.arange(n) + 0.5) / n
    return np.sqrt(2.0) * _erfinv(2.0 * p - 1.0)


def _erfinv(y):
    """Inverse error function (Giles 2012, 'Approximating the erfinv function', single-precision form) + 2 Newton steps."""
    import numpy as np

    y = np.asarray(y, dtype=float)
    w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    ps = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        ps = c + ps * ws
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    pl = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        pl = c + pl * wl
    x = np.where(small, ps, pl) * y
    erf = np.vectorize(math.erf)
    for _ in range(2):
        x = x - (erf(x) - y) / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
    return x


def _combine(a, b, n: int = _GRID):
    """Quantile grid of X + Y for independent X, Y given on equal-probability grids."""
    import numpy as np

    total = np.sort((a[:, None] + b[None, :]).ravel())
    return total[((np.arange(n) + 0.5) / n * total.size).astype(int)]


def _wait_grid(mean_s: float, busy: float, n: int = _GRID):
    """Waiting time: atom at 0 with mass 1-busy, exponential tail (mean mean_s/busy) with mass busy."""
    import numpy as np

    p = (np.arange(n) + 0.5) / n
    if busy <= 0 or mean_s <= 0:
        return np.zeros(n)
    tail = np.maximum(0.0, 1.0 - p)
    return np.where(p <= 1.0 - busy, 0.0, mean_s / busy * np.log(busy / np.maximum(tail, 1e-300)))


def _quantile(grid, q: float) -> float:
    import numpy as np

    return float(np.quantile(grid, q, method="linear"))


def erlang_c(servers: float, offered: float) -> float:
    """Probability of waiting in M/M/c (Erlang C), by the stable Erlang-B recursion; c rounded down, ≥ 1."""
    c = max(1, int(servers))
    if offered >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    return c * b / (c - offered * (1.0 - b))


def _poisson_quantile(mean: float, q: float) -> float:
    """Smallest k with P(K ≤ k) ≥ q for K ~ Poisson(mean); normal approximation with continuity beyond mean 200."""
    if mean <= 0:
        return 0.0
    if mean > 200:
        z = Z99 if abs(q - 0.99) < 1e-12 else math.sqrt(2.0) * float(_erfinv(2 * q - 1))
        return max(0.0, math.ceil(mean + z * math.sqrt(mean) - 0.5))
    term = math.exp(-mean)
    total, k = term, 0
    while total < q and k < 10_000:
        k += 1
        term *= mean / k
        total += term
    return float(k)


def _per_replica(scenario: Scenario, concurrency: float, service_scv: float, share: float = 1.0) -> ServedEstimate:
    return served(replace(scenario, replicas=1), concurrency, arrival_scv=1.0, service_scv=service_scv, prefill_share=share)


def _running_limit(scenario: Scenario) -> int:
    return min(knobs_for(scenario).max_batch, kv_capacity(scenario))


def saturation_rate(scenario: Scenario, *, service_scv: float = 0.0, prefill_share: float = 1.0) -> float:
    """Largest rate of engine sequences per second one replica sustains (its full running batch, Poisson arrivals)."""
    return _per_replica(scenario, float(_running_limit(scenario)), service_scv, prefill_share).requests_per_s


def _solve(scenario: Scenario, rate: float, service_scv: float, share: float) -> ServedEstimate:
    """Concurrency n with served rate(n) = rate (Little's law fixed point), by bisection on n."""
    limit = float(_running_limit(scenario))
    lo, hi = min(1e-6, limit), limit
    best = _per_replica(scenario, hi, service_scv, share)
    for _ in range(_BISECTIONS):
        mid = math.sqrt(lo * hi) if lo > 0 else 0.5 * hi
        st = _per_replica(scenario, mid, service_scv, share)
        if st.requests_per_s < rate:
            lo = mid
        else:
            hi, best = mid, st
        if hi - lo <= 1e-3 * hi:
            break
    return best


def at_rate(
    scenario: Scenario,
    requests_per_second: float,
    *,
    load_multiplier: float = 1.0,
    prompt_spread: LengthSpread | None = None,
    output_spread: LengthSpread | None = None,
    slo: object | None = None,
    prefills_per_request: float | None = None,
    _with_goodput: bool = True,
) -> TrafficResult:
    """Latency percentiles, concurrency, saturation and goodput at ``requests_per_second`` user requests per second.

    ``load_multiplier``: engine sequences per user request (k samples; tree expansions; reward-model
    passes counted as sequences). Latencies are those of one sequence; the k sequences of a request run
    side by side in the batch. ``slo``: any object with optional ttft_p50_s / ttft_p99_s / tpot_p99_s /
    e2e_p99_s attributes (seconds). ``prefills_per_request``: prompt prefills per user request (None =
    one per sequence; 1 when the k samples share the prompt through the prefix cache, as vLLM's and
    SGLang's automatic prefix caching do).
    """
    import numpy as np

    for name, value in (("requests_per_second", requests_per_second), ("load_multiplier", load_multiplier)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= MAX_RATE):
            raise InputError(f"{name} must be a positive number, got {value!r}")
    s = scenario
    prompt_spread = prompt_spread or LengthSpread()
    output_spread = output_spread or LengthSpread()
    p_sigma = prompt_spread.sigma(s.prompt_tokens)
    o_sigma = output_spread.sigma(s.output_tokens)
    service_scv = math.expm1(p_sigma * p_sigma)  # CV² of a log-normal prompt length (prefill ∝ prompt)
    prefills = load_multiplier if prefills_per_request is None else prefills_per_request
    if not (isinstance(prefills, (int, float)) and 0 < prefills <= load_multiplier):
        raise InputError(f"prefills_per_request must be in (0, load_multiplier = {load_multiplier:g}], got {prefills_per_request!r}")
    share = prefills / load_multiplier
    per_replica = requests_per_second * load_multiplier / s.replicas
    sat = saturation_rate(s, service_scv=service_scv, prefill_share=share)
    saturation_rps = sat * s.replicas / load_multiplier
    warnings: list[str] = []
    assumptions = [
        "Poisson arrivals, spread evenly over replicas; concurrency from Little's law at the served latency",
        "wait for a prefill slot: atom at zero plus exponential tail with Kingman's mean (Kingman 1962)",
        "beyond the running batch, requests wait for a slot as in M/M/c (Erlang C)",
        f"prompt and output lengths log-normal (σ = {p_sigma:.2f}, {o_sigma:.2f}) around the scenario's means; prefill time ∝ prompt",
    ]
    if load_multiplier != 1.0:
        assumptions.append(f"each request runs {load_multiplier:g} engine sequences (samples, expansions, reward passes) "
                           f"and {prefills:g} prompt prefill(s)" + (" (no prefix-cache credit)" if share == 1.0 else " (prefix cache)"))
    if per_replica >= sat:
        warnings.append(f"{requests_per_second:g} requests/s is beyond what {s.replicas} replica(s) sustain "
                        f"({saturation_rps:.3g} requests/s): queues grow without bound")
        inf = math.inf
        return TrafficResult(
            requests_per_s=float(requests_per_second), load_multiplier=float(load_multiplier), concurrency=inf,
            ttft_p50_s=inf, ttft_p90_s=inf, ttft_p99_s=inf, e2e_p50_s=inf, e2e_p90_s=inf, e2e_p99_s=inf,
            tpot_s=inf, tpot_p99_s=inf, slot_wait_probability=1.0, saturation_rps=saturation_rps,
            goodput_rps=_goodput(s, slo, load_multiplier, prompt_spread, output_spread, saturation_rps, prefills) if _with_goodput else None,
            utilisation=per_replica / sat, stable=False, slo_met=None if _slo_empty(slo) else False,
            warnings=tuple(warnings), assumptions=tuple(assumptions),
        )
    st = _solve(s, per_replica, service_scv, share)
    # Slot queue beyond the running batch: M/M/c with c = the running-batch limit, service time = E2E.
    limit = _running_limit(s)
    offered = per_replica * st.e2e_s
    p_wait = erlang_c(limit, offered) if offered < limit else 1.0
    slot_mean_given_wait = st.e2e_s / max(limit - offered, 1e-9)
    # Grids (seconds): prompt-dependent prefill, prefill-slot wait, batch-slot wait.
    prompts = prompt_spread.quantiles(s.prompt_tokens)
    outputs = output_spread.quantiles(s.output_tokens)
    fixed = st.request_overhead_s + st.tpot_s / 2.0
    own = (st.ttft_s - st.queue_wait_s - st.prefill_wait_s - fixed) * prompts / s.prompt_tokens
    prefill_wait = _wait_grid(st.prefill_wait_s, st.prefill_utilisation)
    slot_wait = _wait_grid(p_wait * slot_mean_given_wait, p_wait)
    ttft = fixed + _combine(_combine(own, prefill_wait), slot_wait)
    e2e = _combine(ttft, np.maximum(outputs - 1.0, 0.0) * st.tpot_s)
    # A request's TPOT: decode step plus the prefills (Poisson count) joining its O-1 steps.
    steps = max(1.0, s.output_tokens - 1.0)
    joins = per_replica * share * steps * st.tpot_s
    tpot_p99 = st.decode_step_s + _poisson_quantile(joins, 0.99) * st.prefill_s / steps
    tpot_p99 = max(tpot_p99, st.tpot_s)
    q = lambda grid, x: _quantile(grid, x)  # noqa: E731
    result = TrafficResult(
        requests_per_s=float(requests_per_second),
        load_multiplier=float(load_multiplier),
        concurrency=(st.concurrency + per_replica * p_wait * slot_mean_given_wait) * s.replicas,  # running + waiting (Little)
        ttft_p50_s=q(ttft, 0.5), ttft_p90_s=q(ttft, 0.9), ttft_p99_s=q(ttft, 0.99),
        e2e_p50_s=q(e2e, 0.5), e2e_p90_s=q(e2e, 0.9), e2e_p99_s=q(e2e, 0.99),
        tpot_s=st.tpot_s, tpot_p99_s=tpot_p99, slot_wait_probability=p_wait,
        saturation_rps=saturation_rps, goodput_rps=None, utilisation=per_replica / sat, stable=True,
        slo_met=None, warnings=tuple(warnings + list(st.warnings)), assumptions=tuple(assumptions + list(st.assumptions)),
    )
    met = None if _slo_empty(slo) else _meets(result, slo)
    goodput = _goodput(s, slo, load_multiplier, prompt_spread, output_spread, saturation_rps, prefills) if _with_goodput else None
    return replace(result, slo_met=met, goodput_rps=goodput)


def _slo_empty(slo: object | None) -> bool:
    return slo is None or all(getattr(slo, f, None) is None for f in SLO_FIELDS)


def _meets(r: TrafficResult, slo: object) -> bool:
    return all(getattr(slo, f, None) is None or getattr(r, f) <= getattr(slo, f) for f in SLO_FIELDS)


def _goodput(s, slo, load_multiplier, prompt_spread, output_spread, saturation_rps, prefills) -> float | None:
    """Largest arrival rate (user requests/s) at which every SLO holds; 0 if none does, None without an SLO."""
    if _slo_empty(slo):
        return None

    def ok(rate: float) -> bool:
        r = at_rate(s, rate, load_multiplier=load_multiplier, prompt_spread=prompt_spread, output_spread=output_spread,
                    prefills_per_request=prefills, _with_goodput=False)
        return r.stable and _meets(r, slo)

    lo, hi = 0.0, saturation_rps
    if not ok(hi * 1e-3):
        return 0.0
    lo = hi * 1e-3
    for _ in range(_GOODPUT_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyCost:
    """Cost and energy of a deployment over a month (730 h), at the planned and at the peak arrival rate.

    usd_per_month: devices rented all month (None without a price). energy_j_per_month(_at_peak): the
    devices all month at their mean power under the planned (peak) rate. Per query: at the planned rate
    and at the peak rate sustained (capped at saturation). device_power_w(_at_peak): one device's mean power.
    """

    devices: int
    usd_per_month: float | None
    energy_j_per_month: float
    energy_j_per_month_at_peak: float
    usd_per_query: float | None
    usd_per_query_at_peak: float | None
    energy_j_per_query: float
    energy_j_per_query_at_peak: float
    device_power_w: float
    device_power_w_at_peak: float
    peak_requests_per_s: float
    replicas_needed_at_peak: int
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def _device_power(s: Scenario, sequences_per_s: float, saturation: float, share: float) -> float:
    """Mean power of one device of a replica taking ``sequences_per_s``: idle when empty, else the mean step's utilisation.

    The replica is busy with probability 1 - e^(-n), n the mean number in flight (Poisson count); while
    busy its devices run at the mean step's utilisation (roofline.utilisation of the served state).
    """
    if _running_limit(s) < 1:  # nothing fits: the devices sit idle
        return device_power_w(s.hardware, 0.0)
    if sequences_per_s >= saturation:
        st = _per_replica(s, float(_running_limit(s)), 0.0, share)
    else:
        st = _solve(s, sequences_per_s, 0.0, share)
    busy = -math.expm1(-st.concurrency)
    return device_power_w(s.hardware, busy * st.device_utilisation)


def monthly_cost(scenario: Scenario, requests_per_second: float, *, peak_factor: float = 1.0, load_multiplier: float = 1.0,
                 saturation_rps: float | None = None, prefills_per_request: float | None = None) -> MonthlyCost:
    """Monthly dollars and joules of the deployment, and per query at the planned and the peak rate.

    ``saturation_rps``: the deployment's saturation rate in user requests per second, when already known.
    """
    for name, value in (("requests_per_second", requests_per_second), ("peak_factor", peak_factor), ("load_multiplier", load_multiplier)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive number, got {value!r}")
    if peak_factor < 1.0:
        raise InputError(f"peak_factor must be ≥ 1 (peak / planned rate), got {peak_factor!r}")
    s, hw = scenario, scenario.hardware
    share = 1.0 if prefills_per_request is None else prefills_per_request / load_multiplier
    sat = saturation_rps if saturation_rps is not None else saturation_rate(s, prefill_share=share) * s.replicas / load_multiplier
    peak = requests_per_second * peak_factor
    per_replica_sat = sat / s.replicas
    needed = max(1, math.ceil(peak / per_replica_sat)) if per_replica_sat > 0 else 0
    price = hw.price_usd_per_hour
    usd_month = None if price is None else price * s.devices * HOURS_PER_MONTH
    one = replace(s, replicas=1)
    sat_sequences = per_replica_sat * load_multiplier
    planned_w = _device_power(one, requests_per_second * load_multiplier / s.replicas, sat_sequences, share)
    served_peak = min(peak, sat)
    peak_w = _device_power(one, served_peak * load_multiplier / s.replicas, sat_sequences, share)
    warnings = []
    if needed > s.replicas:
        warnings.append(f"peak traffic ({peak:.3g} requests/s) needs {needed} replicas; the deployment has {s.replicas}")
    idle = "published" if hw.idle_power_w is not None else "placeholder"
    return MonthlyCost(
        devices=s.devices,
        usd_per_month=usd_month,
        energy_j_per_month=planned_w * s.devices * SECONDS_PER_MONTH,
        energy_j_per_month_at_peak=peak_w * s.devices * SECONDS_PER_MONTH,
        usd_per_query=None if price is None else price * s.devices / 3600.0 / requests_per_second,
        usd_per_query_at_peak=None if price is None else price * s.devices / 3600.0 / served_peak,
        energy_j_per_query=planned_w * s.devices / requests_per_second,
        energy_j_per_query_at_peak=peak_w * s.devices / served_peak,
        device_power_w=planned_w,
        device_power_w_at_peak=peak_w,
        peak_requests_per_s=peak,
        replicas_needed_at_peak=needed,
        warnings=tuple(warnings),
        assumptions=(
            f"a month is {HOURS_PER_MONTH:g} h; devices are rented and powered all month",
            f"device power = idle + (rated - idle) × utilisation ({hw.id}: {idle} idle power, rated {hw.power_w:g} W); "
            "utilisation = P(a request in flight) × the mean served step's busier of compute and memory",
        ),
    )
