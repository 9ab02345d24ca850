"""`planner recommend` and `planner frontier` through the CLI: formats, exit codes, errors, golden files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden"
# A small space (two law models, two GPUs) keeps the golden files readable and the tests fast.
SMALL = ["--task", "math500", "--models", "llemma-7b,llemma-34b", "--hardware", "h100-sxm,a100-sxm-80gb"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("fmt,suffix", [("json", "json"), ("markdown", "md"), ("table", "txt")])
def test_recommend_output_matches_golden_file(fmt, suffix):
    """Byte-identical output for the same inputs (regenerate with PLANNER_REGEN_GOLDEN=1 after a deliberate change)."""
    result = run("recommend", *SMALL, "--target-accuracy", "45%", "--format", fmt)
    assert result.exit_code == 0, result.output
    path = GOLDEN / f"recommend_math500_45.{suffix}"
    if os.environ.get("PLANNER_REGEN_GOLDEN"):
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")
    assert run("recommend", *SMALL, "--target-accuracy", "45%", "--format", fmt).stdout == result.stdout


def test_recommend_json_has_the_documented_fields():
    data = json.loads(run("recommend", *SMALL, "-a", "0.4", "-f", "json").stdout)
    assert data["schema_version"] == 1 and data["mode"] == "target" and data["feasible"] is True
    best = data["recommendation"]
    for key in ("model", "precision", "method", "samples", "hardware", "tp", "devices", "accuracy", "accuracy_lower",
                "accuracy_upper", "cost_usd_per_query", "cost_usd_per_1k_queries", "latency_s", "ttft_s",
                "energy_j_per_query", "flops_per_query"):
        assert key in best
    assert best["accuracy"] >= 0.4 and data["frontier"] and data["assumptions"] and data["provenance"]


def test_infeasible_target_exits_1_and_still_shows_the_frontier():
    result = run("recommend", *SMALL, "--target-accuracy", "0.99", "-f", "markdown")
    assert result.exit_code == 1
    assert "No candidate reaches 99.0 %" in result.stdout and "Runners-up" in result.stdout


def test_budget_mode_in_markdown():
    result = run("recommend", *SMALL, "--budget-usd-per-1k-queries", "0.2", "-f", "markdown")
    assert result.exit_code == 0 and "within $0.2 per 1k queries" in result.stdout


def test_gsm8k_and_minimize_latency():
    result = run("recommend", "--task", "gsm8k", "--hardware", "h100-sxm", "-a", "0.85", "--minimize", "latency", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["objective"] == "latency"


def test_recommend_on_a_law_written_by_fit(tmp_path):
    csv = tmp_path / "evals.csv"
    rows = ["model,task,method,samples,accuracy"]
    for k, a in ((1, 0.30), (2, 0.34), (4, 0.37), (8, 0.39), (16, 0.40), (32, 0.41)):
        rows.append(f"llama-3.1-8b,mytask,majority,{k},{a}")
    csv.write_text("\n".join(rows) + "\n")
    law = tmp_path / "mylaw.yaml"
    assert run("fit", csv, "--out", law, "--task", "mytask").exit_code == 0
    result = run("recommend", "--law", law, "-a", "0.38", "--hardware", "h100-sxm", "--prompt-tokens", "200",
                 "--output-tokens", "300", "-f", "json")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["recommendation"]
    assert best["model"] == "llama-3.1-8b" and best["method"] == "majority" and best["samples"] >= 4


def test_frontier_prints_a_table_and_a_text_chart():
    result = run("frontier", *SMALL, "--minimize", "flops")
    assert result.exit_code == 0, result.output
    assert "*" in result.stdout and "(log scale)" in result.stdout and "frontier" in result.stdout


def test_frontier_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "f.svg"
    result = run("frontier", *SMALL, "--plot", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().lstrip().startswith("<?xml")
    again = run("frontier", *SMALL, "--plot", out)
    assert again.exit_code == 2 and "--force" in again.stderr


def test_frontier_plot_without_matplotlib_says_how_to_get_it(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = run("frontier", *SMALL, "--plot", tmp_path / "f.png")
    assert result.exit_code == 2 and "[plot]" in result.stderr and not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("args,message", [
    (["--task", "math50", "-a", "0.4"], "did you mean"),
    (["--task", "math500", "-a", "1.4"], "percentage"),
    (["--task", "math500", "-a", "140%"], "(0, 1]"),
    (["--task", "math500"], "give --target-accuracy"),
    (["--task", "math500", "-a", "0.4", "--budget-usd-per-1k-queries", "1"], "not both"),
    (["-a", "0.4"], "--task LAW"),
    (["--task", "math500", "-a", "0.4", "--models", "lemma-7b"], "did you mean"),
    (["--task", "math500", "-a", "0.4", "--methods", "rebse"], "did you mean"),
    (["--task", "math500", "-a", "0.4", "--minimize", "money"], "--minimize"),
    (["--task", "math500", "-a", "0.4", "--max-latency-s", "fast"], "expected a number"),
    (["--law", "/nonexistent/law.yaml", "-a", "0.4"], "does not exist"),
])
def test_bad_input_exits_2_with_one_clear_line(args, message):
    result = run("recommend", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert result.stderr.startswith("Error: ")
