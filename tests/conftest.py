import pytest

from planner.files.catalog import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The built-in profiles only: the library never reads PLANNER_PROFILES, so the shell cannot change this."""
    return Catalog()


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch):
    """CLI tests see only the built-in profiles unless they set PLANNER_PROFILES themselves."""
    monkeypatch.delenv("PLANNER_PROFILES", raising=False)
