"""`planner recommend` and `planner frontier`: parse the options, run the search, render, choose the exit code."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.cli.common import EXIT_FINDINGS, Format, FormatOpt, ProfilesOpt, emit, handle_errors, open_catalog, warn
from planner.errors import InputError

TaskOpt = typer.Option(None, "--task", "-t", metavar="LAW", help="Built-in law id (math500, gsm8k; see `planner laws list`).")
LawOpt = typer.Option(None, "--law", metavar="FILE", help="A law file written by `planner fit` (instead of --task).")
TargetOpt = typer.Option(None, "--target-accuracy", "-a", metavar="A", help="Reach this accuracy at the lowest --minimize: a fraction (0.45) or a percentage (45%).")
UsdOpt = typer.Option(None, "--budget-usd-per-1k-queries", metavar="USD", help="Budget: most accurate within this cost per 1,000 queries.")
FlopsOpt = typer.Option(None, "--budget-flops-per-query", metavar="FLOPS", help="Budget: most accurate within this many FLOPs per query.")
GpuSecOpt = typer.Option(None, "--budget-gpu-seconds-per-query", metavar="S", help="Budget: most accurate within this many device-seconds per query.")
LatencyOpt = typer.Option(None, "--max-latency-s", metavar="S", help="End-to-end latency limit per query (also a budget on its own).")
TtftOpt = typer.Option(None, "--max-ttft-s", metavar="S", help="Time-to-first-token limit.")
MinimizeOpt = typer.Option("cost", "--minimize", metavar="cost|latency|energy|flops", help="Objective to minimise.")
ModelsOpt = typer.Option(None, "--models", metavar="ID,ID,...", help="Only these models (catalog ids or the law's model names).")
HardwareOpt = typer.Option(None, "--hardware", "-H", metavar="ID,ID,...", help="Only these hardware profiles.")
PrecisionsOpt = typer.Option(None, "--precisions", metavar="P,P,...", help="Weight precisions to consider [default: bf16,fp8,int8,int4,fp4].")
MethodsOpt = typer.Option(None, "--methods", metavar="M,M,...", help="Search methods [default: the law's, except pass-at-k, human-pick and ensemble].")
MaxSamplesOpt = typer.Option(1024, "--max-samples", metavar="K", help="Largest k considered (powers of two and the law's data k up to it).")
MaxDevicesOpt = typer.Option(None, "--max-devices", metavar="N", help="Most devices per query (generator + reward model).")
PromptOpt = typer.Option(None, "--prompt-tokens", metavar="TOKENS", help="Prompt tokens per query [default: the law's workload].")
OutputOpt = typer.Option(None, "--output-tokens", metavar="TOKENS", help="Generated tokens per sample [default: the law's workload].")
RewardOpt = typer.Option(None, "--reward-model", metavar="ID", help="Reward model profile for best-of-n, weighted majority, REBASE, MCTS [default: the law's, else llemma-34b].")
EngineOpt = typer.Option("generic", "--engine", "-e", metavar="ID", help="Engine profile (generic, trtllm, vllm, sglang): fixed overheads, collective latency, scheduler limits.")
DedicatedOpt = typer.Option(False, "--dedicated", help="Count the query as owning its devices for its latency (default: shared deployment at its serving batch).")
ServingBatchOpt = typer.Option(None, "--serving-batch", metavar="N", help="Serving batch of the shared deployment [default: largest that fits, at most 256].")
TreeStepsOpt = typer.Option(10, "--tree-steps", metavar="N", help="Rounds of a REBASE/MCTS tree search per solution.")
OracleOpt = typer.Option(1.0, "--oracle-seconds", metavar="S", help="Time of one executable check for pass-at-k (the k run in parallel).")


def _number(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{name}: expected a number, got {value!r}") from None


def _request(target, usd, flops, gpu_s, latency, ttft, minimize, models, hardware, precisions, methods, max_samples,
             max_devices, prompt_tokens, output_tokens, reward_model, engine, dedicated, serving_batch, tree_steps, oracle_seconds):
    from planner.optimizer.request import SearchRequest, parse_accuracy, parse_list

    return SearchRequest(
        target_accuracy=None if target is None else parse_accuracy(target),
        budget_usd_per_1k_queries=_number("--budget-usd-per-1k-queries", usd),
        budget_flops_per_query=_number("--budget-flops-per-query", flops),
        budget_gpu_seconds_per_query=_number("--budget-gpu-seconds-per-query", gpu_s),
        max_latency_s=_number("--max-latency-s", latency), max_ttft_s=_number("--max-ttft-s", ttft),
        minimize=minimize, models=parse_list(models), hardware=parse_list(hardware), precisions=parse_list(precisions),
        methods=parse_list(methods), max_samples=max_samples, max_devices=max_devices,
        prompt_tokens=_number("--prompt-tokens", prompt_tokens), output_tokens=_number("--output-tokens", output_tokens),
        reward_model=reward_model, engine=engine, dedicated=dedicated, serving_batch=serving_batch, tree_steps=tree_steps,
        oracle_seconds=oracle_seconds,
    )


def _run(search, request, task: str | None, law: Path | None, profiles: Path | None):
    """Open the catalog, read the law (--task or --law), run ``search`` and pass its warnings to stderr."""
    if (task is None) == (law is None):
        raise InputError("give the accuracy source: --task LAW (e.g. math500) or --law FILE, one of them")
    catalog = open_catalog(profiles)
    the_law, source = catalog.law(task if task is not None else str(law))
    result = search(catalog, the_law, source, request)
    for line in result.warnings:
        warn(line)
    return result


@handle_errors
def recommend(
    task: str | None = TaskOpt, law: Path | None = LawOpt, target: str | None = TargetOpt, usd: str | None = UsdOpt,
    flops: str | None = FlopsOpt, gpu_s: str | None = GpuSecOpt, latency: str | None = LatencyOpt, ttft: str | None = TtftOpt,
    minimize: str = MinimizeOpt, models: str | None = ModelsOpt, hardware: str | None = HardwareOpt,
    precisions: str | None = PrecisionsOpt, methods: str | None = MethodsOpt, max_samples: int = MaxSamplesOpt,
    max_devices: int | None = MaxDevicesOpt, prompt_tokens: str | None = PromptOpt, output_tokens: str | None = OutputOpt,
    reward_model: str | None = RewardOpt, engine: str = EngineOpt, dedicated: bool = DedicatedOpt, serving_batch: int | None = ServingBatchOpt,
    tree_steps: int = TreeStepsOpt, oracle_seconds: float = OracleOpt, fmt: Format = FormatOpt, profiles: Path | None = ProfilesOpt,
) -> None:
    """Recommend model, precision, search method, samples and hardware: the cheapest that reaches a target accuracy,
    or the most accurate within a budget. Exit 1 when nothing qualifies (the frontier is still shown)."""
    from planner.optimizer.search import recommend as search
    from planner.report.recommend import render

    request = _request(target, usd, flops, gpu_s, latency, ttft, minimize, models, hardware, precisions, methods, max_samples,
                       max_devices, prompt_tokens, output_tokens, reward_model, engine, dedicated, serving_batch, tree_steps, oracle_seconds)
    result = _run(search, request, task, law, profiles)
    emit(render, result, fmt)
    if result.best is None:
        raise typer.Exit(EXIT_FINDINGS)


@handle_errors
def frontier(
    task: str | None = TaskOpt, law: Path | None = LawOpt, target: str | None = TargetOpt, usd: str | None = UsdOpt,
    flops: str | None = FlopsOpt, gpu_s: str | None = GpuSecOpt, latency: str | None = LatencyOpt, ttft: str | None = TtftOpt,
    minimize: str = MinimizeOpt, models: str | None = ModelsOpt, hardware: str | None = HardwareOpt,
    precisions: str | None = PrecisionsOpt, methods: str | None = MethodsOpt, max_samples: int = MaxSamplesOpt,
    max_devices: int | None = MaxDevicesOpt, prompt_tokens: str | None = PromptOpt, output_tokens: str | None = OutputOpt,
    reward_model: str | None = RewardOpt, engine: str = EngineOpt, dedicated: bool = DedicatedOpt, serving_batch: int | None = ServingBatchOpt,
    tree_steps: int = TreeStepsOpt, oracle_seconds: float = OracleOpt,
    plot: Path | None = typer.Option(None, "--plot", metavar="FILE.png|FILE.svg", help="Also draw the frontier (needs the 'plot' extra: matplotlib)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --plot file."),
    fmt: Format = FormatOpt, profiles: Path | None = ProfilesOpt,
) -> None:
    """The accuracy-vs-objective Pareto frontier within the constraints, as a table and a text chart."""
    from planner.optimizer.search import frontier as search
    from planner.report.recommend import render_frontier

    request = _request(target, usd, flops, gpu_s, latency, ttft, minimize, models, hardware, precisions, methods, max_samples,
                       max_devices, prompt_tokens, output_tokens, reward_model, engine, dedicated, serving_batch, tree_steps, oracle_seconds)
    result = _run(search, request, task, law, profiles)
    if plot is not None:
        from planner.files.disk import atomic_write
        from planner.report.plot import frontier_figure

        atomic_write(plot, frontier_figure(result, plot.suffix.lower()), force=force)
        typer.echo(f"wrote {plot}", err=True)
    emit(render_frontier, result, fmt)
