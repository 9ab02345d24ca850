"""Estimates (`planner estimate`): one scenario as a metric/value view, many as a table; warnings and assumptions in every format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from planner.report.common import (
    SCHEMA_VERSION,
    markdown_notes,
    markdown_table,
    rich_notes,
    rich_table,
    to_json,
    to_text,
)
from planner.report.common import (
    gb as _gb,
)
from planner.report.common import (
    ms as _ms,
)
from planner.report.common import (
    usd as _usd,
)

NUMERIC_COLUMNS = {0, 5, 6, 7, 8, 9, 13}


def render(result, fmt: str, width: int | None = None, color: bool = False) -> str:
    """``result``: a ``scenarios.EstimateReport``."""
    outcomes = list(result.outcomes)
    if fmt == "json":
        if result.single:
            return to_json(estimate_to_dict(outcomes[0]) | {"assumptions": list(result.assumptions)})
        return to_json([estimate_to_dict(o) for o in outcomes])
    warnings = [w for o in outcomes for w in _row_warnings(o, prefix=not result.single)]
    single = result.single and outcomes[0].estimate is not None
    if fmt == "markdown":
        parts = ["## Inference cost estimate\n"]
        if single:
            parts.append(markdown_table(["metric", "value"], [list(r) for r in detail_rows(outcomes[0])]))
        else:
            header, rows = estimate_rows(outcomes)
            parts.append(markdown_table(header, rows, numeric=NUMERIC_COLUMNS))
        parts.append(markdown_notes("Warnings", warnings))
        parts.append(markdown_notes("Assumptions", result.assumptions))
        return "".join(parts)
    if single:
        table = rich_table("Inference cost estimate", ["metric", "value"], [list(r) for r in detail_rows(outcomes[0])], show_header=False)
    else:
        header, rows = estimate_rows(outcomes)
        table = rich_table("Inference cost estimates", header, rows, NUMERIC_COLUMNS)
    parts: list[Any] = [table]
    if warnings:
        parts.append(rich_notes([f"warning: {w}" for w in warnings]))
    parts.append(rich_notes(result.assumptions))
    return to_text(parts, width, color)


# --scenarios output is written as it is made: tables in blocks of this many rows (one table when fewer),
# and at most this many warnings repeated under the output (every one is on stderr as it happens).
STREAM_BLOCK_ROWS = 200
MAX_LISTED_WARNINGS = 1000


def render_stream(outcomes: Iterable, fmt: str, width: int | None = None, color: bool = False) -> Iterator[str]:
    """Many scenarios rendered piece by piece as ``outcomes`` arrive, so memory stays flat with the row count.

    JSON and Markdown are byte-identical to :func:`render` of the same rows (the array item by item, the
    table row by row); terminal tables come in blocks of ``STREAM_BLOCK_ROWS`` rows.
    """
    from planner.scenarios import Assumptions

    assumptions = Assumptions()
    warnings: list[str] = []
    dropped = 0

    def noted(o):
        nonlocal dropped
        assumptions.add(o)
        for w in _row_warnings(o, prefix=True):
            if len(warnings) < MAX_LISTED_WARNINGS:
                warnings.append(w)
            else:
                dropped += 1
        return o

    def listed() -> list[str]:
        return warnings + ([f"... and {dropped:,} more warnings (each was printed on stderr)"] if dropped else [])

    if fmt == "json":
        first = True
        for o in outcomes:
            item = to_json(estimate_to_dict(o)).rstrip("\n")
            yield ("[\n" if first else ",\n") + "\n".join("  " + line for line in item.split("\n"))
            first = False
        yield "[]\n" if first else "\n]\n"
        return
    header = estimate_rows([])[0]
    if fmt == "markdown":
        yield "## Inference cost estimate\n" + markdown_table(header, [], numeric=NUMERIC_COLUMNS)
        for o in outcomes:
            yield markdown_table(header, estimate_rows([noted(o)])[1], numeric=NUMERIC_COLUMNS).split("\n", 2)[2]
        yield markdown_notes("Warnings", listed()) + markdown_notes("Assumptions", assumptions.lines())
        return
    block: list = []
    blocks = 0
    for o in outcomes:
        block.append(noted(o))
        if len(block) == STREAM_BLOCK_ROWS:
            yield _table_block(block, blocks, width, color)
            block, blocks = [], blocks + 1
    if block or not blocks:
        yield _table_block(block, blocks, width, color)
    parts: list[Any] = [rich_notes([f"warning: {w}" for w in listed()])] if warnings else []
    yield to_text([*parts, rich_notes(assumptions.lines())], width, color)


def _table_block(outcomes: list, index: int, width: int | None, color: bool) -> str:
    header, rows = estimate_rows(outcomes)
    title = "Inference cost estimates" + (f" (continued, block {index + 1})" if index else "")
    return to_text([rich_table(title, header, rows, NUMERIC_COLUMNS)], width, color)


def _row_warnings(outcome, *, prefix: bool) -> list[str]:
    lead = f"row {outcome.row}: " if prefix else ""
    notes = [f"{lead}{outcome.error}"] if outcome.error else []
    return notes + [f"{lead}{w}" for w in (outcome.estimate.warnings if outcome.estimate else ())
                    + (outcome.served.warnings if outcome.served else ())]


def _phase(p) -> dict:
    return {
        "compute_s": p.compute_s,
        "memory_s": p.memory_s,
        "communication_s": p.communication_s,
        "overhead_s": p.overhead_s,
        "time_s": p.time_s,
        "flops": p.flops,
        "bytes": p.bytes,
        "bound": p.bound,
    }


def estimate_to_dict(outcome) -> dict:
    """One scenario outcome as a JSON-safe dict (``error`` set instead of results when it failed)."""
    req = outcome.request
    base: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "row": outcome.row}
    if outcome.error is not None:
        base["error"] = outcome.error
        if req is not None:
            base["input"] = {k: getattr(req, k) for k in req.__dataclass_fields__}
        return base
    e = outcome.estimate
    s = e.scenario
    m = e.memory
    base.update(
        {
            "model": s.model.id,
            "hardware": s.hardware.id,
            "engine": s.engine.id,
            "tp": s.tp,
            "pp": s.pp,
            "ep": s.ep,
            "attention_dp": s.attention_dp,
            "replicas": s.replicas,
            "devices": s.devices,
            "precision": s.weight_precision.name,
            "kv_precision": s.kv_precision.name,
            "compute_precision": e.compute_precision,
            "prompt_tokens": s.prompt_tokens,
            "output_tokens": s.output_tokens,
            "mode": e.mode,
            "batch": e.batch,
            "max_batch": e.max_batch,
            "ttft_s": e.ttft_s,
            "ttft_idle_s": e.ttft_idle_s,
            "tpot_s": e.tpot_s,
            "e2e_latency_s": e.e2e_latency_s,
            "output_tokens_per_s": e.output_tokens_per_s,
            "total_tokens_per_s": e.total_tokens_per_s,
            "fits": m.fits,
            "shortfall_bytes": m.shortfall,
            "memory_bytes": {
                "weights": m.weights,
                "kv_cache": m.kv_cache,
                "activations": m.activations,
                "reserve": m.reserve,
                "total": m.total,
                "capacity": m.capacity,
            },
            "bound": {"prefill": e.prefill.bound, "decode": e.decode_step.bound},
            "prefill": _phase(e.prefill),
            "decode_step": _phase(e.decode_step),
            "energy_j_per_output_token": e.energy_j_per_output_token,
            "mean_power_w_per_device": e.mean_power_w,
            "idle_power_placeholder": s.hardware.idle_power_w is None,
            "cost_usd_per_million_output_tokens": e.cost_usd_per_million_output_tokens,
            "efficiency_calibrated": s.hardware.efficiency.calibrated,
            "profiles": {"model": outcome.model_source, "hardware": outcome.hardware_source, "engine": outcome.engine_source},
            "warnings": list(e.warnings),
            "band": _band_dict(e, outcome.band if outcome.served is None else None),
            "overrides": list(outcome.overrides),
        }
    )
    v = outcome.served
    if v is not None:
        base.update(
            {
                "mode": "served",
                "concurrency": v.concurrency,
                "ttft_s": v.ttft_s,
                "tpot_s": v.tpot_s,
                "e2e_latency_s": v.e2e_s,
                "output_tokens_per_s": v.output_tokens_per_s,
                "total_tokens_per_s": v.requests_per_s * (s.prompt_tokens + s.output_tokens),
                "energy_j_per_output_token": v.energy_j_per_output_token,
                "cost_usd_per_million_output_tokens": v.cost_usd_per_million_output_tokens,
                "served": {
                    "running_batch": v.running_batch,
                    "queued": v.queued,
                    "kv_capacity_sequences": v.kv_capacity_sequences,
                    "requests_per_s": v.requests_per_s,
                    "static_tpot_s": v.static_tpot_s,
                    "decode_step_s": v.decode_step_s,
                    "prefill_s": v.prefill_s,
                    "prefill_chunks": v.prefill_chunks,
                    "prefill_utilisation": v.prefill_utilisation,
                    "prefill_wait_s": v.prefill_wait_s,
                    "queue_wait_s": v.queue_wait_s,
                    "request_overhead_s": v.request_overhead_s,
                    "device_utilisation": v.device_utilisation,
                    "device_power_w": v.device_power_w,
                },
                "warnings": list(e.warnings) + list(v.warnings),
            }
        )
    return base


def _band_dict(e, band) -> dict | None:
    """Low-high range of each predicted figure from the calibration residuals of the estimate's regime."""
    if band is None:
        return None
    return {
        "regime": band.regime,
        "calibration_rows": band.rows,
        "time_factor_low": band.low,
        "time_factor_high": band.high,
        "ttft_s": [e.ttft_s * band.low, e.ttft_s * band.high],
        "tpot_s": [e.tpot_s * band.low, e.tpot_s * band.high],
        "e2e_latency_s": [e.e2e_latency_s * band.low, e.e2e_latency_s * band.high],
        "output_tokens_per_s": [e.output_tokens_per_s / band.high, e.output_tokens_per_s / band.low],
    }


