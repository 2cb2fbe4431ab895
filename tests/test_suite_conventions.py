"""Rules the suite keeps so that its tests do not break each other."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_transactional_test_restores_by_serialized_rollback():
    """A transactional test without ``serialized_rollback`` flushes and re-creates the content
    types after itself; the next one with it then restores its snapshot over them and fails
    with duplicate keys (the PostgreSQL leg failed so, two tests after the first)."""
    offenders = []
    for path in TESTS.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"django_db\([^)]*transaction=True", line) and (
                "serialized_rollback=True" not in line
            ):
                offenders.append(f"{path.relative_to(TESTS)}:{n}")
    assert offenders == []
