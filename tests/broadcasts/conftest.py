import pytest


@pytest.fixture(autouse=True)
def _commits(on_commit_after_action):
    """Broadcast tests see what happens after each action commits (see tests/conftest.py)."""
