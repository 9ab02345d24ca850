"""What every command shares: formats, options, the catalog, output, errors and exit codes. The library raises; this translates.

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


ENV_PROFILES = "PLANNER_PROFILES"


def open_catalog(profiles: Optional[Path]):
    """The catalog over ``--profiles DIR``, then each folder of ``PLANNER_PROFILES``, then the built-in profiles."""
    from planner.files.catalog import Catalog

    dirs: list[tuple[Path | str, str]] = [(profiles, "--profiles")] if profiles else []
    dirs += [(part.strip(), ENV_PROFILES) for part in os.environ.get(ENV_PROFILES, "").split(os.pathsep) if part.strip()]
    return Catalog(dirs)


