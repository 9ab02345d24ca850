"""`planner recommend` and `planner frontier`: the recommendation, its runners-up, why others lost, and the frontier."""

from __future__ import annotations

import math
from typing import Any

from planner.report.common import (
    envelope,
    markdown_notes,
    markdown_table,
    rich_notes,
    rich_table,
    to_json,
    to_text,
)

OBJECTIVE_UNITS = {"cost": "$ per query", "latency": "s per query", "energy": "J per query", "flops": "FLOPs per query"}
OBJECTIVE_WORDS = {"cost": "the lowest cost", "latency": "the lowest latency", "energy": "the lowest energy", "flops": "the fewest FLOPs"}
FRONTIER_HEADER = ["accuracy", "95% interval", "objective", "model", "precision", "method", "k", "hardware", "devices", "latency", "$ / 1k queries"]
FRONTIER_NUMERIC = {0, 2, 6, 8, 9, 10}
RUNNERS_UP = 3  # frontier points shown on each side of the recommendation


# ---------------------------------------------------------------------------------------------
# Number formats


def pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def interval(c) -> str:
    return f"{c.accuracy_lower * 100:.1f}–{c.accuracy_upper * 100:.1f} %"


def seconds(x: float) -> str:
    return f"{x * 1e3:,.1f} ms" if x < 1 else f"{x:,.2f} s"


def usd(x: float | None) -> str:
    if x is None:
        return "n/a (no price)"
    return f"${x:,.4g}" if x < 1 else f"${x:,.2f}"


def objective_text(c, objective: str) -> str:
    value = c.objective(objective)
    if value is None:
        return "n/a"
    if objective == "cost":
        return usd(value)
    if objective == "latency":
        return seconds(value)
    if objective == "energy":
        return f"{value:,.4g} J"
    return f"{value:.3g}"


def _model(c) -> str:
    name = c.model if c.law_model == c.model else f"{c.model} (law: {c.law_model})"
    return name + (" [extrapolated]" if c.extrapolated else "")


def _method(c) -> str:
    return c.method if c.method == "greedy" else f"{c.method} k={c.samples}"


# ---------------------------------------------------------------------------------------------
# Pieces


def title(rec) -> str:
    if rec.mode == "frontier":
        return f"Accuracy-vs-{rec.objective} frontier: {rec.task} (law {rec.law_id})"
    if rec.mode == "target":
        return f"Recommendation: {rec.task} ≥ {pct(rec.request.target_accuracy)} at {OBJECTIVE_WORDS[rec.objective]}"
    limits = ", ".join(_budget_words(rec.request)) or "the constraints"
    return f"Recommendation: the best {rec.task} accuracy within {limits}"


def _budget_words(request) -> list[str]:
    out = []
    b = request.budgets
    if "usd_per_1k_queries" in b:
        out.append(f"${b['usd_per_1k_queries']:g} per 1k queries")
    if "flops_per_query" in b:
        out.append(f"{b['flops_per_query']:.3g} FLOPs per query")
    if "gpu_seconds_per_query" in b:
        out.append(f"{b['gpu_seconds_per_query']:g} device-seconds per query")
    if request.max_latency_s is not None:
        out.append(f"{request.max_latency_s:g} s per query")
    return out


def detail_rows(rec) -> list[list[str]]:
    c = rec.best
    rm = f" (+ reward model on {c.reward_devices} device{'s' if c.reward_devices != 1 else ''})" if c.reward_devices else ""
    return [
        ["model", f"{_model(c)}, {c.params / 1e9:.2f} B parameters"],
        ["precision", c.precision],
        ["method", _method(c) + rm],
        ["hardware", f"{c.hardware} × {c.devices} (generator tensor-parallel {c.tp}{', reward model ' + str(c.reward_devices) if c.reward_devices else ''})"],
        ["predicted accuracy", f"{pct(c.accuracy)} (95 % interval {interval(c)})"],
        ["cost", "n/a (no price)" if c.cost_usd_per_query is None else f"{usd(c.cost_usd_per_query)} per query, {usd(c.cost_usd_per_1k_queries)} per 1k queries"],
        ["latency", f"{seconds(c.latency_s)} end to end; TTFT {seconds(c.ttft_s)}"],
        ["energy", f"{c.energy_j_per_query:,.4g} J per query"],
        ["FLOPs", f"{c.flops_per_query:.3g} per query"],
        ["device-seconds", f"{c.device_seconds_per_query:.4g} per query ({rec.counting} counting)"],
        ["searched", f"{rec.n_candidates:,} candidates, {rec.n_feasible:,} meet every constraint"],
    ]


