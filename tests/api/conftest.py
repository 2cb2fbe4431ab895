import pytest

from tests.accounts.conftest import sent_codes  # noqa: F401  (fixture)


@pytest.fixture
def name_keys(cast):
    """Fill the cast's search keys (Latin name, phonetic key) for search tests."""
    from sangathan.people.models import Person

    names = pytest.importorskip("sangathan.people.names")
    for person in Person.objects.all():
        person.name_latin, person.name_key = names.person_name_fields(person.name)
        person.save(update_fields=["name_latin", "name_key"])
