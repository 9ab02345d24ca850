"""What every command shares: formats, options, the catalog, output, errors and exit codes. The library raises; this translates.

Exit codes: 0 OK; 1 findings (a plan fails its checks); 2 the tool could not do its job
(usage error, unknown name, bad profile or input, failed fit).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

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
    engine = "engine"


ProfilesOpt = typer.Option(None, "--profiles", metavar="DIR", help="Folder of user profiles (hardware/, models/, laws/); overrides built-ins of the same name. Also PLANNER_PROFILES.", show_default=False)
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


def emit(render: Callable[..., str], result: Any, fmt: Format, **options: Any) -> None:
    """Render ``result`` with ``render(result, fmt, width, color, **options)`` and write it to stdout.

    Tables take the terminal's width (and colour) on a terminal, and their natural width in a pipe.
    """
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size((100, 24)).columns if tty else None
    sys.stdout.write(render(result, fmt.value, width, tty and fmt is Format.table, **options))
    sys.stdout.flush()


ENV_PROFILES = "PLANNER_PROFILES"


def open_catalog(profiles: Optional[Path]):
    """The catalog over ``--profiles DIR``, then each folder of ``PLANNER_PROFILES``, then the built-in profiles."""
    from planner.files.catalog import Catalog

    dirs: list[tuple[Path | str, str]] = [(profiles, "--profiles")] if profiles else []
    dirs += [(part.strip(), ENV_PROFILES) for part in os.environ.get(ENV_PROFILES, "").split(os.pathsep) if part.strip()]
    return Catalog(dirs)


