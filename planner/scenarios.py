"""Turn user options (CLI flags or CSV cells, as text) into a roofline Scenario, with clear errors."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from planner.cost.roofline import MAX_TOKENS, Scenario, default_kv_precision
from planner.domain import Band, precision
from planner.errors import InputError, PlannerError, short, suggest
from planner.files.catalog import Catalog

SCENARIO_COLUMNS = ("model", "hardware", "engine", "tp", "pp", "ep", "attention_dp", "replicas", "precision", "kv_precision", "batch",
                    "prompt_tokens", "output_tokens", "concurrency")
DEFAULTS = {"engine": "generic", "tp": "1", "pp": "1", "ep": "1", "attention_dp": "1", "replicas": "1", "precision": "bf16", "kv_precision": "",
            "batch": "1", "prompt_tokens": "1024", "output_tokens": "256", "concurrency": ""}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRequest:
    """The options of one scenario, as given (strings), before lookup."""

    model: str
    hardware: str
    engine: str = DEFAULTS["engine"]
    tp: str = DEFAULTS["tp"]
    pp: str = DEFAULTS["pp"]
    ep: str = DEFAULTS["ep"]
    attention_dp: str = DEFAULTS["attention_dp"]
    replicas: str = DEFAULTS["replicas"]
    precision: str = DEFAULTS["precision"]
    kv_precision: str = DEFAULTS["kv_precision"]
    batch: str = DEFAULTS["batch"]
    prompt_tokens: str = DEFAULTS["prompt_tokens"]
    output_tokens: str = DEFAULTS["output_tokens"]
    concurrency: str = DEFAULTS["concurrency"]  # "" = static batch; N = served with N requests in flight

    @classmethod
    def from_row(cls, row: dict[str, str]) -> ScenarioRequest:
        """From a CSV row; empty cells take the defaults."""
        values = {k: v for k, v in row.items() if k in SCENARIO_COLUMNS and v != ""}
        for key in ("model", "hardware"):
            if key not in values:
                raise InputError(f"column '{key}' is empty")
        return cls(**values)


def check_columns(columns: list[str]) -> None:
    """Unknown or missing columns in a scenarios CSV are an input error, with suggestions."""
    for name in columns:
        if name not in SCENARIO_COLUMNS:
            hint = suggest(name, SCENARIO_COLUMNS)
            raise InputError(
                f"unknown column '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected: {', '.join(SCENARIO_COLUMNS)}")
            )
    for name in ("model", "hardware"):
        if name not in columns:
            raise InputError(f"missing column '{name}'; expected columns: {', '.join(SCENARIO_COLUMNS)}")


# Upper bounds of the options: far beyond any deployment, low enough that no estimate overflows.
MAX_PARALLEL = 100_000  # tp, pp
MAX_REPLICAS = 1_000_000
MAX_BATCH = 10_000_000
MAX_CONCURRENCY = 1_000_000  # requests in flight (planner.cost.serving.MAX_CONCURRENCY)


def _whole(name: str, text: str, *, allow_max: bool = False, maximum: int = MAX_PARALLEL) -> int | None:
    text = str(text).strip()
    if allow_max and text.lower() == "max":
        return None
    expected = "a whole number or 'max'" if allow_max else "a whole number"
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise InputError(f"{name}: expected {expected}, got {short(text)}") from None
    if not value.is_integer():
        raise InputError(f"{name}: expected {expected}, got {short(text)}")
    if not 1 <= value <= maximum:
        raise InputError(f"{name}: expected a whole number from 1 to {maximum:,}, got {short(text)}")
    return int(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """What-ifs given on the command line, applied on top of the hardware profile (named in the provenance)."""

    usd_per_hour: float | None = None
    power_w: float | None = None
    compute_efficiency: float | None = None  # fraction of peak for large matmuls, every precision
    bandwidth_efficiency: float | None = None  # fraction of peak memory bandwidth

    @classmethod
    def parse(cls, *, usd_per_hour: str = "", power_w: str = "", compute_efficiency: str = "", bandwidth_efficiency: str = "") -> Overrides:
        return cls(
            usd_per_hour=_positive("--usd-per-hour", usd_per_hour, allow_zero=True),
            power_w=_positive("--power-w", power_w),
            compute_efficiency=_fraction("--compute-efficiency", compute_efficiency),
            bandwidth_efficiency=_fraction("--bandwidth-efficiency", bandwidth_efficiency),
        )

    def lines(self) -> tuple[str, ...]:
        out = []
        if self.usd_per_hour is not None:
            out.append(f"override --usd-per-hour {self.usd_per_hour:g} replaces the profile's price")
        if self.power_w is not None:
            out.append(f"override --power-w {self.power_w:g} replaces the profile's rated power")
        if self.compute_efficiency is not None:
            out.append(f"override --compute-efficiency {self.compute_efficiency:g} replaces the profile's compute fractions (every precision)")
        if self.bandwidth_efficiency is not None:
            out.append(f"override --bandwidth-efficiency {self.bandwidth_efficiency:g} replaces the profile's memory_bandwidth fraction")
        return tuple(out)

    def apply(self, hw):
        eff = hw.efficiency
        if self.compute_efficiency is not None:
            eff = dataclasses.replace(eff, compute={"default": self.compute_efficiency})
        if self.bandwidth_efficiency is not None:
            eff = dataclasses.replace(eff, memory_bandwidth=self.bandwidth_efficiency)
        return dataclasses.replace(
            hw,
            efficiency=eff,
            price_usd_per_hour=hw.price_usd_per_hour if self.usd_per_hour is None else self.usd_per_hour,
            power_w=hw.power_w if self.power_w is None else self.power_w,
        )


def _positive(name: str, text: str, *, allow_zero: bool = False) -> float | None:
    text = str(text or "").strip()
    if not text:
        return None
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise InputError(f"{name}: expected a number, got {text!r}") from None
    if not (value > 0 or (allow_zero and value == 0)) or not math.isfinite(value):
        raise InputError(f"{name}: expected a positive number, got {text!r}")
    return value


def _fraction(name: str, text: str) -> float | None:
    value = _positive(name, text)
    if value is not None and value > 1:
        raise InputError(f"{name}: expected a fraction of peak between 0 and 1, got {text!r}")
    return value


def build_scenario(catalog: Catalog, request: ScenarioRequest, overrides: Overrides | None = None) -> Scenario:
    """Look up profiles and parse numbers; raises UnknownNameError / InputError / ProfileError."""
    weights = precision(request.precision)
    kv = precision(request.kv_precision) if request.kv_precision.strip() else default_kv_precision(weights)
    return Scenario(
        model=catalog.model(request.model),
        hardware=(overrides or Overrides()).apply(catalog.hardware(request.hardware)),
        engine=catalog.engine(request.engine),
        tp=_whole("tp", request.tp),
        pp=_whole("pp", request.pp),
        ep=_whole("ep", request.ep),
        attention_dp=_whole("attention_dp", request.attention_dp),
        replicas=_whole("replicas", request.replicas, maximum=MAX_REPLICAS),
        weight_precision=weights,
        kv_precision=kv,
        batch=_whole("batch", request.batch, allow_max=True, maximum=MAX_BATCH),
        prompt_tokens=_whole("prompt_tokens", request.prompt_tokens, maximum=MAX_TOKENS),
        output_tokens=_whole("output_tokens", request.output_tokens, maximum=MAX_TOKENS),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One evaluated scenario (or the error that stopped it), with where its profiles came from."""

    row: int  # 1-based position in the input
    request: ScenarioRequest | None
    estimate: object | None  # roofline.Estimate
    error: str | None = None
    model_source: str = ""
    hardware_source: str = ""
    served: object | None = None  # serving.ServedEstimate when a concurrency was given
    engine_source: str = ""
    band: Band | None = None  # how far measured times strayed from predictions in this regime (calibration)
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimateReport:
    """What `planner estimate` shows: the outcomes, whether it was one scenario, and what they assume."""

    outcomes: tuple[Outcome, ...]
    single: bool
    assumptions: tuple[str, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        lead = (lambda o: "") if self.single else (lambda o: f"row {o.row}: ")
        return tuple(f"{lead(o)}{w}" for o in self.outcomes
                     for w in ((o.error,) if o.error else ()) + (o.estimate.warnings if o.estimate else ()) + (o.served.warnings if o.served else ()))


def report(outcomes: Sequence[Outcome], *, single: bool) -> EstimateReport:
    """Bundle outcomes with the roofline's assumptions and the provenance of every profile and efficiency block used."""
    assumptions = Assumptions()
    for o in outcomes:
        assumptions.add(o)
    return EstimateReport(outcomes=tuple(outcomes), single=single, assumptions=assumptions.lines())


class Assumptions:
    """The roofline's assumptions plus one provenance line per profile used, gathered outcome by outcome.

    Its size is bounded by the profiles in the catalog, not by the number of outcomes (streamed scenarios).
    """

    def __init__(self) -> None:
        from planner.cost.roofline import ASSUMPTIONS

        self._lines = list(ASSUMPTIONS)
        self._seen: set[str] = set(self._lines)

    def add(self, o: Outcome) -> None:
        if o.estimate is None:
            return
        for line in o.served.assumptions if o.served else ():
            if line not in self._seen:
                self._seen.add(line)
                self._lines.append(line)
        s = o.estimate.scenario
        hw, eng = s.hardware, s.engine
        eff = f"{hw.id} efficiency: {'calibrated' if hw.efficiency.calibrated else 'not calibrated on this device'}" + (
            f" ({hw.efficiency.note})" if hw.efficiency.note else "")
        engine_line = f"engine {eng.id}: {o.engine_source or 'given in code'}; fixed costs {'calibrated' if eng.calibrated else 'not calibrated'}" + (
            f" ({eng.note})" if eng.note else "")
        band_line = ("no calibration band" if o.band is None else
                     f"band {o.band.regime}: × {o.band.low:.2f}–{o.band.high:.2f} on times, from {o.band.rows} calibration rows")
        for line in (f"model {s.model.id}: {o.model_source}", f"hardware {hw.id}: {o.hardware_source}", eff, engine_line,
                     *o.estimate.assumptions, *o.overrides, band_line):
            if line not in self._seen:
                self._seen.add(line)
                self._lines.append(line)

    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)


