"""planner: a compute-optimal inference planner for large language models.

The library API (the CLI renders exactly these results)::

    import planner
    rec = planner.recommend(task="math500", target_accuracy=0.45)          # a frozen Recommendation
    front = planner.frontier(task="math500", minimize="latency", hardware=("h100-sxm",))

``profiles``: folders of user profiles, highest priority first (the built-in profiles come last); the
environment is never read. Other keyword arguments are the fields of ``optimizer.request.SearchRequest``.
"""

from __future__ import annotations

from typing import Any

from planner.version import __version__

__all__ = ["__version__", "frontier", "recommend"]


def _run(mode: str, task: str | None, law: str | None, profiles: tuple[str, ...], options: dict[str, Any]):
    from planner.errors import InputError
    from planner.files.catalog import Catalog
    from planner.optimizer import search
    from planner.optimizer.request import SearchRequest

    if (task is None) == (law is None):
        raise InputError("give task= (a law id such as 'math500') or law= (a law file), one of them")
    catalog = Catalog([(d, "profiles=") for d in profiles])
    the_law, source = catalog.law(task if task is not None else law)
    request = SearchRequest(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    return (search.recommend if mode == "recommend" else search.frontier)(catalog, the_law, source, request)


def recommend(task: str | None = None, *, law: str | None = None, profiles: tuple[str, ...] = (), **options: Any):
    """The cheapest configuration that reaches ``target_accuracy``, or the most accurate within a budget."""
    return _run("recommend", task, law, profiles, options)


def frontier(task: str | None = None, *, law: str | None = None, profiles: tuple[str, ...] = (), **options: Any):
    """The accuracy-vs-objective Pareto frontier within the constraints."""
    return _run("frontier", task, law, profiles, options)
