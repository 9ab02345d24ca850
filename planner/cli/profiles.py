"""`planner profiles list|show|validate|import-hf`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import EXIT_ERROR, Format, FormatOpt, Kind, ProfilesOpt, emit, handle_errors, open_catalog
from planner.errors import PlannerError


def _kinds(kind: Optional[Kind]) -> list[str]:
    return [kind.value] if kind else ["hardware", "model"]


@handle_errors
def profiles_list(
    kind: Optional[Kind] = typer.Option(None, "--kind", "-k", help="Only this kind of profile."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """List the available profiles and which file each comes from."""
    from planner.inventory import listing
    from planner.report.profiles import render_listing

    emit(render_listing, listing(open_catalog(profiles), _kinds(kind)), fmt)


@handle_errors
def profiles_show(
    name: str = typer.Argument(..., help="Profile id."),
    kind: Optional[Kind] = typer.Option(None, "--kind", "-k", help="Kind of profile (found automatically when the id is unique)."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """Show one profile: its fields, derived values and sources."""
    from planner.inventory import show_profile
    from planner.report.profiles import render_profile

    emit(render_profile, show_profile(open_catalog(profiles), name, kind.value if kind else None), fmt)


@handle_errors
def profiles_validate(
    directory: Optional[Path] = typer.Argument(None, help="Folder to check (hardware/, models/, laws/); default: the built-in profiles."),
) -> None:
    """Check every profile in a folder; report every problem; exit 2 if there is any."""
    from planner.files.catalog import bundled_dir, validate_dir

    target = directory or bundled_dir()
    checked, problems = validate_dir(target)
    for problem in problems:
        typer.echo(f"Error: {problem}", err=True)
    if problems:
        typer.echo(f"{target}: {checked} profiles checked, {len(problems)} problem(s)")
        raise typer.Exit(EXIT_ERROR)
    if checked == 0:
        raise PlannerError(f"{target}: no profiles found (expected hardware/*.yaml, models/*.yaml or laws/*.yaml)")
    typer.echo(f"{target}: {checked} profiles checked, no problems")


@handle_errors
def profiles_import_hf(
    config: Path = typer.Argument(..., help="A Hugging Face config.json on disk (no network)."),
    model_id: str = typer.Option(..., "--id", metavar="ID", help="Id for the new profile, e.g. my-model-7b."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the YAML (default: stdout)."),
    source: str = typer.Option("", "--source", metavar="CITATION", help="Citation for the config (default: the file path)."),
    force: bool = typer.Option(
        False, "--force",
        help="Overwrite an existing file, and import a config with an unknown model_type or keys the importer "
             "does not understand (they are listed in the profile's notes).",
    ),
) -> None:
    """Write a model profile from a Hugging Face config.json."""
    from planner.cli.common import warn
    from planner.files.disk import atomic_write, dump_yaml, read_json
    from planner.files.hf_import import profile_from_hf_config
    from planner.files.models import parse_model

    data = profile_from_hf_config(read_json(config, allow_nonfinite=True), model_id=model_id, source=source or str(config), force=force)
    target = out if out is not None else Path(f"{model_id}.yaml")
    parsed = parse_model(dict(data), target)  # the profile must load before it is written
    if force and "--force" in data.get("notes", ""):
        warn(f"{config}: imported with --force; see the profile's notes for what was not understood")
    text = dump_yaml(data)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlannerError(f"{out.parent}: cannot create the folder: {exc.strerror or exc}") from None
    atomic_write(out, text, force=force)
    typer.echo(f"wrote {out}: {parsed.name}, {parsed.total_params / 1e9:.2f} B parameters", err=True)