def _range(value: float, band, fmt, invert: bool = False) -> str:
    if band is None:
        return ""
    lo, hi = (value / band.high, value / band.low) if invert else (value * band.low, value * band.high)
    return f" [band {fmt(lo)} – {fmt(hi)}]"


def estimate_rows(outcomes) -> tuple[list[str], list[list[str]]]:
    """Header and text cells of the scenario table (shared by Markdown and rich)."""
    header = ["#", "model", "hardware", "tp×pp×rep", "precision", "batch", "TTFT", "TPOT", "e2e", "out tok/s",
              "memory/device", "fits", "bound (prefill/decode)", "$ / M out tok", "band (× time)"]
    rows = []
    for o in outcomes:
        if o.estimate is None:
            req = o.request
            rows.append([str(o.row), getattr(req, "model", ""), getattr(req, "hardware", ""), "", "", "", "", "", "", "", "", "",
                         f"error: {o.error}", "", ""])
            continue
        e = o.estimate
        s = e.scenario
        v = o.served
        rows.append(
            [
                str(o.row),
                s.model.id,
                s.hardware.id,
                f"{s.tp}×{s.pp}×{s.replicas}" + (f" (ep {s.ep}, adp {s.attention_dp})" if s.ep > 1 or s.attention_dp > 1 else ""),
                f"{s.weight_precision.name}/kv {s.kv_precision.name}",
                (f"{e.batch}" + (" (max)" if e.mode == "max-throughput" else "")) if v is None
                else f"{v.concurrency:g} in flight ({v.running_batch:g} running)",
                _ms(e.ttft_s if v is None else v.ttft_s),
                _ms(e.tpot_s if v is None else v.tpot_s),
                _ms(e.e2e_latency_s if v is None else v.e2e_s),
                f"{e.output_tokens_per_s if v is None else v.output_tokens_per_s:,.0f}",
                f"{_gb(e.memory.total)} / {_gb(e.memory.capacity)}",
                "yes" if e.fits else f"no (short {_gb(e.memory.shortfall)})",
                f"{e.prefill.bound}/{e.decode_step.bound}",
                _usd(e.cost_usd_per_million_output_tokens if v is None else v.cost_usd_per_million_output_tokens),
                "" if o.band is None or v is not None else f"{o.band.low:.2f}–{o.band.high:.2f} ({o.band.regime})",
            ]
        )
    return header, rows


