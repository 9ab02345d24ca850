"""`planner check` and `planner schema` through the CLI: exit codes, every format, JUnit XML, GitHub annotation lines, goldens."""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.capacity.check import MAX, MIN, CheckResult, PlanCheck, Verdict
from planner.cli.app import app
from planner.errors import ProfileError
from planner.files.plans import json_schema
from planner.report import capacity as report

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()

PASSING = """\
workload:
  requests_per_second: 1
  prompt_tokens: 500
  output_tokens: 100
slo:
  ttft_p99_s: 5 s
deployment:
  hardware: h100-sxm
  model: llama-3.1-8b
budget:
  usd_per_month: 10000
"""
FAILING = PASSING.replace("usd_per_month: 10000", "usd_per_month: 10").replace("ttft_p99_s: 5 s", "ttft_p99_s: 1 us")
INVALID = PASSING.replace("  model: llama-3.1-8b\n", "  model: llama-3.1-8b\n  tp: many\n").replace("slo:", "sol:")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def plans(tmp_path):
    out = {}
    for name, text in (("pass", PASSING), ("fail", FAILING), ("invalid", INVALID)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        out[name] = path
    return out


@pytest.mark.parametrize("names,code", [(["pass"], 0), (["fail"], 1), (["pass", "fail"], 1), (["invalid"], 2),
                                        (["pass", "fail", "invalid"], 2)])
def test_exit_codes(plans, names, code):
    result = run("check", *[plans[n] for n in names])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_invalid_plan_reports_every_problem_on_stderr_with_lines(plans):
    result = run("check", plans["invalid"])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2
    assert any(f"{plans['invalid']}:5: field 'sol'" in e and "did you mean 'slo'" in e for e in errors)
    assert any(f"{plans['invalid']}:10: field 'deployment.tp'" in e for e in errors)


def test_missing_file_is_invalid(tmp_path):
    result = run("check", tmp_path / "none.yaml")
    assert result.exit_code == 2 and "none.yaml" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "junit", "github"])
def test_every_format_runs_and_is_deterministic(plans, fmt):
    args = ("check", plans["pass"], plans["fail"], "--format", fmt)
    first, second = run(*args), run(*args)
    assert first.exit_code == 1
    assert first.stdout == second.stdout and first.stdout.strip()
    assert "\x1b[" not in first.stdout


def test_json_output(plans):
    data = json.loads(run("check", plans["pass"], plans["fail"], plans["invalid"], "-f", "json").stdout)
    assert data["schema_version"] == 1 and data["passed"] is False and data["valid"] is False
    statuses = [p["status"] for p in data["plans"]]
    assert statuses == ["PASS", "FAIL", "INVALID"]
    failing = {c["check"]: c for c in data["plans"][1]["checks"]}
    assert failing["budget.usd_per_month"]["status"] == "FAIL" and failing["budget.usd_per_month"]["line"] == 11
    assert failing["budget.usd_per_month"]["headroom"] < 0
    assert {p["line"] for p in data["plans"][2]["problems"]} == {5, 10}


def test_junit_parses_with_one_testcase_per_check(plans):
    out = run("check", plans["pass"], plans["fail"], plans["invalid"], "-f", "junit").stdout
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(plans["pass"]), str(plans["fail"]), str(plans["invalid"])]
    fail_suite = suites[1]
    cases = fail_suite.findall("testcase")
    assert int(fail_suite.get("tests")) == len(cases) == 3  # memory, ttft, budget
    failures = {c.get("name"): c for c in cases if c.find("failure") is not None}
    assert set(failures) == {"slo.ttft_p99_s", "budget.usd_per_month"}
    assert failures["budget.usd_per_month"].get("line") == "11"
    assert int(root.get("failures")) == 2 and int(root.get("errors")) == 2
    assert all(c.find("error") is not None for c in suites[2].findall("testcase"))


def test_github_annotations_point_at_the_failing_lines(plans):
    out = run("check", plans["fail"], plans["invalid"], "-f", "github").stdout.splitlines()
    errors = [line for line in out if line.startswith("::error ")]
    lines = {line.split("line=")[1].split(",")[0] for line in errors}
    assert lines == {"6", "11", "5", "10"}
    fail_file = str(plans["fail"]).replace(":", "%3A").replace(",", "%2C")
    assert any(line.startswith(f"::error file={fail_file},line=11,") and "budget.usd_per_month" in line for line in errors)
    assert any(line.startswith("::notice ") and "FAIL" in line for line in out)


