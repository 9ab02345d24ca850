"""docs/cli.md documents every command of the CLI, and every option of `estimate`.

The typer app is walked, so a command added later fails here until it is documented.
Duck-typed (``commands``, ``param_type_name``) so it works with click or typer's vendored copy of it.
"""

from pathlib import Path

import pytest
import typer

from planner.cli.app import app

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def _subcommands(command) -> dict:
    return getattr(command, "commands", None) or {}


def _walk(command, path: tuple[str, ...]):
    yield path, command
    for name, sub in sorted(_subcommands(command).items()):
        yield from _walk(sub, path + (name,))


def _root():
    return typer.main.get_command(app)


def _commands() -> dict:
    return {" ".join(path): cmd for path, cmd in _walk(_root(), ("planner",))}


def _options(command) -> list[str]:
    names = []
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names += [opt for opt in param.opts + param.secondary_opts if opt.startswith("--") and opt != "--help"]
    return names


@pytest.fixture(scope="module")
def doc() -> str:
    assert CLI_DOC.is_file(), f"{CLI_DOC} is missing"
    return CLI_DOC.read_text(encoding="utf-8")


def test_walk_finds_the_known_commands():
    paths = set(_commands())
    assert {"planner estimate", "planner profiles", "planner profiles list", "planner profiles show",
            "planner profiles validate", "planner profiles import-hf"} <= paths


@pytest.mark.parametrize("path", sorted(p for p in _commands() if p != "planner"))
def test_every_command_is_documented(doc, path):
    assert path in doc, f"`{path}` is not documented in docs/cli.md: add a section for it"


@pytest.mark.parametrize("option", _options(_commands()["planner estimate"]))
def test_every_estimate_option_is_documented(doc, option):
    assert option in doc, f"`planner estimate {option}` is not documented in docs/cli.md"


@pytest.mark.parametrize("path", sorted(p for p, c in _commands().items() if not _subcommands(c)))
def test_every_option_of_every_command_is_documented(doc, path):
    missing = [o for o in _options(_commands()[path]) if o not in doc]
    assert not missing, f"options of `{path}` not documented in docs/cli.md: {', '.join(missing)}"


def test_recommend_worked_example_is_real_output():
    """docs/recommend.md quotes the golden Markdown of `planner recommend` (tests/golden/recommend_math500_45.md)."""
    root = Path(__file__).resolve().parent.parent
    golden = (root / "tests" / "golden" / "recommend_math500_45.md").read_text(encoding="utf-8")
    doc = (root / "docs" / "recommend.md").read_text(encoding="utf-8")
    table = [line for line in golden[: golden.index("**Assumptions**")].splitlines() if line.startswith("| ")]
    assert table and all(f"> {line}" in doc for line in table), "re-quote the golden file in docs/recommend.md's worked example"
