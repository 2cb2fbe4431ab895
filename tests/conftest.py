"""The named cast every test can use: a state admin, the Lucknow district convenor, a booth
volunteer in Lucknow, and an outsider (Kanpur's convenor) who must never see Lucknow."""

import pytest
from django.conf import settings
from django.test import Client

from sangathan.accounts.models import User
from sangathan.org.counts import recount
from tests.factories import add_unit, appoint, make_person, make_position


@pytest.fixture(autouse=True)
def english_by_default():
    """Tests read messages in English unless they switch (a request through the middleware
    activates the user's language by itself); without this, the language a test sees would
    depend on which test ran before it in the same thread."""
    from django.utils import translation

    with translation.override("en"):
        yield


class Tree:
    pass


@pytest.fixture
def tree(db):
    t = Tree()
    t.india = add_unit(None, "national", "IN", "भारत", "India")
    t.up = add_unit(t.india, "state", "UP", "उत्तर प्रदेश", "Uttar Pradesh", lgd_code="9")
    t.lucknow = add_unit(t.up, "district", "UP-D-162", "लखनऊ", "Lucknow", lgd_code="162")
    t.kanpur = add_unit(t.up, "district", "UP-D-164", "कानपुर नगर", "Kanpur Nagar")
    t.ac_west = add_unit(
        t.lucknow, "assembly", "UP-AC-172", "लखनऊ पश्चिम", "Lucknow West", ac_no=172
    )
    t.ac_kanpur = add_unit(t.kanpur, "assembly", "UP-AC-213", "गोविंदनगर", "Govind Nagar", ac_no=213)
    t.mandal = add_unit(t.ac_west, "mandal", "UP-AC-172-M-1", "मंडल 1", "Mandal 1")
    t.sector = add_unit(t.mandal, "sector", "UP-AC-172-S-1", "सेक्टर 1", "Sector 1")
    t.booth1 = add_unit(
        t.sector, "booth", "UP-AC-172-PS-001", "प्राथमिक विद्यालय 1", "Primary School 1", ps_no="1"
    )
    t.booth2 = add_unit(
        t.sector, "booth", "UP-AC-172-PS-002", "प्राथमिक विद्यालय 2", "Primary School 2", ps_no="2"
    )
    t.kanpur_mandal = add_unit(t.ac_kanpur, "mandal", "UP-AC-213-M-1", "मंडल क1", "Mandal K1")
    t.kanpur_sector = add_unit(t.kanpur_mandal, "sector", "UP-AC-213-S-1", "सेक्टर क1", "Sector K1")
    t.kanpur_booth = add_unit(
        t.kanpur_sector, "booth", "UP-AC-213-PS-001", "कन्या विद्यालय", "Girls School", ps_no="1"
    )
    for u in (
        "india",
        "up",
        "lucknow",
        "kanpur",
        "ac_west",
        "ac_kanpur",
        "mandal",
        "sector",
        "booth1",
        "booth2",
        "kanpur_mandal",
        "kanpur_sector",
        "kanpur_booth",
    ):
        getattr(t, u).refresh_from_db()
    t.state_admin_pos = make_position("state", "State in-charge", "प्रदेश प्रभारी")
    t.district_pos = make_position("district", "District convenor", "जिला संयोजक")
    t.booth_pos = make_position("booth", "Booth volunteer", "बूथ स्वयंसेवक")
    return t


@pytest.fixture
def cast(tree):
    """Users with their persons and appointments; returns the tree with users attached."""
    t = tree
    t.state_admin_person = make_person(t.up, "सुनीता वर्मा", "+919810000001")
    t.convenor_person = make_person(t.lucknow, "संजय राय", "+919810000002")
    t.volunteer_person = make_person(t.booth1, "पूजा यादव", "+919810000003")
    t.outsider_person = make_person(t.kanpur, "अमित शुक्ला", "+919810000004")
    t.kanpur_member = make_person(t.kanpur_booth, "रीना गुप्ता", "+919810000005")
    appoint(t.state_admin_person, t.state_admin_pos, t.up)
    appoint(t.convenor_person, t.district_pos, t.lucknow)
    appoint(t.volunteer_person, t.booth_pos, t.booth1)
    appoint(t.outsider_person, t.district_pos, t.kanpur)
    t.state_admin = User.objects.create_user(
        "+919810000001", person=t.state_admin_person, name="Sunita"
    )
    t.convenor = User.objects.create_user("+919810000002", person=t.convenor_person, name="Sanjay")
    t.volunteer = User.objects.create_user("+919810000003", person=t.volunteer_person, name="Pooja")
    t.outsider = User.objects.create_user("+919810000004", person=t.outsider_person, name="Amit")
    t.superuser = User.objects.create_superuser("+919999999999", "pass-for-tests-1", name="Admin")
    recount()
    return t


def client_for(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    c.force_login(user)
    return c


@pytest.fixture
def as_convenor(cast):
    return client_for(cast.convenor)


@pytest.fixture
def as_outsider(cast):
    return client_for(cast.outsider)


@pytest.fixture
def on_commit_after_action(monkeypatch, db):
    """Run transaction.on_commit callbacks (the publish task, the sender wake-up) when the
    action's own transaction ends, as they would in production: inside a test's wrapping
    transaction nothing ever commits."""
    from django.db import connection, transaction

    base = len(connection.atomic_blocks)
    pending = []
    original_exit = transaction.Atomic.__exit__

    def run_pending():
        while pending and len(connection.atomic_blocks) == base:
            pending.pop(0)()

    def on_commit(func, using=None, robust=False):
        pending.append(func)
        run_pending()

    def exit_then_run(self, exc_type, exc_value, traceback):
        result = original_exit(self, exc_type, exc_value, traceback)
        if exc_type is None:
            run_pending()
        elif len(connection.atomic_blocks) == base:
            pending.clear()
        return result

    monkeypatch.setattr(transaction, "on_commit", on_commit)
    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_then_run)


def pytest_collection_modifyitems(config, items):
    """Benchmarks' smoke tests (tests/*/test_bench.py) carry the ``bench`` marker: they check
    the bench code, not the database, so the PostgreSQL leg of ``make test`` skips them."""
    for item in items:
        if item.path.name == "test_bench.py":
            item.add_marker(pytest.mark.bench)