def detail_rows(outcome) -> list[tuple[str, str]]:
    """Metric/value pairs of one estimate (the single-scenario view)."""
    e = outcome.estimate
    s = e.scenario
    m = e.memory
    band = outcome.band
    return [
        ("model", f"{s.model.name} ({s.model.id}, {s.model.total_params / 1e9:.2f} B params, {s.model.active_params / 1e9:.2f} B active)"),
        ("hardware", f"{s.hardware.name} ({s.hardware.id}) × {s.devices} (tp {s.tp}, pp {s.pp}"
         + (f", ep {s.ep}, attention-dp {s.attention_dp}" if s.ep > 1 or s.attention_dp > 1 else "") + f", replicas {s.replicas})"),
        ("engine", f"{s.engine.name} ({s.engine.id})"),
        ("precision", f"weights {s.weight_precision.name}, KV cache {s.kv_precision.name}, matmuls at {e.compute_precision}"),
        ("workload", f"batch {e.batch}" + (" (largest that fits)" if e.mode == "max-throughput" else "") +
         f", {s.prompt_tokens:,} prompt + {s.output_tokens:,} output tokens; max batch that fits: {e.max_batch:,}"),
        ("TTFT", f"{_ms(e.ttft_s)} ({e.prefill.bound}-bound)" + _range(e.ttft_s, band, _ms)
         + (f"; one prompt on an idle deployment: {_ms(e.ttft_idle_s)}" if e.mode == "max-throughput" else "")),
        ("TPOT", f"{_ms(e.tpot_s)} ({e.decode_step.bound}-bound)" + _range(e.tpot_s, band, _ms)),
        ("end-to-end latency", _ms(e.e2e_latency_s) + _range(e.e2e_latency_s, band, _ms)),
        ("output throughput", f"{e.output_tokens_per_s:,.0f} tokens/s (deployment)"
         + _range(e.output_tokens_per_s, band, lambda v: f"{v:,.0f}", invert=True)),
        ("total throughput", f"{e.total_tokens_per_s:,.0f} tokens/s (prompt + output)"),
        ("memory per device", f"weights {_gb(m.weights)} + KV cache {_gb(m.kv_cache)} + activations {_gb(m.activations)} + reserve {_gb(m.reserve)} = {_gb(m.total)} of {_gb(m.capacity)}"),
        ("fits", "yes" if m.fits else f"no: short by {_gb(m.shortfall)} per device"),
        (f"prefill of the batch ({e.batch})", f"compute {_ms(e.prefill.compute_s)}, memory {_ms(e.prefill.memory_s)}, communication {_ms(e.prefill.communication_s)}, overhead {_ms(e.prefill.overhead_s)}"),
        ("decode step parts", f"compute {_ms(e.decode_step.compute_s)}, memory {_ms(e.decode_step.memory_s)}, communication {_ms(e.decode_step.communication_s)}, overhead {_ms(e.decode_step.overhead_s)}"),
        ("energy", f"{e.energy_j_per_output_token:,.3g} J per output token (mean {e.mean_power_w:,.0f} W per device"
         + (", idle power a placeholder)" if s.hardware.idle_power_w is None else ")")),
        ("cost", f"{_usd(e.cost_usd_per_million_output_tokens)} per million output tokens"),
        ("band", "none (no calibration bands)" if band is None else
         f"× {band.low:.2f} – {band.high:.2f} on times: p10–p90 of measured/predicted over {band.rows} calibration rows ({band.regime})"),
    ] if outcome.served is None else _served_rows(outcome)


