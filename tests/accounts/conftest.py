import pytest


class SentCodes(list):
    """Codes "sent" by SMS, as (phone, code) pairs."""

    def last_for(self, phone: str) -> str:
        return [code for p, code in self if p == phone][-1]


@pytest.fixture
def sent_codes(monkeypatch, django_capture_on_commit_callbacks):
    """Collect OTPs instead of printing them. Codes are sent on commit, which the test
    transaction never reaches, so wrap calls in ``sent_codes.capture()``."""
    sent = SentCodes()
    monkeypatch.setattr(
        "sangathan.accounts.actions.send_code", lambda phone, code: sent.append((phone, code))
    )
    sent.capture = lambda: django_capture_on_commit_callbacks(execute=True)
    return sent
