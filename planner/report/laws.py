"""Scaling laws and predictions (`planner fit`, `laws list|show`, `predict`)."""

from __future__ import annotations

from planner.report.common import (
    envelope,
    markdown_notes,
    markdown_table,
    rich_notes,
    rich_table,
    to_json,
    to_text,
)


def render_law(law, fmt: str, width: int | None = None, color: bool = False, *, source: str | None = None,
               file: str | None = None) -> str:
    """One law: fits, parameters with intervals, fit quality, coverage and sources. ``source``: where it was read
    from; ``file``: where `planner fit` wrote it."""
    summary = law_summary(law)
    if source is not None:
        summary["file_source"] = source
    if fmt == "json":
        return to_json(envelope(({"file": file} if file else {}) | summary))
    rows = [list(r) for r in law_rows(summary)]
    if fmt == "markdown":
        return f"## Scaling law `{summary['id']}`\n\n" + markdown_table(["field", "value"], rows)
    return to_text([rich_table(f"Scaling law {summary['id']}", ["field", "value"], rows)], width, color)


def render_law_list(entries, fmt: str, width: int | None = None, color: bool = False) -> str:
    """``entries``: (law, source) pairs."""
    items = []
    for law, source in entries:
        summary = law_summary(law)
        items.append({k: summary[k] for k in ("id", "task", "models", "methods", "k_range", "extrapolated")} | {"source": source})
    if fmt == "json":
        return to_json(envelope({"laws": items}))
    header, rows, numeric = laws_list_rows(items)
    if fmt == "markdown":
        return "## Scaling laws\n\n" + markdown_table(header, rows, numeric)
    return to_text([rich_table("Scaling laws", header, rows, numeric)], width, color)


def render_predictions(result, fmt: str, width: int | None = None, color: bool = False) -> str:
    """``result``: an ``accuracy.laws.PredictionTable``."""
    predictions = result.predictions
    if fmt == "json":
        return to_json(envelope({"law": result.law_id, "task": result.task, "method": result.method,
                                 "precision": result.precision, "predictions": [prediction_to_dict(p) for p in predictions],
                                 "warnings": list(result.warnings), "assumptions": list(result.assumptions)}))
    title = f"Predicted {result.task} accuracy: {result.method}"
    header, rows, numeric = prediction_rows(predictions)
    if fmt == "markdown":
        return (f"## {title}\n\n" + markdown_table(header, rows, numeric) + markdown_notes("Warnings", result.warnings)
                + markdown_notes("Assumptions", result.assumptions))
    parts = [rich_table(title, header, rows, numeric)]
    if result.warnings:
        parts.append(rich_notes([f"warning: {w}" for w in result.warnings]))
    parts.append(rich_notes(result.assumptions))
    return to_text(parts, width, color)


def law_summary(law) -> dict:
    """A law's provenance and fit quality, JSON-safe."""
    fits = {}
    for fid, f in sorted(law.fits.items()):
        r = f.result
        fits[fid] = {
            "form": r.form,
            "n_points": r.n_points,
            "rmse": r.rmse,
            "success": r.success,
            "published": f.published,
            "params": dict(sorted(r.params.items())),
            "intervals": {k: list(v) for k, v in sorted(r.intervals.items())},
            "k_range": list(r.k_range),
            "models": list(r.models),
            "warnings": list(r.warnings),
            "heldout_error_points": dict(sorted(f.heldout_error_pts.items())),
            "chosen_because": f.chosen_because,
        }
    return {
        "id": law.id,
        "task": law.task,
        "description": law.description,
        "models": sorted(law.models),
        "default_model": law.default_model,
        "methods": {m: (e.fit or f"as {e.derived_from}") for m, e in sorted(law.methods.items())},
        "fits": fits,
        "k_range": list(law.k_range),
        "params_range_b": list(law.params_range_b) if law.params_range_b else None,
        "extrapolated": law.extrapolated,
        "accuracy_scale": law.accuracy_scale,
        "n_data_points": len(law.points),
        "sources": dict(sorted(law.sources.items())),
        "model_details": {mid: {"name": m.name, "profile": m.profile, "params_b": m.params_b, "anchor_accuracy": m.anchor_accuracy}
                          for mid, m in sorted(law.models.items())},
        "workload": None if law.workload is None else {
            "prompt_tokens": law.workload.prompt_tokens, "output_tokens": law.workload.output_tokens, "source": law.workload.source},
    }


