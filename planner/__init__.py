"""planner: a compute-optimal inference planner for large language models."""

__version__ = "0.2.0"
