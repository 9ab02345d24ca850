import pytest

from planner.files.catalog import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch):
    """Tests see only the built-in profiles unless they set PLANNER_PROFILES themselves."""
    monkeypatch.delenv("PLANNER_PROFILES", raising=False)
