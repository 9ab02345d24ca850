"""CLI behaviour through typer's CliRunner: formats, exit codes, errors without tracebacks."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


BASE = ["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--prompt-tokens", "1024", "--output-tokens", "256"]


def test_estimate_json_has_the_documented_fields():
    result = run(*BASE, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("schema_version", "ttft_s", "tpot_s", "e2e_latency_s", "output_tokens_per_s", "total_tokens_per_s", "batch",
                "fits", "memory_bytes", "bound", "energy_j_per_output_token", "cost_usd_per_million_output_tokens"):
        assert key in data
    assert set(data["memory_bytes"]) >= {"weights", "kv_cache", "activations", "total", "capacity"}
    assert set(data["bound"]) == {"prefill", "decode"}
    assert data["profiles"] == {"model": "built-in", "hardware": "built-in", "engine": "built-in"}
    assert data["engine"] == "generic" and data["ep"] == 1 and data["attention_dp"] == 1
    band = data["band"]
    assert band["regime"] == "batch-1/single-device/datacenter" and band["calibration_rows"] >= 8
    assert band["ttft_s"][0] <= data["ttft_s"] * band["time_factor_high"] and band["ttft_s"][0] < band["ttft_s"][1]
    assert band["output_tokens_per_s"][0] < data["output_tokens_per_s"] * 1.5


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_every_format_states_the_band_and_the_energy_placeholder(fmt):
    result = run(*BASE, "--format", fmt)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "band" in text
    assert "placeholder" in text  # h100-sxm publishes no idle power


def test_engine_option_changes_fixed_costs_and_is_reported():
    generic = json.loads(run(*BASE, "--format", "json").stdout)
    trt = json.loads(run(*BASE, "--engine", "trtllm", "--format", "json").stdout)
    assert trt["engine"] == "trtllm"
    assert trt["decode_step"]["overhead_s"] != generic["decode_step"]["overhead_s"]
    bad = run(*BASE, "--engine", "trtlm")
    assert bad.exit_code == 2 and "did you mean 'trtllm'" in bad.output


def test_expert_parallel_layout_of_deepseek_v3():
    result = run("estimate", "-m", "deepseek-v3", "-H", "h200-sxm", "-p", "fp8", "--tp", "1", "--attention-dp", "8", "--ep", "8",
                 "--batch", "64", "--engine", "sglang", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["fits"] and data["devices"] == 8 and data["ep"] == 8 and data["attention_dp"] == 8


def test_tp_that_does_not_divide_the_heads_names_working_layouts():
    result = run("estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--tp", "3")
    assert result.exit_code == 2
    assert "layouts that work: tp ∈ {1, 2, 4, 8, 16, 32}" in result.output


def test_overrides_change_the_numbers_and_are_named_in_the_provenance():
    base = json.loads(run(*BASE, "--format", "json").stdout)
    over = json.loads(run(*BASE, "--usd-per-hour", "2", "--power-w", "350", "--compute-efficiency", "0.8",
                          "--bandwidth-efficiency", "0.95", "--format", "json").stdout)
    assert over["cost_usd_per_million_output_tokens"] < base["cost_usd_per_million_output_tokens"]
    assert over["tpot_s"] < base["tpot_s"] and over["energy_j_per_output_token"] < base["energy_j_per_output_token"]
    assert any("--usd-per-hour 2" in line for line in over["overrides"])
    md = run(*BASE, "--power-w", "350", "--format", "markdown").stdout
    assert "override --power-w 350" in md
    bad = run(*BASE, "--compute-efficiency", "1.5")
    assert bad.exit_code == 2 and "between 0 and 1" in bad.output


@pytest.mark.parametrize("fmt,suffix", [("json", "json"), ("markdown", "md"), ("table", "txt")])
def test_estimate_output_matches_golden_file(fmt, suffix):
    """Byte-identical output for the same inputs (regenerate with PLANNER_REGEN_GOLDEN=1 after a deliberate change)."""
    import os

    result = run(*BASE, "--format", fmt)
    assert result.exit_code == 0
    path = GOLDEN / f"estimate_llama31_8b_h100.{suffix}"
    if os.environ.get("PLANNER_REGEN_GOLDEN"):
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")
    assert run(*BASE, "--format", fmt).stdout == result.stdout


def test_markdown_is_plain_and_right_aligns_numbers(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("model,hardware,batch\nllama-3.1-8b,h100-sxm,8\nmistral-7b,a100-sxm-80gb,max\n")
    out = run("estimate", "--scenarios", csv, "--format", "markdown").stdout
    assert "\x1b[" not in out
    assert "---:" in out and "**Assumptions**" in out


def test_scenarios_keep_row_order_and_turn_bad_rows_into_errors(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("model,hardware,tp,batch,prompt_tokens,output_tokens\n"
                   "llama-3.1-8b,h100-sxm,,4,512,128\n"
                   "llama-3.1-8x,h100-sxm,1,1,512,128\n"
                   "llama-2-70b,h100-sxm,4,max,,\n"
                   "llama-3.1-8b,h100-sxm,1,1,0,128\n")
    result = run("estimate", "--scenarios", csv, "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["batch"] == 4 and rows[0]["tp"] == 1
    assert "did you mean" in rows[1]["error"]
    assert rows[2]["mode"] == "max-throughput" and rows[2]["prompt_tokens"] == 1024
    assert "prompt_tokens" in rows[3]["error"]
    assert "row 2" in result.stderr


def test_scenarios_with_an_unknown_column_is_an_input_error(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("model,hardware,promt_tokens\nllama-3.1-8b,h100-sxm,5\n")
    result = run("estimate", "--scenarios", csv)
    assert result.exit_code == 2
    assert "did you mean 'prompt_tokens'" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["estimate", "--model", "llama-3.1-8x", "--hardware", "h100-sxm"], "did you mean 'llama-3.1-8b'"),
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100"], "unknown hardware 'h100'"),
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--precision", "fp9"], "unknown precision"),
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--prompt-tokens", "0"], "prompt_tokens"),
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--batch", "lots"], "batch"),
    (["estimate", "--model", "llama-3.1-8b"], "--hardware"),
    (["profiles", "show", "nope-model"], "unknown"),
])
def test_bad_input_exits_2_with_one_clear_line(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_model_that_does_not_fit_is_a_result_not_an_error():
    result = run("estimate", "--model", "llama-3.1-405b", "--hardware", "l4", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["fits"] is False and data["shortfall_bytes"] > 0
    assert "does not fit" in result.stderr


def test_user_profile_overrides_builtin_and_is_named(tmp_path):
    from planner.files.catalog import bundled_dir

    (tmp_path / "hardware").mkdir()
    text = (bundled_dir() / "hardware" / "h100-sxm.yaml").read_text().replace("bandwidth: 3.35 TB/s", "bandwidth: 6.7 TB/s")
    (tmp_path / "hardware" / "h100-sxm.yaml").write_text(text)
    base = json.loads(run(*BASE, "--format", "json").stdout)
    for args, env in (([*BASE, "--profiles", tmp_path], None), (BASE, {"PLANNER_PROFILES": str(tmp_path)})):
        data = json.loads(run(*args, "--format", "json", env=env).stdout)
        assert data["profiles"]["hardware"].endswith("h100-sxm.yaml (overrides built-in)")
        assert data["tpot_s"] < base["tpot_s"]


def test_profiles_list_and_show(tmp_path):
    listing = json.loads(run("profiles", "list", "--format", "json").stdout)
    assert {"h100-sxm", "tpu-v5e", "apple-m2-ultra"} <= {h["id"] for h in listing["hardware"]}
    assert {"llama-3.1-8b", "deepseek-v3", "qwen3-30b-a3b"} <= {m["id"] for m in listing["model"]}
    shown = json.loads(run("profiles", "show", "deepseek-v3", "--format", "json").stdout)
    assert shown["kind"] == "model" and shown["derived"]["kv_cache_bytes_per_token_bf16"] == 70272
    assert "derived.params" in run("profiles", "show", "deepseek-v3", "--format", "markdown").stdout


def test_validate_builtin_profiles_passes():
    result = run("profiles", "validate")
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout


def test_validate_reports_every_problem_with_file_and_field(tmp_path):
    (tmp_path / "hardware").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "hardware" / "bad.yaml").write_text("kind: hardware\nid: bad\nname: x\nclass: datacenter-gpu\npeak_flops: {bf16: -3}\n"
                                                    "memory: {capacity: 80 GB, bandwith: 3 TB/s}\npower: 700 W\nefficiency: {}\nsources: {spec: x}\n")
    (tmp_path / "models" / "broken.yaml").write_text("kind: model\nid: broken\narchitecture: [1, 2\n")
    (tmp_path / "models" / "typed.yaml").write_text("kind: model\nid: typed\nname: t\narchitecture: {n_layers: many, hidden_size: 8, intermediate_size: 8, "
                                                    "n_heads: 2, vocab_size: 8, max_context: 8, colour: red}\nsources: {config: x}\n")
    result = run("profiles", "validate", tmp_path)
    assert result.exit_code == 2
    err = result.stderr
    assert "bad.yaml:5: field 'peak_flops.bf16'" in err  # file:line: field
    assert "bad.yaml:6: field 'memory.bandwith': unknown key; did you mean 'bandwidth'?" in err
    assert "bad.yaml:6: field 'memory.bandwidth': required field is missing" in err  # the line of its parent
    assert "broken.yaml:4: malformed YAML at line 4" in err
    assert "typed.yaml:4: field 'architecture.n_layers': expected an integer" in err
    assert "field 'architecture.colour': unknown key" in err
    assert "Traceback" not in result.output


def test_import_hf_writes_atomically_and_refuses_to_clobber(tmp_path):
    config = Path(__file__).parent / "data" / "hf"
    source = sorted(config.glob("*.json"))[0]
    out = tmp_path / "m.yaml"
    assert run("profiles", "import-hf", source, "--id", "m", "--out", out).exit_code == 0
    first = out.read_text()
    out.write_text(first + "# my notes\n")
    again = run("profiles", "import-hf", source, "--id", "m", "--out", out)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert out.read_text().endswith("# my notes\n")
    assert run("profiles", "import-hf", source, "--id", "m", "--out", out, "--force").exit_code == 0
    assert out.read_text() == first


def test_import_hf_bad_json_is_a_clear_error(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    result = run("profiles", "import-hf", bad, "--id", "x")
    assert result.exit_code == 2 and "malformed JSON" in result.stderr


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "planner", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "estimate" in proc.stdout


def test_scenarios_csv_takes_engine_ep_and_attention_dp_columns(tmp_path):
    csv = tmp_path / "scen.csv"
    csv.write_text("model,hardware,engine,tp,ep,attention_dp,precision,batch\n"
                   "deepseek-v3,h200-sxm,sglang,1,8,8,fp8,64\n"
                   "deepseek-v3,h200-sxm,sglang,3,,,fp8,64\n", encoding="utf-8")
    result = run("estimate", "--scenarios", csv, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["engine"] == "sglang" and rows[0]["ep"] == 8 and rows[0]["attention_dp"] == 8 and rows[0]["devices"] == 8
    assert "layouts that work" in rows[1]["error"]
