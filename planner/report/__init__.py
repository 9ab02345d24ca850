"""Renderers: one module per result family, each ``render(result, fmt, width=None) -> str``."""
