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
    plans: list[Path] = typer.Argument(..., help="Plan files (YAML; see docs/plans.md).", show_default=False),
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
