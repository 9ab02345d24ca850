"""`planner estimate`: one scenario or a CSV of them through the roofline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import Format, FormatOpt, ProfilesOpt, emit, emit_stream, handle_errors, open_catalog, warn
from planner.errors import PlannerError


@handle_errors
def estimate(
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="ID", help="Model profile id, e.g. llama-3.1-8b."),
    hardware: Optional[str] = typer.Option(None, "--hardware", "-H", metavar="ID", help="Hardware profile id, e.g. h100-sxm."),
    engine: str = typer.Option("generic", "--engine", "-e", metavar="ID", help="Engine profile id: generic, trtllm, vllm, sglang (fixed overheads, all-reduce latency, scheduler limits)."),
    tp: str = typer.Option("1", "--tp", metavar="N", help="Tensor-parallel degree (per attention group)."),
    pp: str = typer.Option("1", "--pp", metavar="N", help="Pipeline-parallel degree."),
    ep: str = typer.Option("1", "--ep", metavar="N", help="Expert-parallel degree (MoE): routed experts sharded over N ranks; divides tp × attention-dp."),
    attention_dp: str = typer.Option("1", "--attention-dp", metavar="N", help="Attention data-parallel groups (MoE): each runs attention for its share of the batch and shares the experts."),
    replicas: str = typer.Option("1", "--replicas", metavar="N", help="Data-parallel replicas (devices = tp·pp·replicas)."),
    precision: str = typer.Option("bf16", "--precision", "-p", metavar="PRECISION", help="Weights/activations: bf16, fp16, fp8, int8, int4 (W4A16), fp4."),
    kv_precision: str = typer.Option("", "--kv-precision", metavar="PRECISION", help="KV cache: bf16, fp16, fp8, int8, int4 [default: fp8 with fp8/fp4 weights, else 16 bit]."),
    batch: str = typer.Option("1", "--batch", "-b", metavar="N|max", help="Sequences per batch, or 'max' for the largest that fits (offline max throughput)."),
    prompt_tokens: str = typer.Option("1024", "--prompt-tokens", metavar="TOKENS", help="Prompt tokens per sequence."),
    output_tokens: str = typer.Option("256", "--output-tokens", metavar="TOKENS", help="Output tokens per sequence."),
    concurrency: str = typer.Option("", "--concurrency", "-c", metavar="N", help="Served mode: N requests in flight on a continuously batching engine (steady-state TTFT/TPOT; --batch is ignored)."),
    scenarios: Optional[Path] = typer.Option(None, "--scenarios", metavar="FILE.csv", help="CSV with columns model,hardware,engine,tp,pp,ep,attention_dp,replicas,precision,kv_precision,batch,prompt_tokens,output_tokens,concurrency; one estimate per row."),
    usd_per_hour: str = typer.Option("", "--usd-per-hour", metavar="USD", help="What-if: price per device-hour instead of the profile's."),
    power_w: str = typer.Option("", "--power-w", metavar="W", help="What-if: rated power per device in watts instead of the profile's."),
    compute_efficiency: str = typer.Option("", "--compute-efficiency", metavar="F", help="What-if: fraction of peak FLOP/s large matmuls reach (0-1), every precision."),
    bandwidth_efficiency: str = typer.Option("", "--bandwidth-efficiency", metavar="F", help="What-if: fraction of peak memory bandwidth reached (0-1)."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """Predict TTFT, TPOT, throughput, memory fit, energy and cost of serving a model on hardware."""
    from planner import scenarios as use_case
    from planner.report.estimate import render

    catalog = open_catalog(profiles)
    overrides = use_case.Overrides.parse(usd_per_hour=usd_per_hour, power_w=power_w, compute_efficiency=compute_efficiency,
                                         bandwidth_efficiency=bandwidth_efficiency)
    if scenarios is not None:
        if model or hardware:
            raise PlannerError("give either --scenarios FILE or --model/--hardware, not both")
        from planner.report.estimate import render_stream

        def rows():  # each row is estimated, warned about and written before the next is read
            for outcome in use_case.iter_rows(catalog, scenarios, overrides):
                for note in use_case.report([outcome], single=False).warnings:
                    warn(f"{scenarios}: {note}")
                yield outcome

        emit_stream(render_stream, rows(), fmt)
        return
    else:
        if not model or not hardware:
            raise PlannerError("--model and --hardware are required (or --scenarios FILE); see `planner profiles list`")
        request = use_case.ScenarioRequest(model=model, hardware=hardware, engine=engine, tp=tp, pp=pp, ep=ep, attention_dp=attention_dp,
                                           replicas=replicas, precision=precision,
                                           kv_precision=kv_precision, batch=batch, prompt_tokens=prompt_tokens,
                                           output_tokens=output_tokens, concurrency=concurrency)
        result = use_case.report([use_case.evaluate_one(catalog, request, overrides=overrides)], single=True)
        for note in result.warnings:
            warn(note)
    emit(render, result, fmt)
