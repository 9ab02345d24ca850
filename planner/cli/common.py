"""What every command shares: formats, options, the catalog, output, errors and exit codes. The library raises; this translates.

Exit codes: 0 OK; 1 findings (a plan fails its checks); 2 the tool could not do its job
(usage error, unknown name, bad profile or input, failed fit).
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from planner.errors import PlannerError, capped

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
    """Turn library errors into one 'Error: ...' line on stderr and exit code 2: the one place that does.

    Also the one place for the streams: a closed stdout stops the command before it does anything;
    a reader that stops reading (``| head``) ends it quietly with 0; a stdout that cannot be written
    (``/dev/full``) is one error line and 2; characters the output encoding lacks become ``?``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            _prepare_streams()
            result = func(*args, **kwargs)
            _flush_stdout()
            return result
        except PlannerError as exc:
            _error(str(exc))
            raise typer.Exit(EXIT_ERROR) from None
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(EXIT_OK) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: still no traceback for users unless asked for
            if isinstance(exc, OSError) and _is_output_error(exc):  # e.g. typer.echo into a full disk
                _silence_stdout()
                _error(f"cannot write to standard output: {exc.strerror or exc}")
                raise typer.Exit(EXIT_ERROR) from None
            if os.environ.get("PLANNER_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (set PLANNER_DEBUG=1 for a traceback, and please report it)")
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper


class OutputError(PlannerError):
    """Standard output is closed or cannot be written."""


def _prepare_streams() -> None:
    if sys.stdout is None:
        raise OutputError("standard output is closed; nothing was done")
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if stream is not None and encoding and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")  # an ASCII-only terminal gets '?' instead of a crash


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null so that Python's last flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests, embedded use)
        pass


# Errors of writing a stream. Files are read and written only through files.disk, which turns its
# OSErrors into PlannerErrors naming the file, so a bare one here comes from stdout or stderr.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EBADF, errno.EPIPE, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _is_output_error(exc: OSError) -> bool:
    if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
        return True
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:
        return True
    return False


def _flush_stdout() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


def write_out(text: str) -> None:
    """Write ``text`` to stdout now (errors as in :func:`handle_errors`)."""
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        raise
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
    _flush_stdout()


def _error(message: str) -> None:
    typer.echo(f"Error: {capped(str(message))}", err=True)


def warn(message: str) -> None:
    typer.echo(f"Warning: {capped(str(message))}", err=True)


def emit(render: Callable[..., str], result: Any, fmt: Format, **options: Any) -> None:
    """Render ``result`` with ``render(result, fmt, width, color, **options)`` and write it to stdout.

    Tables take the terminal's width (and colour) on a terminal, and their natural width in a pipe.
    """
    tty = _isatty()
    width = shutil.get_terminal_size((100, 24)).columns if tty else None
    write_out(render(result, fmt.value, width, tty and fmt is Format.table, **options))


def emit_stream(render_stream: Callable[..., Iterable[str]], items: Iterable[Any], fmt: Format, **options: Any) -> None:
    """Like :func:`emit` for results rendered piece by piece (``--scenarios``): each piece is written as it is made."""
    tty = _isatty()
    width = shutil.get_terminal_size((100, 24)).columns if tty else None
    for piece in render_stream(items, fmt.value, width, tty and fmt is Format.table, **options):
        write_out(piece)


def _isatty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


ENV_PROFILES = "PLANNER_PROFILES"


def open_catalog(profiles: Optional[Path]):
    """The catalog over ``--profiles DIR``, then each folder of ``PLANNER_PROFILES``, then the built-in profiles."""
    from planner.files.catalog import Catalog

    dirs: list[tuple[Path | str, str]] = [(profiles, "--profiles")] if profiles else []
    dirs += [(part.strip(), ENV_PROFILES) for part in os.environ.get(ENV_PROFILES, "").split(os.pathsep) if part.strip()]
    return Catalog(dirs)