def frontier_rows(points, objective: str) -> list[list[str]]:
    return [[pct(c.accuracy), interval(c), objective_text(c, objective), _model(c), c.precision, c.method,
             str(c.samples), c.hardware, str(c.devices), seconds(c.latency_s),
             "n/a" if c.cost_usd_per_1k_queries is None else usd(c.cost_usd_per_1k_queries)] for c in points]


def runners_up(rec) -> list:
    """Frontier points around the recommendation (the best excluded)."""
    points = list(rec.frontier)
    if rec.best is None:
        return points[-RUNNERS_UP:]
    keys = [(c.model, c.law_model, c.precision, c.method, c.samples, c.hardware, c.tp) for c in points]
    key = (rec.best.model, rec.best.law_model, rec.best.precision, rec.best.method, rec.best.samples, rec.best.hardware, rec.best.tp)
    if key in keys:
        at = keys.index(key)
    else:  # the best lies between frontier points (e.g. budget mode ties): nearest by accuracy
        at = min(range(len(points)), key=lambda i: abs(points[i].accuracy - rec.best.accuracy)) if points else 0
    return [c for c in points[max(0, at - RUNNERS_UP): at + RUNNERS_UP + 1] if c != rec.best]


def findings(rec) -> list[str]:
    """The lines under the recommendation: binding constraint, infeasibility, alternatives, counting."""
    out = []
    if rec.best is None and rec.mode != "frontier":
        r = rec.best_reachable
        if r is None:
            out.append("No candidate meets the constraints (see the warnings).")
        else:
            out.append(f"No candidate reaches {pct(rec.request.target_accuracy)}: the best within the constraints is "
                       f"{r.label} at {pct(r.accuracy)} ({interval(r)}).")
    for line in rec.binding:
        out.append(f"Binding: {line}")
    for alt in rec.alternatives:
        out.append(f"{alt.title}: {alt.candidate.label if alt.candidate else '-'}: {alt.why}")
    if rec.counting_note:
        out.append(f"Counting: {rec.counting_note}")
    return out


# ---------------------------------------------------------------------------------------------
# JSON


def candidate_dict(c) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "model": c.model, "law_model": c.law_model, "params": c.params, "extrapolated": c.extrapolated, "precision": c.precision,
        "method": c.method, "samples": c.samples, "hardware": c.hardware, "tp": c.tp, "devices": c.devices,
        "reward_model_devices": c.reward_devices, "accuracy": c.accuracy, "accuracy_lower": c.accuracy_lower,
        "accuracy_upper": c.accuracy_upper, "cost_usd_per_query": c.cost_usd_per_query,
        "cost_usd_per_1k_queries": c.cost_usd_per_1k_queries, "latency_s": c.latency_s, "ttft_s": c.ttft_s,
        "energy_j_per_query": c.energy_j_per_query, "flops_per_query": c.flops_per_query,
        "device_seconds_per_query": c.device_seconds_per_query,
    }


def as_dict(rec) -> dict[str, Any]:
    r = rec.request
    return envelope({
        "task": rec.task, "law": rec.law_id, "mode": rec.mode, "objective": rec.objective, "counting": rec.counting,
        "feasible": rec.best is not None if rec.mode != "frontier" else None,
        "request": {"target_accuracy": r.target_accuracy, "budgets": dict(r.budgets), "max_latency_s": r.max_latency_s,
                    "max_ttft_s": r.max_ttft_s, "max_devices": r.max_devices, "max_samples": r.max_samples,
                    "prompt_tokens": rec.prompt_tokens, "output_tokens": rec.output_tokens},
        "recommendation": candidate_dict(rec.best), "best_reachable": candidate_dict(rec.best_reachable),
        "frontier": [candidate_dict(c) for c in rec.frontier],
        "alternatives": [{"title": a.title, "candidate": candidate_dict(a.candidate), "why": a.why} for a in rec.alternatives],
        "binding": list(rec.binding), "counting_note": rec.counting_note,
        "n_candidates": rec.n_candidates, "n_feasible": rec.n_feasible,
        "warnings": list(rec.warnings), "assumptions": list(rec.assumptions), "provenance": list(rec.provenance),
    })


# ---------------------------------------------------------------------------------------------
# Renderers


