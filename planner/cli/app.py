"""The `planner` command: registers every command. Command modules never import this one."""

from __future__ import annotations

import typer

from planner.cli import capacity, estimate, laws, profiles, recommend

app = typer.Typer(
    name="planner",
    help="Compute-optimal inference planner for LLMs: what a model costs on hardware, and what extra samples buy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
profiles_app = typer.Typer(help="List, show, validate and import model and hardware profiles.", no_args_is_help=True)
laws_app = typer.Typer(help="List and show scaling laws (built-in and user).", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from planner.version import __version__

        typer.echo(f"planner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
) -> None:
    """Compute-optimal inference planner for LLMs: what a model costs on hardware, and what extra samples buy."""


app.add_typer(profiles_app, name="profiles")
app.add_typer(laws_app, name="laws")

app.command()(recommend.recommend)
app.command()(recommend.frontier)
app.command()(estimate.estimate)
app.command()(laws.fit)
app.command()(laws.predict)
app.command()(capacity.check)
app.command()(capacity.schema)
app.command()(capacity.plan)
profiles_app.command("list")(profiles.profiles_list)
profiles_app.command("show")(profiles.profiles_show)
profiles_app.command("validate")(profiles.profiles_validate)
profiles_app.command("import-hf")(profiles.profiles_import_hf)
laws_app.command("list")(laws.laws_list)
laws_app.command("show")(laws.laws_show)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="planner")