def evaluate_one(catalog: Catalog, request: ScenarioRequest, row: int = 1, overrides: Overrides | None = None) -> Outcome:
    """Build and estimate one scenario (served at a concurrency when one is given); errors propagate.

    An estimate with a number that is not finite is an InputError naming it: no NaN or inf leaves here.
    """
    from planner.cost.roofline import estimate, regime

    scenario = build_scenario(catalog, request, overrides)
    band = catalog.bands().for_regime(regime(scenario)) if "bands" in catalog.names("bands") else None
    concurrency = _whole("concurrency", request.concurrency, maximum=MAX_CONCURRENCY) if request.concurrency.strip() else None
    served = None
    if concurrency is not None:
        from planner.cost.serving import served as serve

        served = serve(scenario, concurrency)
        check_finite(served)
        # Memory at the running batch, at most the batch whose whole contexts fit (engines that admit on
        # current blocks run more requests than that, each holding its context so far).
        from planner.cost.roofline import max_batch

        full = max_batch(replace(scenario, batch=None))
        scenario = replace(scenario, batch=max(1, min(round(served.running_batch), full)))
    result = estimate(scenario)
    check_finite(result)
    return Outcome(
        row=row,
        request=request,
        estimate=result,
        served=served,
        model_source=catalog.describe_source("model", scenario.model.id),
        hardware_source=catalog.describe_source("hardware", scenario.hardware.id),
        engine_source=catalog.describe_source("engine", scenario.engine.id),
        band=band,
        overrides=(overrides or Overrides()).lines(),
    )


