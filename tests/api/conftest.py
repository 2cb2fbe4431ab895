from tests.accounts.conftest import sent_codes  # noqa: F401  (fixture)
