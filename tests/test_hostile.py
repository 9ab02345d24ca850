"""Hostile input (issue #11): generated and hand-made bad files, values and streams through the planner.

Every case asserts the same contract: the exit code is 0, 1 or 2; nothing says `internal error` or
prints a traceback; no case runs past its deadline; files outside `--out` are untouched; no NaN or
inf reaches any output. Explicit cases cover each reproduction of the issue by class; hypothesis
strategies generate profiles, scenario CSVs and argument values (derandomised, so CI is repeatable).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli.app import app
from planner.errors import PlannerError
from planner.files.catalog import Catalog, bundled_dir
from planner.files.disk import read_yaml
from planner.files.hardware import parse_hardware
from planner.files.models import parse_model
from planner.scenarios import ScenarioRequest, evaluate_one

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = bundled_dir()
CASE_SECONDS = 10  # no single case may take longer (a hang is a failure, not a stuck CI job)
NON_FINITE = re.compile(r"(?<![A-Za-z_])-?(nan|inf|infinity)(?![A-Za-z_])", re.IGNORECASE)
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class CaseTimeout(BaseException):
    """Raised by the per-case alarm; a BaseException so no `except Exception` in the code under test hides it."""


@contextlib.contextmanager
def deadline(seconds: float = CASE_SECONDS):
    def fire(signum, frame):
        raise CaseTimeout(f"case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


runner = CliRunner()


def invoke(*args, env=None):
    """Run the CLI in-process under the case deadline and check the contract every case shares."""
    with deadline():
        result = runner.invoke(app, [str(a) for a in args], env=env)
    check_contract(result.exit_code, result.stdout, result.stderr, exception=result.exception)
    return result


def check_contract(code: int, stdout: str, stderr: str, exception: BaseException | None = None) -> None:
    if exception is not None and not isinstance(exception, SystemExit):
        raise AssertionError(f"uncaught {type(exception).__name__}: {exception}") from exception
    assert code in (0, 1, 2), (code, stderr[-500:])
    assert "internal error" not in stderr, stderr[-500:]
    assert "Traceback" not in stdout + stderr, stderr[-2000:]
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
        assert errors, f"exit 2 without an 'Error: ...' line: {stderr[-500:]!r}"
        assert all(len(line) < 1000 for line in errors), "an error message echoes a huge value"
    assert not non_finite(stdout), f"non-finite number in the output: {non_finite(stdout)}"


def non_finite(stdout: str) -> str | None:
    """A NaN or infinite number in the output, if any: JSON is parsed strictly; in text, user input echoed in
    quotes or in an error row (an unknown model called 'nan') is not a number the planner computed."""
    def refuse(name):
        raise ValueError(name)

    try:
        json.loads(stdout, parse_constant=refuse)
        return None
    except ValueError as exc:
        if str(exc) in ("NaN", "Infinity", "-Infinity"):
            return str(exc)
    for line in stdout.splitlines():
        if "error" not in line.lower():
            found = NON_FINITE.search(QUOTED.sub("", line))
            if found:
                return f"{found.group(0)} in {line.strip()[:200]!r}"
    return None


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def profile_dir(tmp: Path, kind: str, name: str, data) -> Path:
    """A --profiles folder holding one profile file (``data``: a mapping, or YAML text)."""
    sub = tmp / ("models" if kind == "model" else kind)
    sub.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (sub / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp


def builtin(kind: str, name: str) -> dict:
    return dict(read_yaml(BUILTIN / ("models" if kind == "model" else kind) / f"{name}.yaml"))


# ---------------------------------------------------------------------------------------------
# Strategies: hostile values, profiles, CSV cells, argument values


def hostile_numbers() -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from([0, -1, 1, 2, 1e-300, -1e-300, 1e300, 1.7e308, 10**20, 10**400, 2**63, 0.5, 1.0000001, 3]),
        st.integers(min_value=-10**6, max_value=10**9),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["1e400", "nan", "inf", "-5 GB", "3.35 TB/s", "989 TFLOP/s", "80 GB", "700 W", "20 ms", "abc",
                         "1e-300 TB/s", "9" * 400, "²", "0x10", "", "  7  ", "1_000"]),
    )


def hostile_values() -> st.SearchStrategy:
    return st.one_of(
        hostile_numbers(),
        st.sampled_from([None, True, False, [], {}, [1, 2], {"a": 1}, "x" * 5000, "2024-01-01"]),
    )


def plausible(lo: float, hi: float, integer: bool = False) -> st.SearchStrategy:
    """Values inside the valid range [lo, hi] (log-uniform, edges included) and just outside it."""
    lo_e, hi_e = math.log10(max(lo, 1e-6)), math.log10(hi)

    def value(e: float):
        x = 10.0**e
        return round(x) if integer else x

    edges = [lo, hi, hi * 10, max(lo, 1e-6) / 10] + ([0] if lo == 0 else [])
    return st.one_of(st.floats(min_value=lo_e, max_value=hi_e).map(value), st.sampled_from([int(x) if integer else x for x in edges]))


# Field path -> (low, high, integer): the documented valid range, around which values are generated.
HARDWARE_FIELDS = {
    ("peak_flops", "bf16"): (1e9, 1e18, False), ("peak_flops", "fp8"): (1e9, 1e18, False),
    ("peak_flops", "fp16"): (1e9, 1e18, False), ("memory", "capacity"): (1e6, 1e14, False),
    ("memory", "bandwidth"): (1e6, 1e15, False), ("memory", "reserve"): (0, 1e11, False),
    ("memory", "usable_fraction"): (1e-3, 1, False), ("interconnect", "intra_node_bandwidth"): (0, 1e15, False),
    ("interconnect", "inter_node_bandwidth"): (0, 1e15, False), ("interconnect", "devices_per_node"): (1, 100_000, True),
    ("power",): (0.1, 1e5, False), ("price", "usd_per_hour"): (0, 1e4, False), ("efficiency", "compute", "default"): (1e-3, 1, False),
    ("efficiency", "memory_bandwidth"): (1e-3, 1, False), ("efficiency", "compute_half_tokens", "default"): (0, 1e7, False),
    ("efficiency", "dequant_bandwidth"): (1e-3, 1, False), ("efficiency", "interconnect"): (1e-3, 1, False),
    ("idle_power",): (0, 1e5, False),
}
MODEL_FIELDS = {
    ("n_layers",): (1, 10_000, True), ("hidden_size",): (1, 10**7, True), ("intermediate_size",): (1, 10**7, True),
    ("n_heads",): (1, 100_000, True), ("n_kv_heads",): (1, 100_000, True), ("head_dim",): (1, 10**7, True),
    ("vocab_size",): (1, 10**8, True), ("max_context",): (1, 10**9, True), ("sliding_window",): (0, 10**9, True),
    ("n_sliding_layers",): (0, 10_000, True), ("moe", "n_experts"): (1, 100_000, True), ("moe", "n_active"): (1, 100_000, True),
    ("moe", "expert_intermediate_size"): (1, 10**7, True), ("moe", "n_shared_experts"): (0, 100_000, True),
    ("moe", "shared_intermediate_size"): (0, 10**7, True), ("moe", "n_dense_layers"): (0, 10_000, True),
    ("mla", "kv_lora_rank"): (1, 10**7, True), ("mla", "qk_rope_head_dim"): (1, 10**7, True),
    ("mla", "qk_nope_head_dim"): (1, 10**7, True), ("mla", "v_head_dim"): (1, 10**7, True), ("mla", "q_lora_rank"): (0, 10**7, True),
}
HARDWARE_BASES = ["h100-sxm", "a100-pcie-80gb", "snapdragon-8-elite", "tpu-v5e"]
MODEL_BASES = ["llama-3.1-8b", "deepseek-v3", "gemma-2-9b", "mixtral-8x7b"]


def _set(data: dict, path: tuple[str, ...], value) -> None:
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def field_values(lo: float, hi: float, integer: bool) -> st.SearchStrategy:
    """Mostly plausible values around the valid range; one draw in four is hostile."""
    near = plausible(lo, hi, integer)
    return st.one_of(near, near, near, hostile_values())


@st.composite
def hardware_profiles(draw) -> dict:
    data = copy.deepcopy(builtin("hardware", draw(st.sampled_from(HARDWARE_BASES))))
    for path in draw(st.lists(st.sampled_from(sorted(HARDWARE_FIELDS)), min_size=1, max_size=3, unique=True)):
        _set(data, path, draw(field_values(*HARDWARE_FIELDS[path])))
    data["id"] = "x"
    return data


@st.composite
def model_profiles(draw) -> dict:
    data = copy.deepcopy(builtin("model", draw(st.sampled_from(MODEL_BASES))))
    arch = data["architecture"]
    fields = sorted(f for f in MODEL_FIELDS if len(f) == 1 or isinstance(arch.get(f[0]), dict))  # blocks the base has
    for path in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        _set(data["architecture"], path, draw(field_values(*MODEL_FIELDS[path])))
    data["id"] = "x"
    return data


ARGUMENTS = st.one_of(
    st.sampled_from(["1", "2", "8", "0", "-1", "1e300", "1e308", "nan", "inf", "max", "3.5", "", "x", "9" * 30, "1_000", "1,024"]),
    st.integers(min_value=-5, max_value=10**7).map(str),
)


def all_numbers(data) -> list[float]:
    if isinstance(data, dict):
        return [x for v in data.values() for x in all_numbers(v)]
    if isinstance(data, list):
        return [x for v in data for x in all_numbers(v)]
    return [float(data)] if isinstance(data, (int, float)) and not isinstance(data, bool) else []


# ---------------------------------------------------------------------------------------------
# Validation matches use: a profile that passes `validate` never crashes an estimate


def _estimates_are_finite_or_refused(hardware: dict | None, model: dict | None) -> None:
    from planner.report.estimate import estimate_to_dict

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if hardware is not None:
            profile_dir(folder, "hardware", "x", hardware)
        if model is not None:
            profile_dir(folder, "model", "x", model)
        kind, parse = ("hardware", parse_hardware) if hardware is not None else ("models", parse_model)
        path = folder / kind / "x.yaml"
        try:
            parse(read_yaml(path), path)
        except PlannerError:
            return  # refused by `validate`: a clear error is the right answer
        catalog = Catalog([(folder, "--profiles")])
        for tp, batch, prompt, output in (("1", "1", "1024", "256"), ("2", "max", "8192", "1"), ("8", "64", "1", "4096")):
            request = ScenarioRequest(model="x" if model is not None else "llama-3.1-8b",
                                      hardware="x" if hardware is not None else "h100-sxm",
                                      tp=tp, batch=batch, prompt_tokens=prompt, output_tokens=output)
            with deadline():
                try:
                    outcome = evaluate_one(catalog, request)
                except PlannerError:
                    continue  # e.g. tp does not divide the heads: an input error, not a crash
            numbers = all_numbers(estimate_to_dict(outcome))
            assert all(math.isfinite(x) for x in numbers), numbers
            e = outcome.estimate
            assert e.ttft_s > 0 and e.tpot_s > 0 and e.output_tokens_per_s > 0 and e.memory.weights > 0


def _mutated(kind: str, base: str, path: tuple[str, ...], value) -> dict:
    data = builtin(kind, base)
    _set(data["architecture"] if kind == "model" else data, path, value)
    data["id"] = "x"
    return data


@SETTINGS
@given(hardware_profiles())
@example(_mutated("hardware", "h100-sxm", ("interconnect", "intra_node_bandwidth"), 0))
@example(_mutated("hardware", "h100-sxm", ("peak_flops", "bf16"), 1e-300))
@example(_mutated("hardware", "h100-sxm", ("memory", "bandwidth"), "1e-300 TB/s"))
@example(_mutated("hardware", "h100-sxm", ("price", "usd_per_hour"), 1.7e308))
@example(_mutated("hardware", "h100-sxm", ("efficiency", "compute"), 1e-300))
@example(_mutated("hardware", "h100-sxm", ("interconnect", "devices_per_node"), 10**400))
def test_generated_hardware_profiles_validate_then_estimate(data):
    _estimates_are_finite_or_refused(data, None)


@SETTINGS
@given(model_profiles())
@example(_mutated("model", "deepseek-v3", ("moe", "n_dense_layers"), 1000))
@example(_mutated("model", "mixtral-8x7b", ("moe", "n_active"), 9))
@example(_mutated("model", "llama-3.1-8b", ("n_layers",), 10**40))
@example(_mutated("model", "llama-3.1-8b", ("hidden_size",), "9" * 400))
@example(_mutated("model", "gemma-2-9b", ("sliding_window",), 10**9))
def test_generated_model_profiles_validate_then_estimate(data):
    _estimates_are_finite_or_refused(None, data)


@pytest.mark.parametrize("kind,base,path,value,expected", [
    ("model", "deepseek-v3", ("moe", "n_dense_layers"), 1000, "n_dense_layers"),
    ("model", "mixtral-8x7b", ("moe", "n_active"), 9, "n_active"),
    ("model", "llama-3.1-8b", ("n_layers",), 10**40, "n_layers"),
    ("model", "llama-3.1-8b", ("hidden_size",), "9" * 400, "hidden_size"),
    ("hardware", "h100-sxm", ("interconnect", "intra_node_bandwidth"), 0, "intra_node_bandwidth"),
    ("hardware", "h100-sxm", ("peak_flops", "bf16"), 1e-300, "peak_flops.bf16"),
    ("hardware", "h100-sxm", ("memory", "bandwidth"), "1e-300 TB/s", "memory.bandwidth"),
    ("hardware", "h100-sxm", ("price", "usd_per_hour"), 1.7e308, "price.usd_per_hour"),
    ("hardware", "h100-sxm", ("efficiency", "compute"), 1e-300, "efficiency.compute"),
    ("hardware", "h100-sxm", ("memory", "reserve"), "100 GB", "memory.reserve"),
    ("calibration", "bands", ("regimes", "all", "high"), 1.7e308, "regimes.all.high"),
])
def test_profiles_that_would_crash_or_mislead_fail_validate(tmp_path, kind, base, path, value, expected):
    folder = profile_dir(tmp_path, kind, "x", _mutated(kind, base, path, value))
    result = invoke("profiles", "validate", folder)
    assert result.exit_code == 2 and expected in result.stderr


def test_moe_with_too_many_dense_layers_is_refused_by_estimate(tmp_path):
    data = builtin("model", "deepseek-v3")
    data["architecture"]["moe"]["n_dense_layers"] = 1000
    data["id"] = "x"
    folder = profile_dir(tmp_path, "model", "x", data)
    result = invoke("estimate", "-m", "x", "-H", "h100-sxm", "--profiles", folder)
    assert result.exit_code == 2 and "n_dense_layers" in result.stderr and "fits" not in result.stdout


# ---------------------------------------------------------------------------------------------
# Hangs and unbounded memory: each is refused at once with the file named


ALIAS_BOMB = (
    "[&a [x,x,x,x,x,x,x,x,x,x], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b],"
    " &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e],"
    " &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g], &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]]"
)


def _with_line(kind: str, name: str, pattern: str, replacement: str) -> str:
    text = (BUILTIN / ("models" if kind == "model" else kind) / f"{name}.yaml").read_text(encoding="utf-8")
    assert re.search(pattern, text, flags=re.M), pattern
    return re.sub(pattern, replacement, text, count=1, flags=re.M)


@pytest.mark.parametrize("kind,name,pattern,args", [
    ("model", "llama-3.1-8b", r"^kind: .*$", ["profiles", "show", "llama-3.1-8b", "-f", "json"]),
    ("model", "llama-3.1-8b", r"^  n_layers: .*$", ["estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm"]),
    ("model", "llama-3.1-8b", r"^  n_layers: .*$", ["profiles", "validate", "{dir}"]),
    ("laws", "math500", r"^extrapolated: .*$", ["laws", "show", "math500"]),
])
def test_alias_bombs_are_refused_at_once(tmp_path, kind, name, pattern, args):
    key = pattern.strip("^").split(":")[0]
    folder = profile_dir(tmp_path, kind, name, _with_line(kind, name, pattern, f"{key}: {ALIAS_BOMB}"))
    result = invoke(*[a.replace("{dir}", str(folder)) for a in args], "--profiles", folder) if args[-1] != "{dir}" \
        else invoke(*[a.replace("{dir}", str(folder)) for a in args])
    assert result.exit_code == 2 and "alias bomb" in result.stderr and f"{name}.yaml" in result.stderr


@pytest.mark.parametrize("args", [["profiles", "validate", "{dir}"], ["profiles", "list", "--profiles", "{dir}"]])
@pytest.mark.parametrize("make", ["fifo", "zero", "deep"])
def test_special_files_and_deep_nesting_in_a_profile_folder(tmp_path, args, make):
    target = tmp_path / "models" / "x.yaml"
    target.parent.mkdir()
    if make == "fifo":
        os.mkfifo(target)
    elif make == "zero":
        target.symlink_to("/dev/zero")
    else:
        target.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    result = invoke(*[a.replace("{dir}", str(tmp_path)) for a in args])
    assert result.exit_code == 2 and "x.yaml" in result.stderr


def test_deeply_nested_or_undecodable_config_json(tmp_path):
    deep, latin = tmp_path / "deep.json", tmp_path / "latin.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    latin.write_bytes('{"model_type": "llama", "name": "caf\xe9"}'.encode("latin-1"))
    for path, expected in ((deep, "nested too deeply"), (latin, "not UTF-8")):
        result = invoke("profiles", "import-hf", path, "--id", "x")
        assert result.exit_code == 2 and expected in result.stderr and path.name in result.stderr


def test_scenarios_stream_with_flat_memory_and_one_bad_row_does_not_stop_the_others(tmp_path):
    """Memory of `--scenarios` does not grow with the row count; a row with batch=1e300 becomes an error entry."""
    import tracemalloc

    from planner import scenarios
    from planner.report.estimate import render_stream

    catalog = Catalog()

    def peak_bytes(n_rows: int) -> tuple[int, list[str]]:
        path = tmp_path / f"s{n_rows}.csv"
        lines = ["model,hardware,batch,prompt_tokens,output_tokens"]
        lines += [f"llama-3.1-8b,h100-sxm,{1 + i % 64},{100 + i},{10 + i % 50}" for i in range(n_rows)]
        lines.insert(n_rows // 2, "llama-3.1-8b,h100-sxm,1e300,1,1")
        path.write_text("\n".join(lines) + "\n")
        tracemalloc.start()
        tail: list[str] = []
        for piece in render_stream(scenarios.iter_rows(catalog, path), "json"):
            tail = (tail + [piece])[-3:]  # a sink that keeps nothing
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, tail

    small, _ = peak_bytes(40)
    large, tail = peak_bytes(400)  # held in memory, 400 outcomes would take several MB
    assert large < 1.5 * small + 200_000, (small, large)
    assert tail[-1] == "\n]\n"
    result = invoke("estimate", "--scenarios", tmp_path / "s40.csv", "-f", "json")
    rows = json.loads(result.stdout)
    assert result.exit_code == 0 and len(rows) == 41
    assert sum("error" in r for r in rows) == 1 and "batch" in next(r["error"] for r in rows if "error" in r)


# ---------------------------------------------------------------------------------------------
# Files written, clobbered or lost


def _fit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "evals.csv"
    path.write_text("model,task,method,samples,accuracy\n" + "".join(
        f"m,t,majority,{k},{a}\n" for k, a in ((1, 0.30), (4, 0.38), (16, 0.43), (64, 0.45))))
    return path


@pytest.mark.parametrize("target,force,expected", [
    ("/dev/null", True, "character device"),
    ("{dir}/sub", True, "a folder"),
    ("{dir}/" + "x" * 5000 + ".yaml", False, "cannot write"),
    ("{dir}/dangling.yaml", False, "symbolic link"),
    ("{dir}/missing/dir/law.yaml", False, "cannot write"),
])
def test_fit_out_targets_that_must_not_be_written(tmp_path, target, force, expected):
    data = _fit_csv(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    before = snapshot(tmp_path)
    result = invoke("fit", data, "--out", target.replace("{dir}", str(tmp_path)), *(["--force"] if force else []))
    assert result.exit_code == 2 and expected in result.stderr
    assert snapshot(tmp_path) == before and not (tmp_path / "nowhere").exists()
    assert os.path.exists("/dev/null") and not Path("/dev/null").is_file()


def test_fit_writes_only_its_out_file(tmp_path):
    data = _fit_csv(tmp_path)
    before = snapshot(tmp_path)
    result = invoke("fit", data, "--out", tmp_path / "law.yaml")
    assert result.exit_code == 0
    after = snapshot(tmp_path)
    assert set(after) - set(before) == {"law.yaml"} and all(after[k] == v for k, v in before.items())
    again = invoke("fit", data, "--out", tmp_path / "law.yaml")
    assert again.exit_code == 2 and "file exists" in again.stderr and snapshot(tmp_path) == after


# ---------------------------------------------------------------------------------------------
# Nonsense that used to pass with exit 0, and valid-looking input that crashed


@pytest.mark.parametrize("args,expected", [
    (["--replicas", "1e308"], "replicas"),
    (["--batch", "1e300"], "batch"),
    (["--tp", "nan"], "tp"),
    (["--prompt-tokens", "9" * 400], "prompt_tokens"),
    (["--output-tokens", "inf"], "output_tokens"),
])
def test_absurd_estimate_options_are_errors(args, expected):
    result = invoke("estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm", *args)
    assert result.exit_code == 2 and expected in result.stderr and len(result.stderr) < 300


def test_a_law_with_a_nan_covariance_is_refused(tmp_path):
    text = _with_line("laws", "math500", r"^    covariance:\n    - - [-0-9.e]+$", "    covariance:\n    - - .nan")
    folder = profile_dir(tmp_path, "laws", "math500", text)
    for args in (["predict", "--law", "math500", "--method", "majority"], ["laws", "show", "math500"]):
        result = invoke(*args, "--profiles", folder)
        assert result.exit_code == 2 and "not a finite number" in result.stderr and "covariance" in result.stderr


@pytest.mark.parametrize("value", ["2024-05-01", "!!binary aGVsbG8=", "!!set {a, b}", "{1: x, 2: y}", "[2024-05-01, 1]"])
def test_odd_yaml_values_never_crash_show_json(tmp_path, value):
    folder = profile_dir(tmp_path, "model", "llama-3.1-8b", _with_line("model", "llama-3.1-8b", r"^notes: .*$", f"notes: {value}"))
    result = invoke("profiles", "show", "llama-3.1-8b", "-f", "json", "--profiles", folder)
    if result.exit_code == 0:
        json.loads(result.stdout)
    else:
        assert "notes" in result.stderr


@pytest.mark.parametrize("kind,name,pattern", [("laws", "gsm8k", r"^kind: .*$"), ("quantization", "default", r"^kind: .*$"),
                                                ("model", "llama-3.1-8b", r"^  n_layers: .*$")])
def test_huge_values_are_never_echoed_whole(tmp_path, kind, name, pattern):
    key = pattern.strip("^").split(":")[0]
    folder = profile_dir(tmp_path, kind, name, _with_line(kind, name, pattern, f"{key}: {'x' * 20000}"))
    result = invoke("profiles", "validate", folder)
    assert result.exit_code == 2 and max(len(line) for line in result.stderr.splitlines()) < 1000


def test_an_unknown_home_directory_is_an_error():
    result = invoke("profiles", "list", "--profiles", "~no-such-user-here")
    assert result.exit_code == 2 and "~no-such-user-here" in result.stderr


@SETTINGS
@given(tp=ARGUMENTS, replicas=ARGUMENTS, batch=ARGUMENTS, prompt=ARGUMENTS, output=ARGUMENTS)
def test_generated_estimate_arguments(tp, replicas, batch, prompt, output):
    invoke("estimate", "-m", "mistral-7b", "-H", "a100-sxm-80gb", "--tp", tp, "--replicas", replicas, "--batch", batch,
           "--prompt-tokens", prompt, "--output-tokens", output, "-f", "json")


CSV_CELLS = st.one_of(ARGUMENTS, st.sampled_from(["llama-3.1-8b", "h100-sxm", "int4", "fp8", "bogus", '"', "a,b", "\x00", "é"]))


@SETTINGS
@given(rows=st.lists(st.lists(CSV_CELLS, min_size=0, max_size=12), min_size=0, max_size=6),
       header=st.sampled_from(["model,hardware,tp,batch,prompt_tokens,output_tokens", "model,hardware", "model,hardwre", ""]),
       fmt=st.sampled_from(["json", "markdown", "table"]))
def test_generated_scenario_csvs(rows, header, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.csv"
        path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
        invoke("estimate", "--scenarios", path, "-f", fmt)


# Law files, plan files and evaluation CSVs: any leaf of a real file replaced by a hostile value


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path


@st.composite
def mutated(draw, base: dict) -> dict:
    data = copy.deepcopy(base)
    leaves = sorted(_leaves(data), key=repr)
    for path in draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3, unique=True)):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = draw(st.one_of(hostile_values(), st.sampled_from([0, 1, 2, 0.5, 1e6, "x"])))
    return data


LAW = dict(read_yaml(BUILTIN / "laws" / "gsm8k.yaml"))
PLAN = dict(read_yaml(ROOT / "examples" / "chat-h100.yaml")) if (ROOT / "examples" / "chat-h100.yaml").exists() else None
FEW = settings(SETTINGS, max_examples=25)


@FEW
@given(mutated(LAW))
def test_generated_law_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gsm8k.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        invoke("laws", "show", path, "-f", "json")
        invoke("predict", "--law", path, "--method", "majority", "--samples", "1,4,64", "-f", "json")


@pytest.mark.skipif(PLAN is None, reason="no example plan")
@FEW
@given(mutated(PLAN or {}))
def test_generated_plan_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        invoke("check", path, "-f", "json")


FIT_CELLS = st.one_of(st.sampled_from(["m", "t", "majority", "pass-at-k", "best-of-n", "1", "4", "16", "64", "0.3", "0.45",
                                       "45", "1.0000001", "-1", "1e300", "nan", "", "p1", "p2", "s1", "yes", "0", "x" * 300]),
                      ARGUMENTS)
FIT_HEADERS = ["model,task,method,samples,accuracy", "model,task,method,samples,accuracy,n_problems",
               "problem_id,sample_id,correct", "problem_id,sample_id,correct,answer", "samples,accuracy", "a,b"]


@FEW
@given(header=st.sampled_from(FIT_HEADERS), rows=st.lists(st.lists(FIT_CELLS, min_size=2, max_size=6), min_size=0, max_size=8))
def test_generated_evaluation_csvs(header, rows):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "evals.csv"
        data.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
        before = snapshot(folder)
        result = invoke("fit", data, "--out", folder / "law.yaml", "-f", "json")
        after = snapshot(folder)
        assert {k: v for k, v in after.items() if k != "law.yaml"} == before  # nothing but --out is written
        assert ("law.yaml" in after) == (result.exit_code == 0)


# ---------------------------------------------------------------------------------------------
# Streams: run as a real process (file descriptors, encodings, pipes)


def _planner(*args: str, stdout=subprocess.PIPE, env_extra: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    env.pop("PLANNER_PROFILES", None)
    proc = subprocess.run([sys.executable, "-m", "planner", *args], stdout=stdout, stderr=subprocess.PIPE, env=env,
                          timeout=60, check=False, **kwargs)
    out = proc.stdout.decode("utf-8", "replace") if isinstance(proc.stdout, bytes) else ""
    check_contract(proc.returncode, out, proc.stderr.decode("utf-8", "replace"))
    return proc


ESTIMATE = ["estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm"]


def test_a_closed_stdout_stops_before_anything_is_done(tmp_path):
    data = _fit_csv(tmp_path)
    proc = _planner("fit", str(data), "--out", str(tmp_path / "law.yaml"), stdout=None, pass_fds=(),
                    preexec_fn=lambda: os.close(1))
    assert proc.returncode == 2 and b"standard output is closed" in proc.stderr
    assert not (tmp_path / "law.yaml").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_stdout_is_one_error_line():
    with open("/dev/full", "wb") as full:
        proc = _planner(*ESTIMATE, stdout=full)
    assert proc.returncode == 2 and proc.stderr.decode().count("Error: ") == 1 and b"No space left" in proc.stderr


def test_a_reader_that_stops_reading_ends_quietly():
    script = f"{sys.executable} -m planner estimate --scenarios {{csv}} -f markdown | head -1"
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "s.csv"
        csv.write_text("model,hardware\n" + "llama-3.1-8b,h100-sxm\n" * 400)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.run(["bash", "-c", "set -o pipefail; " + script.format(csv=csv)], capture_output=True, env=env,
                              timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("## Inference cost estimate") and b"Error" not in proc.stderr
    assert b"Exception ignored" not in proc.stderr and b"BrokenPipe" not in proc.stderr


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_an_ascii_only_stdout_gets_every_line(fmt):
    proc = _planner(*ESTIMATE, "-f", fmt, env_extra={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and proc.stdout.decode("ascii")
    assert len(proc.stdout.splitlines()) > 5
