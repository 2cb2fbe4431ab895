from sangathan.accounts.models import AuditLog
from tests.conftest import client_for


def test_a_page_refused_to_a_logged_in_user_is_audited(cast):
    r = client_for(cast.outsider).get("/units/UP-D-162/")
    assert r.status_code == 404
    denied = AuditLog.objects.get(action="denied")
    assert denied.actor == cast.outsider
    assert denied.detail["path"] == "/units/UP-D-162/" and denied.detail["status"] == 404


def test_a_page_seen_by_its_owner_is_not_audited(cast):
    assert client_for(cast.convenor).get("/units/UP-D-162/").status_code == 200
    assert not AuditLog.objects.filter(action="denied").exists()


def test_a_mistyped_url_is_not_a_denial(cast):
    assert client_for(cast.outsider).get("/no-such-page/").status_code == 404
    assert not AuditLog.objects.filter(action="denied").exists()