def test_examples_pass(tmp_path):
    result = run("check", *sorted(EXAMPLES.glob("*.yaml")), "-f", "json")
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert len(data["plans"]) == 4 and data["passed"]


def test_schema_command_prints_the_generated_schema():
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()


# -- golden files for the report formats (a fixed result: no physics, so only rendering changes them) --------


def fixed_result() -> CheckResult:
    ok = PlanCheck(
        path="capacity/chat.yaml",
        verdicts=(
            Verdict(check="memory per device", field="deployment.hardware", line=14, predicted=28.4e9, limit=80e9,
                    unit="bytes", direction=MAX, note="weights, one request's KV cache, activations and the runtime reserve"),
            Verdict(check="slo.ttft_p99_s", field="slo.ttft_p99_s", line=9, predicted=0.412, limit=2.0, unit="s", direction=MAX),
            Verdict(check="slo.accuracy", field="slo.accuracy", line=8, predicted=0.408, limit=0.40, unit="fraction",
                    direction=MIN, interval=(0.375, 0.442), note="math500: best-of-n k=16; the interval straddles the limit"),
            Verdict(check="budget.usd_per_month", field="budget.usd_per_month", line=20, predicted=33113.0, limit=40000.0,
                    unit="USD/month", direction=MAX),
        ),
        figures={"devices": 12, "load_multiplier": 16.0, "peak_requests_per_second": 20.0, "saturation_rps": 42.9,
                 "goodput_rps": 20.0, "utilisation_at_peak": 0.466, "monthly_cost_usd": 33113.0, "energy_per_query_j": 840.0,
                 "latency_model": "fixed"},
        warnings=("a warning, with a comma: and a colon",),
        assumptions=("an assumption",),
    )
    failing = PlanCheck(
        path="capacity/batch.yaml",
        verdicts=(Verdict(check="slo.e2e_p99_s", field="slo.e2e_p99_s", line=7, predicted=float("inf"), limit=120.0,
                          unit="s", direction=MAX, note="100% busy"),),
        figures={"devices": 2},
    )
    invalid = PlanCheck(path="capacity/bad.yaml", problems=(
        ProfileError("capacity/bad.yaml", "deployment.tpp", "unknown key; did you mean 'tp'?", line=12),
        ProfileError("capacity/bad.yaml", None, "malformed YAML at line 3, column 1: found a tab", line=3)))
    return CheckResult(plans=(ok, failing, invalid))


@pytest.mark.parametrize("fmt,suffix", [("table", "txt"), ("markdown", "md"), ("json", "json"), ("junit", "xml"),
                                        ("github", "github.txt")])