def law_rows(summary: dict) -> list[tuple[str, str]]:
    rows = [("id", summary["id"]), ("task", summary["task"]), ("description", summary["description"]),
            ("models", ", ".join(summary["models"])), ("default model", summary["default_model"]),
            ("k covered", f"{summary['k_range'][0]}–{summary['k_range'][1]}"),
            ("data points", str(summary["n_data_points"])), ("extrapolated", "yes" if summary["extrapolated"] else "no")]
    for mid, d in summary.get("model_details", {}).items():
        size = f"{d['params_b']:.4g} B" if d["params_b"] is not None else "size unknown"
        runs = f"runs as {d['profile']}" if d["profile"] else "no catalog profile"
        anchor = f", single-sample {d['anchor_accuracy'] * 100:.1f} %" if d["anchor_accuracy"] is not None else ""
        rows.append((f"model {mid}", f"{d['name']}: {size}, {runs}{anchor}"))
    if summary.get("workload"):
        w = summary["workload"]
        rows.append(("workload", f"{w['prompt_tokens']:g} prompt + {w['output_tokens']:g} output tokens per sample ({w['source']})"))
    for m, fit in summary["methods"].items():
        rows.append((f"method {m}", fit))
    for fid, f in summary["fits"].items():
        params = ", ".join(f"{k} {v:.4g} [{f['intervals'][k][0]:.4g}, {f['intervals'][k][1]:.4g}]" if k in f["intervals"] else f"{k} {v:.4g}"
                           for k, v in f["params"].items())
        quality = f"{f['form']}: n={f['n_points']}, RMSE {f['rmse'] * 100:.2f} pts" + (" (published parameters)" if f["published"] else "")
        if f["heldout_error_points"]:
            quality += "; held-out mean |error| " + ", ".join(f"{k} {v:.2f} pts" for k, v in f["heldout_error_points"].items())
        rows.append((f"fit {fid}", quality))
        rows.append((f"fit {fid} parameters", params))
        if f.get("chosen_because"):
            rows.append((f"fit {fid} chosen because", f["chosen_because"]))
        for w in f["warnings"]:
            rows.append((f"fit {fid} warning", w))
    for key, src in summary["sources"].items():
        rows.append((f"source {key}", src))
    return rows


def laws_list_rows(items: list[dict]) -> tuple[list[str], list[list[str]], set[int]]:
    header = ["id", "task", "models", "methods", "k range", "extrapolated", "source"]
    rows = [[d["id"], d["task"], ", ".join(d["models"]), ", ".join(d["methods"]), f"{d['k_range'][0]}–{d['k_range'][1]}",
             "yes" if d["extrapolated"] else "no", d["source"]] for d in items]
    return header, rows, set()


def prediction_to_dict(p) -> dict:
    return {"samples": p.samples, "accuracy": p.accuracy, "lower": p.lower, "upper": p.upper, "extrapolated": p.extrapolated,
            "method": p.method, "model": p.model, "form": p.form, "warnings": list(p.warnings)}


def prediction_rows(predictions) -> tuple[list[str], list[list[str]], set[int]]:
    header = ["samples", "accuracy", "95% interval", "extrapolated"]
    rows = [[str(p.samples), f"{p.accuracy * 100:.1f} %", f"{p.lower * 100:.1f}–{p.upper * 100:.1f} %", "yes" if p.extrapolated else "no"]
            for p in predictions]
    return header, rows, {0, 1}


