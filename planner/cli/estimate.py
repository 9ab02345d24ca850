"""`planner estimate`: one scenario or a CSV of them through the roofline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import Format, FormatOpt, ProfilesOpt, emit, handle_errors, open_catalog, warn
from planner.errors import PlannerError


@handle_errors
def estimate(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model profile id, e.g. llama-3.1-8b."),
    hardware: Optional[str] = typer.Option(None, "--hardware", "-H", help="Hardware profile id, e.g. h100-sxm."),
    tp: str = typer.Option("1", "--tp", help="Tensor-parallel degree."),
    pp: str = typer.Option("1", "--pp", help="Pipeline-parallel degree."),
    replicas: str = typer.Option("1", "--replicas", help="Data-parallel replicas (devices = tp·pp·replicas)."),
    precision: str = typer.Option("bf16", "--precision", "-p", help="Weights/activations: bf16, fp16, fp8, int8, int4 (W4A16), fp4."),
    kv_precision: str = typer.Option("", "--kv-precision", help="KV cache: bf16, fp16, fp8, int8, int4 [default: fp8 with fp8/fp4 weights, else 16 bit]."),
    batch: str = typer.Option("1", "--batch", "-b", help="Sequences per batch, or 'max' for the largest that fits (offline max throughput)."),
    prompt_tokens: str = typer.Option("1024", "--prompt-tokens", help="Prompt tokens per sequence."),
    output_tokens: str = typer.Option("256", "--output-tokens", help="Output tokens per sequence."),
    scenarios: Optional[Path] = typer.Option(None, "--scenarios", help="CSV with columns model,hardware,tp,pp,replicas,precision,kv_precision,batch,prompt_tokens,output_tokens; one estimate per row."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """Predict TTFT, TPOT, throughput, memory fit, energy and cost of serving a model on hardware."""
    from planner import report
    from planner.scenarios import ScenarioRequest, evaluate_rows, evaluate_one

    catalog = open_catalog(profiles)
    if scenarios is not None:
        if model or hardware:
            raise PlannerError("give either --scenarios FILE or --model/--hardware, not both")
        outcomes = evaluate_rows(catalog, scenarios)
        for o in outcomes:
            if o.error:
                warn(f"{scenarios}: row {o.row}: {o.error}")
            for note in o.estimate.warnings if o.estimate else ():
                warn(f"{scenarios}: row {o.row}: {note}")
        emit(fmt, json_data=[report.estimate_to_dict(o) for o in outcomes],
             markdown=lambda: report.estimates_to_markdown(outcomes), rich=lambda: report.estimates_to_rich(outcomes))
        return
    if not model or not hardware:
        raise PlannerError("--model and --hardware are required (or --scenarios FILE); see `planner profiles list`")
    request = ScenarioRequest(model=model, hardware=hardware, tp=tp, pp=pp, replicas=replicas, precision=precision,
                              kv_precision=kv_precision, batch=batch, prompt_tokens=prompt_tokens, output_tokens=output_tokens)
    outcome = evaluate_one(catalog, request)
    for note in outcome.estimate.warnings:
        warn(note)
    if not outcome.estimate.fits:
        warn(f"{model} does not fit on {hardware} at this setting: short by {outcome.estimate.memory.shortfall / 1e9:.1f} GB per device")
    emit(fmt, json_data=report.estimate_to_dict(outcome),
         markdown=lambda: report.estimates_to_markdown([outcome]), rich=lambda: report.estimates_to_rich([outcome]))