def render(rec, fmt: str, width: int | None = None, color: bool = False) -> str:
    """`planner recommend`."""
    if fmt == "json":
        return to_json(as_dict(rec))
    head = title(rec)
    lines = findings(rec)
    others = runners_up(rec)
    if fmt == "markdown":
        parts = [f"## {head}\n\n"]
        if rec.best is not None:
            parts.append(markdown_table(["", "recommendation"], detail_rows(rec)))
        parts.append(markdown_notes("Findings", lines))
        if others:
            parts.append("\n**Runners-up on the frontier**\n\n" + markdown_table(FRONTIER_HEADER, frontier_rows(others, rec.objective), FRONTIER_NUMERIC))
        parts.append(markdown_notes("Warnings", rec.warnings))
        parts.append(markdown_notes("Assumptions", rec.assumptions))
        parts.append(markdown_notes("Provenance", rec.provenance))
        return "".join(parts)
    blocks: list[Any] = []
    if rec.best is not None:
        blocks.append(rich_table(head, ["", "recommendation"], detail_rows(rec), show_header=False))
    else:
        blocks.append(rich_table(head, ["finding"], [[lines[0]]] if lines else [["no candidate"]]))
        lines = lines[1:]
    if lines:
        blocks.append(rich_notes(lines))
    if others:
        blocks.append(rich_table("Runners-up on the frontier", FRONTIER_HEADER, frontier_rows(others, rec.objective), FRONTIER_NUMERIC))
    if rec.warnings:
        blocks.append(rich_notes([f"warning: {w}" for w in rec.warnings]))
    blocks.append(rich_notes(list(rec.assumptions) + list(rec.provenance)))
    return to_text(blocks, width, color)


def render_frontier(rec, fmt: str, width: int | None = None, color: bool = False) -> str:
    """`planner frontier`: the table and a text chart."""
    if fmt == "json":
        return to_json(as_dict(rec))
    head = title(rec)
    rows = frontier_rows(rec.frontier, rec.objective)
    chart = text_chart(rec.frontier, rec.objective)
    if fmt == "markdown":
        return (f"## {head}\n\n" + markdown_table(FRONTIER_HEADER, rows, FRONTIER_NUMERIC)
                + ("\n```text\n" + chart + "```\n" if chart else "")
                + markdown_notes("Warnings", rec.warnings) + markdown_notes("Assumptions", rec.assumptions)
                + markdown_notes("Provenance", rec.provenance))
    from rich.text import Text

    blocks: list[Any] = [rich_table(head, FRONTIER_HEADER, rows, FRONTIER_NUMERIC)]
    if chart:
        blocks.append(Text(chart))
    if rec.warnings:
        blocks.append(rich_notes([f"warning: {w}" for w in rec.warnings]))
    blocks.append(rich_notes(list(rec.assumptions) + list(rec.provenance)))
    return to_text(blocks, width, color)


def text_chart(points, objective: str, width: int = 64, height: int = 16) -> str:
    """Accuracy (y) against the objective (x, log scale) as characters: one '*' per frontier point."""
    pts = [(c.objective(objective), c.accuracy) for c in points if c.objective(objective)]
    if len(pts) < 2:
        return ""
    xs = [math.log10(x) for x, _ in pts]
    ys = [y for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 0.01
    grid = [[" "] * width for _ in range(height)]
    for x, y in zip(xs, ys):
        col = round((x - x0) / (x1 - x0) * (width - 1))
        row = height - 1 - round((y - y0) / (y1 - y0) * (height - 1))
        grid[row][col] = "*"
    label_w = 8
    lines = []
    for r, row in enumerate(grid):
        y = y1 - (y1 - y0) * r / (height - 1)
        label = f"{y * 100:5.1f} %" if r in (0, height // 2, height - 1) else ""
        lines.append(f"{label:>{label_w}} |" + "".join(row).rstrip())
    lines.append(" " * label_w + " +" + "-" * width)
    left, right = _axis_value(10 ** x0, objective), _axis_value(10 ** x1, objective)
    lines.append(" " * (label_w + 2) + left + " " * max(1, width - len(left) - len(right)) + right)
    lines.append(" " * (label_w + 2) + f"{OBJECTIVE_UNITS[objective]} (log scale) vs predicted accuracy")
    return "\n".join(lines) + "\n"


def _axis_value(x: float, objective: str) -> str:
    if objective == "cost":
        return f"${x:.3g}"
    if objective == "latency":
        return f"{x:.3g} s"
    if objective == "energy":
        return f"{x:.3g} J"
    return f"{x:.3g}"