def test_report_formats_match_golden_files(fmt, suffix):
    """Regenerate with PLANNER_REGEN_GOLDEN=1 after a deliberate change of the capacity report."""
    text = report.render(fixed_result(), fmt)
    path = GOLDEN / f"check_fixed.{suffix}"
    if os.environ.get("PLANNER_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_github_escaping():
    out = report.render(fixed_result(), "github")
    assert "100%25 busy" in out
    assert "::warning file=capacity/chat.yaml,line=8," in out  # the straddling accuracy
    assert "a warning, with a comma: and a colon" in out  # message text keeps , and :


# -- planner plan ------------------------------------------------------------------------------------

DRAFT = """\
workload:
  requests_per_second: 4
  peak_factor: 2
  prompt_tokens: {mean: 800, p99: 3000}
  output_tokens: 200
slo:
  ttft_p99_s: 2 s
  e2e_p99_s: 30 s
  min_headroom: 0.2
deployment:
  model: llama-3.1-8b
budget:
  usd_per_month: 20000
"""


def test_plan_writes_a_plan_that_check_passes(tmp_path):
    draft, out = tmp_path / "draft.yaml", tmp_path / "plan.yaml"
    draft.write_text(DRAFT)
    result = run("plan", draft, "--out", out, "--hardware", "h100-sxm,a100-sxm-80gb")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and result.stdout == ""
    text = out.read_text()
    assert text.startswith("# Written by `planner plan`")
    assert "# predicted" in text and "hardware:" in text and "replicas:" in text
    checked = run("check", out, "-f", "json")
    assert checked.exit_code == 0, checked.stdout
    # the comments carry the same predictions as the check
    assert json.loads(checked.stdout)["plans"][0]["passed"]


def test_plan_refuses_to_overwrite_without_force(tmp_path):
    draft, out = tmp_path / "draft.yaml", tmp_path / "plan.yaml"
    draft.write_text(DRAFT)
    out.write_text("keep me\n")
    result = run("plan", draft, "--out", out, "-H", "h100-sxm")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_text() == "keep me\n"
    assert run("plan", draft, "--out", out, "-H", "h100-sxm", "--force").exit_code == 0
    assert out.read_text().startswith("# Written by")


def test_plan_to_stdout_is_deterministic(tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT)
    a, b = run("plan", draft, "-H", "h100-sxm"), run("plan", draft, "-H", "h100-sxm")
    assert a.exit_code == 0 and a.stdout == b.stdout and "hardware: h100-sxm" in a.stdout


def test_plan_infeasible_exits_1_and_invalid_exits_2(tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT.replace("ttft_p99_s: 2 s", "ttft_p99_s: 1 us"))
    result = run("plan", draft, "-H", "h100-sxm", "--max-replicas", "3")
    assert result.exit_code == 1 and "no deployment meets every objective" in result.stderr and result.stdout == ""
    draft.write_text(DRAFT.replace("usd_per_month", "usd_per_mnth"))
    result = run("plan", draft)
    assert result.exit_code == 2 and ":13: field 'budget.usd_per_mnth'" in result.stderr
    draft.write_text(DRAFT)
    result = run("plan", draft, "-H", "h100-sxn")
    assert result.exit_code == 2 and "h100-sxm" in result.stderr


def test_plan_task_option_runs_the_model_search(tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text("workload:\n  requests_per_second: 1\n  prompt_tokens: 200\n  output_tokens: 270\n"
                     "slo:\n  accuracy: 40%\n  e2e_p99_s: 60 s\ndeployment:\n  hardware: h100-sxm\n")
    result = run("plan", draft, "--task", "math500", "--max-replicas", "4")
    assert result.exit_code == 0, result.output
    assert "task: math500" in result.stdout and "model:" in result.stdout and "Model search:" in result.stdout
    assert run("plan", draft, "--task", "math5000").exit_code == 2


def test_check_reads_a_law_file_relative_to_the_plan(tmp_path):
    from planner.files.catalog import bundled_dir

    (tmp_path / "laws").mkdir()
    (tmp_path / "laws" / "my-law.yaml").write_text((bundled_dir() / "laws" / "math500.yaml").read_text())
    plan = tmp_path / "tutor.yaml"
    plan.write_text(PASSING.replace("  output_tokens: 100\n", "  output_tokens: 100\n  law: laws/my-law.yaml\n")
                    .replace("slo:\n", "slo:\n  accuracy: 0.2\n"))
    data = json.loads(run("check", plan, "-f", "json").stdout)
    checks = {c["check"]: c for c in data["plans"][0]["checks"]}
    assert "slo.accuracy" in checks and checks["slo.accuracy"]["interval"] is not None
    plan.write_text(plan.read_text().replace("laws/my-law.yaml", "laws/none.yaml"))
    result = run("check", plan)
    assert result.exit_code == 2 and "none.yaml" in result.stderr


def test_plan_keeps_a_law_file_reachable_from_the_written_plan(tmp_path):
    from planner.files.catalog import bundled_dir

    (tmp_path / "laws").mkdir()
    (tmp_path / "capacity").mkdir()
    (tmp_path / "laws" / "my-law.yaml").write_text((bundled_dir() / "laws" / "math500.yaml").read_text())
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT.replace("  output_tokens: 200\n", "  output_tokens: 200\n  law: laws/my-law.yaml\n")
                     .replace("slo:\n", "slo:\n  accuracy: 0.2\n"))
    out = tmp_path / "capacity" / "plan.yaml"
    result = run("plan", draft, "--out", out, "-H", "h100-sxm")
    assert result.exit_code == 0, result.output
    assert "law: ../laws/my-law.yaml" in out.read_text()
    assert run("check", out).exit_code == 0
