"""Command line: argv, environment, stdout/stderr and exit codes. The library raises; this translates.

Exit codes: 0 OK; 1 findings (a plan fails its checks); 2 the tool could not do its job
(usage error, unknown name, bad profile or input, failed fit).
"""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Optional

import typer

from planner.errors import PlannerError

app = typer.Typer(
    name="planner",
    help="Compute-optimal inference planner for LLMs: what a model costs on hardware, and what extra samples buy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
profiles_app = typer.Typer(help="List, show, validate and import model and hardware profiles.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


class Kind(str, Enum):
    hardware = "hardware"
    model = "model"
    law = "law"


ProfilesOpt = typer.Option(None, "--profiles", help="Folder of user profiles (hardware/, models/, laws/); overrides built-ins of the same name. Also PLANNER_PROFILES.", show_default=False)
FormatOpt = typer.Option(Format.table, "--format", "-f", help="Output format.")


def handle_errors(func: Callable) -> Callable:
    """Turn library errors into one 'Error: ...' line on stderr and exit code 2: the one place that does."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PlannerError as exc:
            _error(str(exc))
            raise typer.Exit(EXIT_ERROR) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: still no traceback for users unless asked for
            if os.environ.get("PLANNER_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (set PLANNER_DEBUG=1 for a traceback, and please report it)")
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper


def _error(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)


def warn(message: str) -> None:
    typer.echo(f"Warning: {message}", err=True)


def emit(fmt: Format, *, json_data=None, markdown: Callable[[], str] | None = None, rich: Callable[[], list] | None = None) -> None:
    """Write the result to stdout in the chosen format."""
    from planner import report

    if fmt is Format.json:
        sys.stdout.write(report.to_json(json_data))
    elif fmt is Format.markdown:
        sys.stdout.write(markdown())
    else:
        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 120, soft_wrap=False)
        for renderable in rich():
            console.print(renderable)
    sys.stdout.flush()


def _catalog(profiles: Optional[Path]):
    from planner.profiles import Catalog

    return Catalog(profiles)


# ---------------------------------------------------------------------------------------------
# estimate


@app.command()
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

    catalog = _catalog(profiles)
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


# ---------------------------------------------------------------------------------------------
# profiles


def _kinds(kind: Optional[Kind]) -> list[str]:
    return [kind.value] if kind else ["hardware", "model"]


@profiles_app.command("list")
@handle_errors
def profiles_list(
    kind: Optional[Kind] = typer.Option(None, "--kind", "-k", help="Only this kind of profile."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """List the available profiles and which file each comes from."""
    from planner import report
    from planner.profiles_view import list_profiles

    catalog = _catalog(profiles)
    listing = {k: list_profiles(catalog, k) for k in _kinds(kind)}
    titles = {"hardware": "Hardware", "model": "Models", "law": "Scaling laws"}

    def md() -> str:
        out = []
        for k, items in listing.items():
            header, rows, numeric = report.profile_list_rows(k, items)
            out.append(f"## {titles[k]}\n\n" + report.markdown_table(header, rows, numeric))
        return "\n".join(out)

    def rich() -> list:
        return [report.rich_table(titles[k], *report.profile_list_rows(k, items)) for k, items in listing.items()]

    emit(fmt, json_data={"schema_version": report.SCHEMA_VERSION, **{k: v for k, v in listing.items()}}, markdown=md, rich=rich)


@profiles_app.command("show")
@handle_errors
def profiles_show(
    name: str = typer.Argument(..., help="Profile id."),
    kind: Optional[Kind] = typer.Option(None, "--kind", "-k", help="Kind of profile (found automatically when the id is unique)."),
    fmt: Format = FormatOpt,
    profiles: Optional[Path] = ProfilesOpt,
) -> None:
    """Show one profile: its fields, derived values and sources."""
    from planner import report
    from planner.profiles_view import show_profile

    catalog = _catalog(profiles)
    data = show_profile(catalog, name, kind.value if kind else None)
    emit(fmt, json_data={"schema_version": report.SCHEMA_VERSION, **data},
         markdown=lambda: report.profile_to_markdown(data), rich=lambda: report.profile_to_rich(data))


@profiles_app.command("validate")
@handle_errors
def profiles_validate(
    directory: Optional[Path] = typer.Argument(None, help="Folder to check (hardware/, models/, laws/); default: the built-in profiles."),
) -> None:
    """Check every profile in a folder; report every problem; exit 2 if there is any."""
    from planner.profiles import bundled_dir, validate_dir
    from planner.profiles_view import all_parsers

    target = directory or bundled_dir()
    checked, problems = validate_dir(target, all_parsers())
    for problem in problems:
        typer.echo(f"Error: {problem}", err=True)
    if problems:
        typer.echo(f"{target}: {checked} profiles checked, {len(problems)} problem(s)")
        raise typer.Exit(EXIT_ERROR)
    if checked == 0:
        raise PlannerError(f"{target}: no profiles found (expected hardware/*.yaml, models/*.yaml or laws/*.yaml)")
    typer.echo(f"{target}: {checked} profiles checked, no problems")


@profiles_app.command("import-hf")
@handle_errors
def profiles_import_hf(
    config: Path = typer.Argument(..., help="A Hugging Face config.json on disk (no network)."),
    model_id: str = typer.Option(..., "--id", help="Id for the new profile, e.g. my-model-7b."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the YAML (default: stdout)."),
    source: str = typer.Option("", "--source", help="Citation for the config (default: the file path)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a model profile from a Hugging Face config.json."""
    from planner.hf_import import profile_from_hf_config
    from planner.profiles import atomic_write, dump_yaml, parse_model, read_json

    data = profile_from_hf_config(read_json(config), model_id=model_id, source=source or str(config))
    target = out if out is not None else Path(f"{model_id}.yaml")
    parsed = parse_model(dict(data), target)  # the profile must load before it is written
    text = dump_yaml(data)
    if out is None:
        sys.stdout.write(text)
        return
    atomic_write(out, text, force=force)
    typer.echo(f"wrote {out}: {parsed.name}, {parsed.total_params / 1e9:.2f} B parameters", err=True)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="planner")


# Commands defined in their own modules register themselves on `app`.
from planner import cli_tt  # noqa: E402,F401


if __name__ == "__main__":  # pragma: no cover
    main()
