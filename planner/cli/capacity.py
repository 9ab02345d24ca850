"""Capacity-plan commands: `planner check PLAN...`, `planner schema`."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from planner.cli.common import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    ProfilesOpt,
    emit,
    handle_errors,
    open_catalog,
)


class CheckFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    junit = "junit"
    github = "github"


@handle_errors
def check(
    plans: list[Path] = typer.Argument(..., metavar="PLAN", help="Plan files (YAML; see docs/plans.md).", show_default=False),
    fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f", help="Output format: table, markdown, json, junit (JUnit XML) or github (Actions annotations)."),
    profiles: Path | None = ProfilesOpt,
) -> None:
    """Check capacity plans against their SLOs, accuracy target and budget: exit 0 all pass, 1 any fails, 2 a plan is invalid."""
    from planner.capacity.check import check_files
    from planner.report import capacity as report

    result = check_files(plans, open_catalog(profiles))
    emit(report.render, result, fmt)
    for plan in result.plans:
        for problem in plan.problems:
            typer.echo(f"Error: {problem}", err=True)
    if result.any_invalid:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_OK if result.all_passed else EXIT_FINDINGS)


@handle_errors
def schema() -> None:
    """Print the JSON Schema of the plan format (for editors and CI validators)."""
    from planner.files.plans import json_schema
    from planner.report.capacity import render_schema

    sys.stdout.write(render_schema(json_schema()))


@handle_errors
def plan(
    draft: Path = typer.Argument(..., metavar="DRAFT", help="A draft plan: workload, slo, budget and the deployment choices already made.", show_default=False),
    out: Path | None = typer.Option(None, "--out", "-o", metavar="FILE", help="Write the plan here (atomically) instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
    hardware: str | None = typer.Option(None, "--hardware", "-H", metavar="IDS", help="Comma-separated hardware ids to try [default: every profile]."),
    max_replicas: int = typer.Option(64, "--max-replicas", min=1, metavar="N", help="Most replicas to try per layout."),
    task: str | None = typer.Option(None, "--task", metavar="ID", help="Scaling-law id for the accuracy objective (sets workload.task; with no deployment.model, the model search uses it)."),
    profiles: Path | None = ProfilesOpt,
) -> None:
    """Find the cheapest hardware × tp × max batch × replicas meeting a draft plan's objectives and write the plan."""
    from planner.capacity.plan import failure_summary, relocated, search, with_task
    from planner.files.disk import atomic_write, ensure_writable
    from planner.files.plans import read_plan
    from planner.report.capacity import plan_file_text
    from planner.version import __version__

    catalog = open_catalog(profiles)
    if out is not None:
        ensure_writable(out, force=force)  # refuse before the search, not after it
    devices = [h.strip() for h in hardware.split(",") if h.strip()] if hardware else None
    if devices:
        devices = [catalog.file("hardware", h).id for h in devices]
    plan_draft = read_plan(draft, draft=True)
    if task:
        plan_draft = with_task(plan_draft, catalog.file("law", task).id)
    result = search(plan_draft, catalog, hardware=devices, max_replicas=max_replicas)
    if result.best is None:
        typer.echo(f"{draft}: {failure_summary(result)}", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    text = plan_file_text(relocated(result, out.parent if out is not None else Path(".")), __version__)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(out, text, force=force)
    best = result.best
    typer.echo(f"wrote {out}: {best.plan.deployment.replicas} × {best.plan.deployment.hardware} tp {best.plan.deployment.tp} "
               f"({result.evaluated} candidates evaluated)", err=True)