def check_finite(result, where: str = "") -> None:
    """Raise InputError if any number of ``result`` (a dataclass tree; the scenario itself excluded) is NaN or infinite."""
    for f in dataclasses.fields(result):
        if f.name == "scenario":
            continue
        value = getattr(result, f.name)
        name = f"{where}{f.name}"
        if dataclasses.is_dataclass(value):
            check_finite(value, f"{name}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"the estimate's {name} is {value} (not a finite number): the inputs are outside what the "
                             "model can compute (check tp, replicas, batch, tokens and the profiles' magnitudes)")


def iter_rows(catalog: Catalog, path, overrides: Overrides | None = None) -> Iterator[Outcome]:
    """Estimate every row of a scenarios CSV as it is read (memory stays flat with the row count).

    A row that cannot be evaluated yields an error entry in its place; the others go on.
    """
    from planner.files.disk import open_csv_rows

    with open_csv_rows(path) as (columns, rows):
        check_columns(columns)
        for i, (_, row) in enumerate(rows, start=1):
            yield _evaluate_row(catalog, row, i, overrides)


def _evaluate_row(catalog: Catalog, row: dict[str, str], i: int, overrides: Overrides | None = None) -> Outcome:
    request = None
    try:
        request = ScenarioRequest.from_row(row)
        return evaluate_one(catalog, request, row=i, overrides=overrides)
    except PlannerError as exc:
        return Outcome(row=i, request=request, estimate=None, error=str(exc))
    except (ArithmeticError, ValueError) as exc:  # one row's numbers must never stop the others
        return Outcome(row=i, request=request, estimate=None, error=f"cannot be evaluated: {type(exc).__name__}: {short(str(exc), 120)}")


def evaluate_rows(catalog: Catalog, path, overrides: Overrides | None = None) -> list[Outcome]:
    """Estimate every row of a scenarios CSV; a row that cannot be evaluated yields an error entry in its place."""
    return list(iter_rows(catalog, path, overrides))
