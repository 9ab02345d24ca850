"""Turn user options (CLI flags or CSV cells, as text) into a roofline Scenario, with clear errors."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from planner.cost.roofline import MAX_TOKENS, Scenario, default_kv_precision
from planner.domain import precision
from planner.errors import InputError, PlannerError, short, suggest
from planner.files.catalog import Catalog

SCENARIO_COLUMNS = ("model", "hardware", "tp", "pp", "replicas", "precision", "kv_precision", "batch", "prompt_tokens", "output_tokens",
                    "concurrency")
DEFAULTS = {"tp": "1", "pp": "1", "replicas": "1", "precision": "bf16", "kv_precision": "", "batch": "1", "prompt_tokens": "1024", "output_tokens": "256",
            "concurrency": ""}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRequest:
    """The options of one scenario, as given (strings), before lookup."""

    model: str
    hardware: str
    tp: str = DEFAULTS["tp"]
    pp: str = DEFAULTS["pp"]
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


def build_scenario(catalog: Catalog, request: ScenarioRequest) -> Scenario:
    """Look up profiles and parse numbers; raises UnknownNameError / InputError / ProfileError."""
    weights = precision(request.precision)
    kv = precision(request.kv_precision) if request.kv_precision.strip() else default_kv_precision(weights)
    return Scenario(
        model=catalog.model(request.model),
        hardware=catalog.hardware(request.hardware),
        tp=_whole("tp", request.tp),
        pp=_whole("pp", request.pp),
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
    from planner.cost.roofline import ASSUMPTIONS

    lines = list(ASSUMPTIONS)
    seen: set[str] = set(lines)
    for o in outcomes:
        if o.estimate is None:
            continue
        for line in o.served.assumptions if o.served else ():
            if line not in seen:
                seen.add(line)
                lines.append(line)
        s = o.estimate.scenario
        hw = s.hardware
        eff = f"{hw.id} efficiency: {'calibrated' if hw.efficiency.calibrated else 'not calibrated on this device'}" + (
            f" ({hw.efficiency.note})" if hw.efficiency.note else "")
        for line in (f"model {s.model.id}: {o.model_source}", f"hardware {hw.id}: {o.hardware_source}", eff):
            if line not in seen:
                seen.add(line)
                lines.append(line)
    return EstimateReport(outcomes=tuple(outcomes), single=single, assumptions=tuple(lines))


def evaluate_one(catalog: Catalog, request: ScenarioRequest, row: int = 1) -> Outcome:
    """Build and estimate one scenario (served at a concurrency when one is given); errors propagate.

    An estimate with a number that is not finite is an InputError naming it: no NaN or inf leaves here.
    """
    from planner.cost.roofline import estimate

    scenario = build_scenario(catalog, request)
    concurrency = _whole("concurrency", request.concurrency, maximum=MAX_CONCURRENCY) if request.concurrency.strip() else None
    served = None
    if concurrency is not None:
        from planner.cost.serving import served as serve

        served = serve(scenario, concurrency)
        check_finite(served)
        scenario = replace(scenario, batch=max(1, round(served.running_batch)))  # memory at the running batch
    result = estimate(scenario)
    check_finite(result)
    return Outcome(
        row=row,
        request=request,
        estimate=result,
        served=served,
        model_source=catalog.describe_source("model", scenario.model.id),
        hardware_source=catalog.describe_source("hardware", scenario.hardware.id),
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


def iter_rows(catalog: Catalog, path) -> Iterator[Outcome]:
    """Estimate every row of a scenarios CSV as it is read (memory stays flat with the row count).

    A row that cannot be evaluated yields an error entry in its place; the others go on.
    """
    from planner.files.disk import open_csv_rows

    with open_csv_rows(path) as (columns, rows):
        check_columns(columns)
        for i, (_, row) in enumerate(rows, start=1):
            yield _evaluate_row(catalog, row, i)


def _evaluate_row(catalog: Catalog, row: dict[str, str], i: int) -> Outcome:
    request = None
    try:
        request = ScenarioRequest.from_row(row)
        return evaluate_one(catalog, request, row=i)
    except PlannerError as exc:
        return Outcome(row=i, request=request, estimate=None, error=str(exc))
    except (ArithmeticError, ValueError) as exc:  # one row's numbers must never stop the others
        return Outcome(row=i, request=request, estimate=None, error=f"cannot be evaluated: {type(exc).__name__}: {short(str(exc), 120)}")


def evaluate_rows(catalog: Catalog, path) -> list[Outcome]:
    """Estimate every row of a scenarios CSV; a row that cannot be evaluated yields an error entry in its place."""
    return list(iter_rows(catalog, path))
