"""Renderers for `planner check` (and the plan file comments of `planner plan`): ``render(result, fmt) -> str``.

Formats: ``table`` (terminal), ``markdown``, ``json``, ``junit`` (JUnit XML, one test case per check,
read by CI test-report tools), ``github`` (GitHub Actions workflow commands: ``::error file=…,line=…::…``
annotations on the YAML line of each failing field). No computation here: every number comes from
the result.
"""

from __future__ import annotations

import json
import math

from planner.report.common import SCHEMA_VERSION, markdown_table, to_json, to_text

FORMATS: tuple[str, ...] = ("table", "markdown", "json", "junit", "github")


# ---------------------------------------------------------------------------------------------
# Values


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit for people: seconds as ms below 1 s, fractions as %, bytes as GB, USD with separators."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "∞" if value > 0 else "-∞"
    if unit == "s":
        return f"{value * 1e3:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit == "bytes":
        return f"{value / 1e9:.1f} GB"
    if unit == "USD/month":
        return f"{value:,.0f} USD/month"
    if unit == "USD":
        return f"{value:.3g} USD"
    if unit == "J":
        return f"{value:,.4g} J"
    return f"{value:.4g} {unit}".strip()


def _headroom(v) -> str:
    h = v.headroom
    return "-∞" if not math.isfinite(h) else f"{h * 100:+.1f} %"


def status(v) -> str:
    """PASS or FAIL, with '(uncertain)' when the interval straddles the limit."""
    return ("PASS" if v.passed else "FAIL") + (" (uncertain)" if v.straddles else "")


def _relation(v) -> str:
    if v.direction == "max":
        return "≤" if v.passed else ">"
    return "≥" if v.passed else "<"


def verdict_message(v) -> str:
    """One line: what was predicted against what limit, and the margin."""
    text = (f"{v.check}: predicted {format_value(v.predicted, v.unit)} {_relation(v)} limit {format_value(v.limit, v.unit)} "
            f"(headroom {_headroom(v)})")
    return text + (f"; {v.note}" if v.note else "")


def plan_status(p) -> str:
    if not p.valid:
        return "INVALID"
    return "PASS" if p.passed else "FAIL"


_FIGURES = (
    ("devices", "devices", ""),
    ("load_multiplier", "load multiplier (sequences generated per request)", ""),
    ("reward_model_load", "reward-model load (equivalent sequences per request)", ""),
    ("peak_requests_per_second", "peak rate", "requests/s"),
    ("concurrency_per_replica", "requests in flight per replica at peak", ""),
    ("saturation_rps", "saturation rate", "requests/s"),
    ("goodput_rps", "goodput (largest rate meeting every latency SLO)", "requests/s"),
    ("utilisation_at_peak", "utilisation at peak", "fraction"),
    ("monthly_cost_usd", "monthly cost", "USD/month"),
    ("usd_per_query", "cost per query", "USD"),
    ("energy_per_query_j", "energy per query", "J"),
    ("energy_per_query_at_peak_j", "energy per query at peak", "J"),
    ("latency_model", "latency model", "text"),
)


def figure_rows(p) -> list[list[str]]:
    rows = []
    for key, label, unit in _FIGURES:
        if key not in p.figures or (key == "reward_model_load" and not p.figures[key]):
            continue
        value = p.figures[key]
        if unit == "text" or isinstance(value, int) and not unit:
            rows.append([label, str(value)])
        else:
            rows.append([label, format_value(value, unit)])
    return rows


def check_rows(p) -> list[list[str]]:
    return [[v.check, format_value(v.predicted, v.unit), format_value(v.limit, v.unit), _headroom(v), status(v),
             "" if v.line is None else str(v.line)] for v in p.verdicts]


_CHECK_HEADER = ["check", "predicted", "limit", "headroom", "status", "line"]


def problem_message(problem) -> str:
    """A problem without its file and line (annotations carry those)."""
    return (f"field '{problem.field}': " if problem.field else "") + problem.message


def problem_text(problem) -> str:
    return (f"line {problem.line}: " if problem.line is not None else "") + problem_message(problem)


# ---------------------------------------------------------------------------------------------
# JSON


def to_dict(result) -> dict:
    """A JSON-safe dict of the whole run (``schema_version``, snake_case keys with units)."""
    plans = []
    for p in result.plans:
        plans.append({
            "file": p.path,
            "status": plan_status(p),
            "valid": p.valid,
            "passed": p.passed,
            "checks": [{
                "check": v.check, "field": v.field, "line": v.line, "unit": v.unit, "direction": v.direction,
                "predicted": v.predicted, "limit": v.limit, "headroom": v.headroom, "status": "PASS" if v.passed else "FAIL",
                "interval": None if v.interval is None else list(v.interval), "straddles_limit": v.straddles, "note": v.note,
            } for v in p.verdicts],
            "figures": dict(p.figures),
            "problems": [{"field": e.field, "line": e.line, "message": e.message} for e in p.problems],
            "warnings": list(p.warnings),
            "assumptions": list(p.assumptions),
        })
    return {"schema_version": SCHEMA_VERSION, "passed": result.all_passed, "valid": not result.any_invalid, "plans": plans}


