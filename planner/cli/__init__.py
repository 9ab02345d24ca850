"""Command line: argv, environment, stdout/stderr and exit codes. ``planner.cli.app`` registers every command."""
