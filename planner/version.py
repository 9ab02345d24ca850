"""The version of planner (read by the build backend and printed by `planner --version`)."""

__version__ = "0.2.0"