def _served_rows(outcome) -> list[tuple[str, str]]:
    """Metric/value pairs of one served estimate (continuous batching at a concurrency)."""
    e, v = outcome.estimate, outcome.served
    s = e.scenario
    m = e.memory
    return [
        ("model", f"{s.model.name} ({s.model.id}, {s.model.total_params / 1e9:.2f} B params, {s.model.active_params / 1e9:.2f} B active)"),
        ("hardware", f"{s.hardware.name} ({s.hardware.id}) × {s.devices} (tp {s.tp}, pp {s.pp}, replicas {s.replicas})"),
        ("precision", f"weights {s.weight_precision.name}, KV cache {s.kv_precision.name}, matmuls at {e.compute_precision}"),
        ("workload", f"served: {v.concurrency:g} requests in flight, {s.prompt_tokens:,} prompt + {s.output_tokens:,} output tokens each"),
        ("running batch", f"{v.running_batch:g} per replica ({v.queued:g} queued); KV cache holds {v.kv_capacity_sequences:,} requests"),
        ("TTFT", f"{_ms(v.ttft_s)} (prefill {_ms(v.prefill_s)} in {v.prefill_chunks} step(s), wait for a prefill slot {_ms(v.prefill_wait_s)}, "
                 f"for a batch slot {_ms(v.queue_wait_s)}, fixed {_ms(v.request_overhead_s)})"),
        ("TPOT", f"{_ms(v.tpot_s)} (static floor {_ms(v.static_tpot_s)}; prefill takes {v.prefill_utilisation:.0%} of the engine)"),
        ("end-to-end latency", _ms(v.e2e_s)),
        ("output throughput", f"{v.output_tokens_per_s:,.0f} tokens/s, {v.requests_per_s:,.3g} requests/s (deployment)"),
        ("memory per device", f"weights {_gb(m.weights)} + KV cache {_gb(m.kv_cache)} + activations {_gb(m.activations)} + reserve {_gb(m.reserve)} = {_gb(m.total)} of {_gb(m.capacity)}"),
        ("fits", "yes" if m.fits else f"no: short by {_gb(m.shortfall)} per device"),
        ("energy", f"{v.energy_j_per_output_token:,.3g} J per output token"),
        ("cost", f"{_usd(v.cost_usd_per_million_output_tokens)} per million output tokens"),
    ]