# ---------------------------------------------------------------------------------------------
# Markdown and table


def to_markdown(result) -> str:
    parts = []
    for p in result.plans:
        parts.append(f"## Capacity check: `{p.path}` — {plan_status(p)}\n\n")
        if p.problems:
            parts.append("**Problems**\n\n" + "".join(f"- {problem_text(e)}\n" for e in p.problems) + "\n")
            continue
        parts.append(markdown_table(_CHECK_HEADER, check_rows(p), numeric={1, 2, 3, 5}))
        notes = [f"{v.check}: {v.note}" for v in p.verdicts if v.note]
        parts.append("\n" + markdown_table(["figure", "value"], figure_rows(p), numeric={1}))
        for title, items in (("Notes", notes), ("Warnings", list(p.warnings)), ("Assumptions", list(p.assumptions))):
            if items:
                parts.append(f"\n**{title}**\n\n" + "".join(f"- {line}\n" for line in items))
        parts.append("\n")
    return "".join(parts).rstrip("\n") + "\n"


def to_table(result, width: int | None = None, color: bool = False) -> str:
    from rich.table import Table
    from rich.text import Text

    items: list = []
    for p in result.plans:
        items.append(Text(f"Capacity check: {p.path} — {plan_status(p)}"))
        if p.problems:
            items += [Text(f"  {problem_text(e)}") for e in p.problems] + [Text("")]
            continue
        table = Table(title=None)
        for i, h in enumerate(_CHECK_HEADER):
            table.add_column(h, justify="right" if i in (1, 2, 3, 5) else "left", no_wrap=i != 0)
        for row in check_rows(p):
            table.add_row(*row)
        items.append(table)
        figures = Table(show_header=False, box=None, pad_edge=False)
        figures.add_column("figure")
        figures.add_column("value", justify="right", no_wrap=True)
        for row in figure_rows(p):
            figures.add_row(*row)
        items.append(figures)
        for title, lines in (("Notes", [f"{v.check}: {v.note}" for v in p.verdicts if v.note]),
                             ("Warnings", list(p.warnings)), ("Assumptions", list(p.assumptions))):
            if lines:
                items.append(Text(f"{title}:"))
                items += [Text(f"  - {line}") for line in lines]
        items.append(Text(""))
    return to_text(items, width, color)


# ---------------------------------------------------------------------------------------------
# JUnit XML


def to_junit(result) -> str:
    """JUnit XML: one <testsuite> per plan file, one <testcase> per check (<failure> when it fails), problems as <error>."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="planner check")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for p in result.plans:
        suite = ET.SubElement(root, "testsuite", name=p.path)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for e in p.problems:
            case = ET.SubElement(suite, "testcase", name=e.field or "plan file", classname=p.path, file=p.path)
            if e.line is not None:
                case.set("line", str(e.line))
            err = ET.SubElement(case, "error", message=problem_message(e), type="invalid plan")
            err.text = str(e)
            counts["tests"] += 1
            counts["errors"] += 1
        for v in p.verdicts:
            case = ET.SubElement(suite, "testcase", name=v.check, classname=p.path, file=p.path)
            if v.line is not None:
                case.set("line", str(v.line))
            counts["tests"] += 1
            if not v.passed:
                fail = ET.SubElement(case, "failure", message=verdict_message(v), type="FAIL")
                fail.text = verdict_message(v)
                counts["failures"] += 1
            else:
                out = ET.SubElement(case, "system-out")
                out.text = verdict_message(v)
        lines = [f"warning: {w}" for w in p.warnings] + [f"assumption: {a}" for a in p.assumptions]
        if lines:
            ET.SubElement(suite, "system-out").text = "\n".join(lines)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------
# GitHub Actions annotations


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, *, file: str, line: int | None = None, title: str | None = None) -> str:
    props = [f"file={_escape_property(file)}"]
    if line is not None:
        props.append(f"line={line}")
    if title:
        props.append(f"title={_escape_property(title)}")
    return f"::{kind} {','.join(props)}::{_escape_data(message)}"


def to_github(result) -> str:
    """GitHub Actions workflow commands: an error on the YAML line of each failing field or invalid value,
    a warning where an interval straddles its limit or the model warns, a notice per plan with its verdict."""
    lines = []
    for p in result.plans:
        for e in p.problems:
            lines.append(_command("error", problem_message(e), file=p.path, line=e.line, title="planner check: invalid plan"))
        for v in p.verdicts:
            if not v.passed:
                lines.append(_command("error", verdict_message(v), file=p.path, line=v.line, title=f"planner check: {v.check} FAIL"))
            elif v.straddles:
                lines.append(_command("warning", verdict_message(v), file=p.path, line=v.line, title=f"planner check: {v.check} uncertain"))
        for w in p.warnings:
            lines.append(_command("warning", w, file=p.path, title="planner check"))
        if p.valid:
            n_fail = sum(not v.passed for v in p.verdicts)
            summary = f"{plan_status(p)}: {len(p.verdicts) - n_fail} of {len(p.verdicts)} checks pass"
            lines.append(_command("notice", summary, file=p.path, title="planner check"))
    return "\n".join(lines) + ("\n" if lines else "")


def render(result, fmt: str, width: int | None = None, color: bool = False) -> str:
    """The check result in ``fmt`` (one of FORMATS); tables at ``width`` columns (natural width when None)."""
    fmt = getattr(fmt, "value", fmt)
    if fmt == "json":
        return to_json(to_dict(result))
    if fmt == "markdown":
        return to_markdown(result)
    if fmt == "junit":
        return to_junit(result)
    if fmt == "github":
        return to_github(result)
    if fmt == "table":
        return to_table(result, width, color)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def render_schema(schema: dict) -> str:
    """The plan format's JSON Schema as text (field order kept: it follows the docs)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# `planner plan`: the written plan file, predictions as comments


