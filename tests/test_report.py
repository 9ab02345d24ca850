"""Renderer conventions: plain text cells, numbers never split, natural width in a pipe, --version."""

from typer.testing import CliRunner

from planner.cli.app import app
from planner.report.common import markdown_table, rich_table, to_text


def test_rich_markup_never_eats_literal_text():
    text = to_text([rich_table("t [x]", ["name", "value"], [["[model] [bold]x[/bold]", "1"]], {1})], width=None)
    assert "[model] [bold]x[/bold]" in text and "t [x]" in text


def test_numbers_are_never_split_on_a_narrow_terminal():
    number = "12,345,678.9 ms"
    text = to_text([rich_table("t", ["what", "value"], [["a long description " * 4, number]], {1})], width=40)
    assert number in text


def test_pipe_output_has_no_trailing_spaces():
    text = to_text([rich_table("title", ["a"], [["x"]])], width=None)
    assert all(line == line.rstrip() for line in text.splitlines())


def test_markdown_escapes_pipes():
    assert "a\\|b" in markdown_table(["h"], [["a|b"]])


def test_version():
    from planner.version import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"planner {__version__}"
