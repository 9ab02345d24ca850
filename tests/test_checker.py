"""The one collecting checker: every problem of every profile kind, each with file, field and YAML line."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from planner.errors import ProfileError
from planner.files.catalog import Catalog, bundled_dir
from planner.files.checker import ProfileErrors
from planner.files.disk import parse_yaml_text
from planner.files.laws import parse_law
from planner.files.quantization import parse_penalty

runner = CliRunner()


def _problems(exc) -> list[ProfileError]:
    return exc.problems if isinstance(exc, ProfileErrors) else [exc]


def test_yaml_mapping_knows_every_field_line():
    data = parse_yaml_text("a: 1\nb:\n  c: 2\n  d: [x, y]\ne:\n  - f: 1\n  - f: 2\n", Path("t.yaml"))
    assert data.lines == {"a": 1, "b": 2, "b.c": 3, "b.d": 4, "b.d[0]": 4, "b.d[1]": 4, "e": 5,
                          "e[0]": 6, "e[0].f": 6, "e[1]": 7, "e[1].f": 7}


def test_law_file_reports_every_planted_problem_with_its_line(tmp_path):
    text = (bundled_dir() / "laws" / "gsm8k.yaml").read_text()
    text = text.replace("task: gsm8k", "task: gsm8k\ncolour: blue", 1)  # unknown key
    text = text.replace("    params_b: 7.241732096", "    params_b: -7", 1)  # out of range
    path = tmp_path / "gsm8k.yaml"
    path.write_text(text)
    with pytest.raises((ProfileError, ProfileErrors)) as err:
        parse_law(parse_yaml_text(text, path), path)
    found = {(p.field, p.line) for p in _problems(err.value)}
    lines = text.splitlines()
    assert ("colour", lines.index("colour: blue") + 1) in found
    assert ("models.mistral-7b.params_b", lines.index("    params_b: -7") + 1) in found


def test_quantization_file_reports_every_planted_problem(tmp_path):
    text = (bundled_dir() / "quantization" / "default.yaml").read_text()
    text = text.replace("alpha: 0.5175", "alpha: lots", 1).replace("form: logit-power", "form: logit-powr", 1)
    path = tmp_path / "default.yaml"
    with pytest.raises(ProfileErrors) as err:
        parse_penalty(parse_yaml_text(text, path), path)
    fields = {p.field: p for p in err.value.problems}
    assert {"alpha", "form"} <= set(fields)
    assert fields["form"].line == 3 and "did you mean 'logit-power'" in str(fields["form"])


def test_validate_reports_every_problem_of_every_kind(tmp_path):
    for kind in ("laws", "quantization"):
        (tmp_path / kind).mkdir()
    law = (bundled_dir() / "laws" / "gsm8k.yaml").read_text().replace("task: gsm8k", "task: gsm8k\ncolour: blue", 1)
    (tmp_path / "laws" / "gsm8k.yaml").write_text(law.replace("    params_b: 7.241732096", "    params_b: -7", 1))
    quant = (bundled_dir() / "quantization" / "default.yaml").read_text().replace("alpha: 0.5175", "alpha: lots", 1)
    (tmp_path / "quantization" / "default.yaml").write_text(quant.replace("form: logit-power", "form: x", 1))
    result = runner.invoke(app, ["profiles", "validate", str(tmp_path)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 4, result.stderr
    assert all(".yaml:" in line for line in errors)  # every problem carries its line


def test_profiles_folder_quantization_is_used_by_predict(tmp_path):
    """--profiles DIR and PLANNER_PROFILES=DIR give the same answer (the library never reads the environment)."""
    (tmp_path / "quantization").mkdir()
    text = (bundled_dir() / "quantization" / "default.yaml").read_text().replace("  int4: 0.1584", "  int4: 9.0", 1)
    (tmp_path / "quantization" / "default.yaml").write_text(text)
    args = ["predict", "--law", "math500", "--method", "majority", "--samples", "1,16", "--precision", "int4", "-f", "json"]
    builtin = json.loads(runner.invoke(app, args).stdout)
    flag = json.loads(runner.invoke(app, args + ["--profiles", str(tmp_path)]).stdout)
    env = json.loads(runner.invoke(app, args, env={"PLANNER_PROFILES": str(tmp_path)}).stdout)
    assert flag == env
    assert flag != builtin


def test_library_catalog_ignores_the_shell(monkeypatch, tmp_path):
    shutil.copytree(bundled_dir() / "hardware", tmp_path / "hardware")
    (tmp_path / "hardware" / "h100-sxm.yaml").write_text("not: [valid")
    monkeypatch.setenv("PLANNER_PROFILES", str(tmp_path))
    assert Catalog().hardware("h100-sxm").id == "h100-sxm"
