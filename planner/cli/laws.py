"""Test-time compute commands: `planner fit`, `planner laws list|show`, `planner predict`."""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path

import typer

from planner.cli.common import (
    Format,
    FormatOpt,
    ProfilesOpt,
    emit,
    handle_errors,
    open_catalog,
    warn,
)
from planner.errors import InputError, PlannerError


def catalog_model_lookup(catalog):
    """A function name -> (catalog model id, total parameters in billions) or None (case-insensitive ids)."""
    from planner.errors import UnknownNameError

    def lookup(name: str):
        try:
            entry = catalog.file("model", name)
        except UnknownNameError:
            return None
        return entry.id, catalog.model(entry.id).total_params / 1e9

    return lookup


@contextlib.contextmanager
def progress_on_stderr(label: str):
    """A progress callback (done, total) drawing a bar on stderr when stderr is a terminal; otherwise silent.

    Never writes to stdout, never into a pipe or a file: CI logs and `> law.json` stay clean.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} problems"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            if done == total or done % 16 == 0:
                bar.update(task, completed=done, total=total)

        yield update


def parse_params_b(values: list[str] | None) -> dict[str, float] | float | None:
    """--params-b values: one bare number (the only model) or NAME=BILLIONS pairs."""
    if not values:
        return None
    out: dict[str, float] = {}
    bare = None
    for text in values:
        name, sep, num = text.rpartition("=")
        try:
            value = float(num)
        except ValueError:
            raise InputError(f"--params-b: expected BILLIONS or MODEL=BILLIONS (e.g. 7.24 or mistral-7b=7.24), got {text!r}") from None
        if not (math.isfinite(value) and 1e-4 <= value <= 1e5):
            raise InputError(f"--params-b: size must be between 1e-4 and 1e5 billion parameters, got {text!r}")
        if sep:
            out[name.strip()] = value
        elif bare is not None or len(values) > 1:
            raise InputError("--params-b: give one bare size, or MODEL=BILLIONS for each model")
        else:
            bare = value
    return bare if bare is not None else out


@handle_errors
def fit(
    data: Path = typer.Argument(..., help="CSV of evaluations: aggregate rows (model,task,method,samples,accuracy[,n_problems]) or per-problem rows (problem_id,sample_id,correct[,answer,score])."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the fitted law (YAML)."),
    law_id: str | None = typer.Option(None, "--id", metavar="ID", help="Law id [default: the output file name]."),
    task: str | None = typer.Option(None, "--task", metavar="TASK", help="Task id (e.g. math500) when the rows do not say."),
    model: str = typer.Option("user-model", "--model", metavar="NAME", help="Model name for per-problem rows."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed (intervals are reproducible)."),
    scale: str | None = typer.Option(None, "--scale", metavar="fraction|percent", help="Accuracy scale of aggregate rows: fraction or percent [default: detected, only when unambiguous]."),
    params_b: list[str] | None = typer.Option(None, "--params-b", help="Model size in billions of parameters (one number, or MODEL=BILLIONS, repeatable) for models the catalog does not know; precision penalties need it."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    fmt: Format = FormatOpt,
    profiles: Path | None = ProfilesOpt,
) -> None:
    """Fit inference scaling laws to your own evaluation and write them as a law profile."""
    from planner.accuracy.law_fit import fit_law_from_rows
    from planner.files.disk import atomic_write, dump_yaml, ensure_writable, parse_yaml_text, read_csv_rows
    from planner.files.laws import law_to_yaml_dict, parse_law
    from planner.report.laws import render_law

    ensure_writable(out, force=force)  # refuse before the fit, not after it
    _, rows = read_csv_rows(data)
    sizes = parse_params_b(params_b)
    if isinstance(sizes, float):
        names = {str(r.get("model") or "").strip() for r in rows} - {""}
        if len(names) > 1:
            raise InputError(f"--params-b: the rows hold {len(names)} models ({', '.join(sorted(names))}); give MODEL=BILLIONS for each")
        sizes = {(names.pop() if names else model): sizes}
    if seed < 0 or seed >= 2**63:
        raise InputError(f"--seed: expected a whole number in [0, 2^63), got {seed}")
    if scale is not None and scale not in ("fraction", "percent"):
        raise InputError(f"--scale: expected 'fraction' or 'percent', got {scale!r}")
    lookup = catalog_model_lookup(open_catalog(profiles))
    try:
        with progress_on_stderr(f"fitting {data.name}") as progress:
            law = fit_law_from_rows(rows, law_id=law_id or out.stem, task=task, model=model, source=str(data), seed=seed,
                                    sizes_b=sizes, lookup_model=lookup, scale=scale, progress=progress)
    except PlannerError as exc:
        raise type(exc)(f"{data}: {exc}") from None
    text = dump_yaml(law_to_yaml_dict(law))
    parse_law(parse_yaml_text(text, out), out, check_id=False)  # what is written must load back
    atomic_write(out, text, force=force)
    how = f"detected in {data}" if scale is None else "as given by --scale"
    typer.echo(f"wrote {out} ({law.accuracy_scale} accuracies {how})", err=True)
    for fid, f in sorted(law.fits.items()):
        for w in f.result.warnings:
            warn(f"fit {fid}: {w}")
    emit(render_law, law, fmt, file=str(out))


@handle_errors
def laws_list(fmt: Format = FormatOpt, profiles: Path | None = ProfilesOpt) -> None:
    """List the scaling laws: task, models, methods, k covered and where each comes from."""
    from planner.report.laws import render_law_list

    catalog = open_catalog(profiles)
    emit(render_law_list, [catalog.law(name) for name in catalog.names("law")], fmt)


@handle_errors
def laws_show(name: str = typer.Argument(..., help="Law id or a law YAML file."), fmt: Format = FormatOpt,
              profiles: Path | None = ProfilesOpt) -> None:
    """Show a law: its fits, parameters with intervals, fit quality, coverage and sources."""
    from planner.report.laws import render_law

    law, source = open_catalog(profiles).law(name)
    emit(render_law, law, fmt, source=source)


def parse_samples(text: str) -> list[int]:
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise InputError(f"--samples: expected comma-separated whole numbers ≥ 1 (e.g. 1,4,16,64), got {text!r}")
        values.append(int(part))
    return values


@handle_errors
def predict(
    law: str = typer.Option(..., "--law", "-l", metavar="LAW|FILE", help="Built-in law id (see `planner laws list`) or a file written by `planner fit`."),
    method: str = typer.Option(..., "--method", metavar="METHOD", help="greedy, majority, best-of-n, weighted-majority, mcts, rebase, pass-at-k, ensemble, human-pick."),
    samples: str = typer.Option("1,4,16,64", "--samples", "-k", metavar="K,K,...", help="Sample counts, comma-separated."),
    model: str | None = typer.Option(None, "--model", "-m", metavar="ID", help="Model [default: the law's default model]."),
    precision: str | None = typer.Option(None, "--precision", "-p", metavar="PRECISION", help="Weight precision: its accuracy penalty is applied per sample."),
    kv_precision: str | None = typer.Option(None, "--kv-precision", metavar="PRECISION", help="KV-cache precision (fp8, int8, int4): its accuracy penalty is added to the weights'."),
    anchor_accuracy: str | None = typer.Option(None, "--anchor-accuracy", metavar="A", help="Single-sample accuracy of a model the law has no data for, in an evaluation like the law's (fraction, or percent above 1)."),
    fmt: Format = FormatOpt,
    profiles: Path | None = ProfilesOpt,
) -> None:
    """Predicted accuracy (a fraction, with a 95 % interval) for each sample count."""
    from planner.accuracy.laws import prediction_table
    from planner.domain import precision as lookup_precision
    from planner.report.laws import render_predictions

    catalog = open_catalog(profiles)
    the_law, source = catalog.law(law)
    ks = parse_samples(samples)
    params_b = None
    if precision:
        precision = lookup_precision(precision).name
    if kv_precision:
        kv_precision = lookup_precision(kv_precision).name
    anchor = None
    if anchor_accuracy is not None:
        try:
            anchor = float(anchor_accuracy)
        except ValueError:
            raise InputError(f"--anchor-accuracy: expected a number (0.42 or 42 for 42 %), got {anchor_accuracy!r}") from None
        if not (math.isfinite(anchor) and 0.0 < anchor < 100.0 and anchor != 1.0):
            raise InputError(f"--anchor-accuracy: expected a fraction in (0, 1) or a percentage in (1, 100), got {anchor_accuracy!r}")
    if model and the_law.find_model(model) is None:
        hit = catalog_model_lookup(catalog)(model)
        if hit is not None:
            params_b = hit[1]
    penalty = None
    if precision or kv_precision:
        from planner.files.quantization import parse_penalty

        penalty = catalog.get("quantization", "default", parse_penalty)
    result = prediction_table(the_law, method, ks, source=source, model=model, precision=precision, penalty=penalty,
                              params_b=params_b, anchor_accuracy=anchor, kv_precision=kv_precision)
    for w in result.warnings:
        warn(w)
    emit(render_predictions, result, fmt)
