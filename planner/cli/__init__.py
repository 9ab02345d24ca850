"""Command line: argv, environment, stdout/stderr and exit codes (see ``planner.cli.app``)."""


def main() -> None:
    """Console-script entry point."""
    from planner.cli.app import app

    app(prog_name="planner")