def _deployment_text(plan) -> str:
    d = plan.deployment
    text = f"{d.replicas} × {d.hardware}" + (f" × tp {d.tp}" if d.tp > 1 else "")
    return text + (f", max batch {d.max_batch}" if d.max_batch else "")


def plan_file_text(search, version: str = "") -> str:
    """The chosen plan as YAML with each prediction as a comment on its field, so a pull request diff shows what changed."""
    from planner.capacity.plan import written_fields
    from planner.files.plans import plan_to_yaml

    best = search.best
    p, check = best.plan, best.check
    fig = check.figures
    comments: dict[str, str] = {}
    for v in check.verdicts:
        if v.field.startswith(("slo.", "budget.")):
            text = f"predicted {format_value(v.predicted, v.unit)}, headroom {_headroom(v)}"
            if v.interval is not None:
                text += f", 95 % interval {format_value(v.interval[0], v.unit)}–{format_value(v.interval[1], v.unit)}"
            comments[v.field] = text + (" (uncertain)" if v.straddles else "")
        elif v.check == "memory per device":
            comments["deployment.hardware"] = f"memory per device {format_value(v.predicted, v.unit)} of {format_value(v.limit, v.unit)}"
    comments["deployment.replicas"] = (f"saturation {format_value(fig.get('saturation_rps'), 'requests/s')}, "
                                       f"utilisation at peak {format_value(fig.get('utilisation_at_peak'), 'fraction')}")
    if fig.get("load_multiplier", 1.0) != 1.0:
        comments["deployment.samples"] = f"load multiplier {fig['load_multiplier']:.4g}: sequences generated per request"
    if fig.get("reward_model_load"):
        comments["deployment.reward_model"] = f"scoring load ≈ {fig['reward_model_load']:.3g} sequences per request"
    header = [
        f"Written by `planner plan`{f' {version}' if version else ''} from {search.draft.path}.",
        "Comments are predictions; `planner check` re-evaluates them.",
        f"Chosen: {_deployment_text(p)} ({p.deployment.devices} device{'s' if p.deployment.devices > 1 else ''}), "
        "the cheapest meeting every objective "
        f"of {search.evaluated} candidates evaluated; monthly cost {format_value(fig.get('monthly_cost_usd'), 'USD/month')}.",
        f"Peak {format_value(fig.get('peak_requests_per_second'), 'requests/s')}: goodput "
        f"{format_value(fig.get('goodput_rps'), 'requests/s')}, energy per query {format_value(fig.get('energy_per_query_j'), 'J')}, "
        f"latency model {fig.get('latency_model')}.",
    ]
    if search.model_note:
        header.append(f"Model search: {search.model_note}.")
    for r in search.runners_up[:3]:
        header.append(f"Runner-up: {_deployment_text(r.plan)}, {format_value(r.monthly_cost_usd, 'USD/month')}.")
    header += [f"Warning: {w}" for w in search.warnings]
    return plan_to_yaml(p, fields=written_fields(search), comments=comments, header=tuple(header))
