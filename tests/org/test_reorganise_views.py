"""Staff pages for reorganising the tree: moving a subtree (preview, then confirm), its history
on the unit page, renaming, and adding units from a file; and who may not."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sangathan.accounts.models import AuditLog
from sangathan.org.counts import recount
from sangathan.org.models import OrgUnit, UnitMove
from tests.conftest import client_for

HX = {"HTTP_HX_REQUEST": "true"}
LUCKNOW_WORDS = ["Lucknow", "लखनऊ", "Mandal 1", "मंडल 1", "Sector 1", "Primary School"]


def snapshot():
    return {u.code: (u.people_count, u.seats_total, u.seats_filled) for u in OrgUnit.objects.all()}


def parent_code(code: str) -> str:
    return OrgUnit.objects.get_parent(OrgUnit.objects.get(code=code)).code


@pytest.fixture
def second_mandal(cast):
    from tests.factories import add_unit

    return add_unit(cast.ac_west, "mandal", "UP-AC-172-M-2", "मंडल 2", "Mandal 2")


# --- moving a subtree -----------------------------------------------------------------------


def test_the_unit_page_offers_the_move_only_below_the_top_of_ones_area(cast, as_convenor):
    body = as_convenor.get("/units/UP-AC-172-S-1/").content.decode()
    assert 'href="/units/UP-AC-172-S-1/move/"' in body
    assert 'href="/units/UP-AC-172-S-1/rename/"' in body
    top = as_convenor.get("/units/UP-D-162/").content.decode()
    assert "/units/UP-D-162/move/" not in top and "/units/UP-D-162/rename/" not in top


def test_preview_counts_what_moves_and_writes_nothing(cast, as_convenor, second_mandal):
    response = as_convenor.post(
        reverse("org:move_unit", args=["UP-AC-172-S-1"]),
        {"parent_code": "UP-AC-172-M-2", "reason": "new mandal"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    # The sector, its two booths; the volunteer lives in booth 1.
    assert "This moves 3 units and 1 person from Mandal 1 to Mandal 2." in body
    assert 'name="confirm"' in body
    assert parent_code("UP-AC-172-S-1") == "UP-AC-172-M-1"
    assert not UnitMove.objects.exists()


def test_confirm_moves_the_subtree_keeps_history_and_counts(cast, as_convenor, second_mandal):
    url = reverse("org:move_unit", args=["UP-AC-172-S-1"])
    response = as_convenor.post(
        url, {"parent_code": "UP-AC-172-M-2", "reason": "new mandal", "confirm": "1"}
    )
    assert response.status_code == 302 and response.url == "/units/UP-AC-172-S-1/"
    assert parent_code("UP-AC-172-S-1") == "UP-AC-172-M-2"
    assert parent_code("UP-AC-172-PS-001") == "UP-AC-172-S-1"
    move = UnitMove.objects.get()
    assert (move.old_parent.code, move.new_parent.code) == ("UP-AC-172-M-1", "UP-AC-172-M-2")
    assert (move.moved_by, move.reason) == (cast.convenor, "new mandal")
    entry = AuditLog.objects.get(action="move_unit")
    assert entry.actor == cast.convenor and entry.detail["new_parent"] == "UP-AC-172-M-2"
    counts = snapshot()
    assert counts["UP-AC-172-M-2"][0] == 1 and counts["UP-AC-172-M-1"][0] == 0
    recount()
    assert snapshot() == counts

    page = as_convenor.get(response.url)
    body = page.content.decode()
    assert "moved from Mandal 1 to Mandal 2" in body  # the success message
    assert "History of moves" in body and "new mandal" in body
    assert 'href="/units/UP-AC-172-M-1/">Mandal 1</a>' in body
    assert 'href="/units/UP-AC-172-M-2/">Mandal 2</a>' in body


def test_history_names_units_outside_the_viewers_area_without_links(cast):
    # The state in-charge moves Lucknow West to Kanpur; Lucknow's convenor loses it, but
    # Kanpur's convenor now sees it, with Lucknow named as plain text.
    admin = client_for(cast.state_admin)
    response = admin.post(
        "/units/UP-AC-172/move/", {"parent_code": "UP-D-164", "reason": "delimitation"}
    )
    assert "This moves 5 units and 1 person from Lucknow to Kanpur Nagar." in (
        response.content.decode()
    )
    response = admin.post(
        "/units/UP-AC-172/move/",
        {"parent_code": "UP-D-164", "reason": "delimitation", "confirm": "1"},
    )
    assert response.status_code == 302
    body = client_for(cast.outsider).get("/units/UP-AC-172/").content.decode()
    assert "delimitation" in body
    assert "<td>Lucknow</td>" in body and 'href="/units/UP-D-162/"' not in body
    assert 'href="/units/UP-D-164/">Kanpur Nagar</a>' in body
    assert client_for(cast.convenor).get("/units/UP-AC-172/").status_code == 404


def test_live_search_offers_higher_units_in_ones_area_only(cast, as_convenor, second_mandal):
    response = as_convenor.get("/units/UP-AC-172-S-1/move/?q=mandal", **HX)
    body = response.content.decode()
    assert "<html" not in body  # the partial only
    assert 'value="UP-AC-172-M-2"' in body
    # Not its present parent, nothing in Kanpur.
    assert 'value="UP-AC-172-M-1"' not in body and "Mandal K1" not in body
    booths = as_convenor.get("/units/UP-AC-172-M-1/move/?q=school", **HX).content.decode()
    assert "Primary School" not in booths  # a booth is below a mandal, never its parent


def test_a_picked_search_result_works_as_the_new_parent(cast, as_convenor, second_mandal):
    response = as_convenor.post(
        "/units/UP-AC-172-S-1/move/", {"parent": "UP-AC-172-M-2", "reason": "new mandal"}
    )
    assert "to Mandal 2." in response.content.decode()


def test_it_refuses_a_move_under_the_units_own_descendant(cast, as_convenor):
    for confirm in ("", "1"):
        response = as_convenor.post(
            "/units/UP-AC-172-M-1/move/",
            {"parent_code": "UP-AC-172-S-1", "reason": "x", "confirm": confirm},
        )
        assert response.status_code == 400
        assert "cannot move under itself or a unit below it" in response.content.decode()
    assert not UnitMove.objects.exists()


def test_it_refuses_a_parent_of_the_same_or_a_lower_level(cast, as_convenor, second_mandal):
    response = as_convenor.post(
        "/units/UP-AC-172-M-1/move/", {"parent_code": "UP-AC-172-M-2", "reason": "x"}
    )
    assert response.status_code == 400
    assert (
        "UP-AC-172-M-1 is a Mandal; it can only move under a unit of a higher level, "
        "and UP-AC-172-M-2 is a Mandal." in response.content.decode()
    )


def test_it_asks_for_a_reason_and_a_parent(cast, as_convenor):
    response = as_convenor.post("/units/UP-AC-172-S-1/move/", {"confirm": "1"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Give a reason for the move." in body
    assert "Pick the new parent from the search, or type its code." in body
    assert not UnitMove.objects.exists()


def test_a_target_outside_ones_area_reads_as_unknown_and_nothing_moves(cast, as_convenor):
    for code in ("UP-AC-213-M-1", "NO-SUCH-UNIT"):
        response = as_convenor.post(
            "/units/UP-AC-172-S-1/move/", {"parent_code": code, "reason": "x", "confirm": "1"}
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert f"No unit with code {code} in your area." in body
        assert "Mandal K1" not in body and "मंडल क1" not in body
    assert parent_code("UP-AC-172-S-1") == "UP-AC-172-M-1"
    assert not UnitMove.objects.exists()


def test_a_convenor_cannot_move_or_rename_the_top_of_their_area(cast, as_convenor):
    for url in ("/units/UP-D-162/move/", "/units/UP-D-162/rename/"):
        assert as_convenor.get(url).status_code == 403
        response = as_convenor.post(
            url, {"parent_code": "UP", "reason": "x", "confirm": "1", "name": "X"}
        )
        assert response.status_code == 403
        assert "is the top of your area" in response.content.decode()
    assert OrgUnit.objects.get(code="UP-D-162").name_en == "Lucknow"
    assert not UnitMove.objects.exists()


def test_the_error_of_a_refused_move_is_in_the_users_language(cast):
    hindi = client_for(cast.convenor)
    hindi.cookies["django_language"] = "hi"
    response = hindi.post(
        "/units/UP-AC-172-S-1/move/", {"parent_code": "NO-SUCH", "reason": "x", "confirm": "1"}
    )
    assert response.status_code == 400
    assert "आपके क्षेत्र में कोड NO-SUCH वाली कोई इकाई नहीं है।" in response.content.decode()


# --- renaming -------------------------------------------------------------------------------


def test_rename_changes_the_names_and_is_audited(cast, as_convenor):
    url = reverse("org:rename_unit", args=["UP-AC-172-M-1"])
    form = as_convenor.get(url)
    assert form.status_code == 200 and 'value="मंडल 1"' in form.content.decode()
    response = as_convenor.post(url, {"name": "गोमती मंडल", "name_en": "Gomti", "name_hi": ""})
    assert response.status_code == 302
    unit = OrgUnit.objects.get(code="UP-AC-172-M-1")
    assert (unit.name, unit.name_en, unit.name_hi) == ("गोमती मंडल", "Gomti", "")
    entry = AuditLog.objects.get(action="rename_unit")
    assert entry.actor == cast.convenor and entry.detail["before"]["name_en"] == "Mandal 1"


def test_rename_refuses_an_empty_name(cast, as_convenor):
    response = as_convenor.post("/units/UP-AC-172-M-1/rename/", {"name": "  "})
    assert response.status_code == 400
    assert "A unit needs a name." in response.content.decode()
    assert OrgUnit.objects.get(code="UP-AC-172-M-1").name == "मंडल 1"


# --- adding units from a file ---------------------------------------------------------------

UNITS = (
    "code,name,level,parent_code,name_en\n"
    "UP-AC-172-M-9,मंडल 9,mandal,UP-AC-172,Mandal 9\n"  # 2: fine
    "UP-AC-172-S-9,सेक्टर 9,sector,UP-AC-172-M-9,Sector 9\n"  # 3: fine, parent in the file
    "UP-AC-213-M-9,मंडल क9,mandal,UP-AC-213,Mandal K9\n"  # 4: parent outside Lucknow West
    "UP-AC-213-S-9,सेक्टर क9,sector,UP-AC-213-M-9,Sector K9\n"  # 5: below line 4
    "UP-AC-172-M-8,मंडल 8,mandal,UP-AC-999,Mandal 8\n"  # 6: parent nowhere
)


def upload(client, code, text, name="units.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        reverse("org:import_units", args=[code]),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def confirm(client, code, token):
    return client.post(reverse("org:import_units", args=[code]), {"confirm": "1", "token": token})


def test_import_preview_lists_every_bad_row_and_writes_nothing(cast, as_convenor):
    response = upload(as_convenor, "UP-AC-172", UNITS)
    assert response.status_code == 200
    result = response.context["result"]
    assert (result["rows"], result["valid"], result["created"]) == (5, 2, 2)
    reasons = {row["line"]: row["reason"] for row in result["invalid"]}
    assert reasons == {
        4: "unknown parent_code UP-AC-213",
        5: "its parent UP-AC-213-M-9 (line 4) is invalid",
        6: "unknown parent_code UP-AC-999",
    }
    body = response.content.decode()
    assert "unknown parent_code UP-AC-213" in body and "Govind Nagar" not in body
    assert not OrgUnit.objects.filter(code__endswith="-9").exists()


def test_import_confirm_writes_once_and_a_reimport_changes_nothing(cast, as_convenor):
    token = upload(as_convenor, "UP-AC-172", UNITS).context["token"]
    response = confirm(as_convenor, "UP-AC-172", token)
    assert response.status_code == 302 and response.url == "/units/UP-AC-172/"
    sector = OrgUnit.objects.get(code="UP-AC-172-S-9")
    assert parent_code("UP-AC-172-S-9") == "UP-AC-172-M-9"
    assert parent_code("UP-AC-172-M-9") == "UP-AC-172"
    assert sector.name_en == "Sector 9"
    assert not OrgUnit.objects.filter(code__in=["UP-AC-213-M-9", "UP-AC-172-M-8"]).exists()
    assert AuditLog.objects.filter(action="import_units").count() == 1
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    before = OrgUnit.objects.count()

    # A second click on the same confirmation imports nothing.
    again = confirm(as_convenor, "UP-AC-172", token)
    assert again.status_code == 302 and again.url == "/units/UP-AC-172/import-units/"
    # Uploading the same file again finds nothing new to save.
    response = upload(as_convenor, "UP-AC-172", UNITS)
    assert (response.context["result"]["created"], response.context["result"]["updated"]) == (
        0,
        0,
    )
    assert "There is nothing new to save from this file." in response.content.decode()
    assert OrgUnit.objects.count() == before
    assert AuditLog.objects.filter(action="import_units").count() == 1


def test_import_reports_an_unreadable_file_and_a_too_big_one(cast, as_convenor, monkeypatch):
    response = upload(as_convenor, "UP-AC-172", "code,name\nX,Y\n")
    assert response.status_code == 400
    assert "The header (line 1) has no column for level, parent_code" in (response.content.decode())
    monkeypatch.setattr("sangathan.org.forms.MAX_UNITS_FILE_BYTES", 10)
    response = upload(as_convenor, "UP-AC-172", UNITS)
    assert response.status_code == 400
    assert "a file of units can be at most" in response.content.decode()


def test_import_cannot_confirm_a_preview_for_another_unit(cast, as_convenor, second_mandal):
    token = upload(as_convenor, "UP-AC-172", UNITS).context["token"]
    response = confirm(as_convenor, "UP-AC-172-M-2", token)
    assert response.status_code == 302 and response.url.endswith("/import-units/")
    assert not OrgUnit.objects.filter(code="UP-AC-172-M-9").exists()


# --- the outsider ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["UP-D-162", "UP-AC-172", "UP-AC-172-M-1", "UP-AC-172-S-1"])
def test_the_outsider_gets_404_on_every_reorganisation_page(cast, as_outsider, code):
    posts = {
        "move_unit": {"parent_code": "UP-D-164", "reason": "x", "confirm": "1"},
        "rename_unit": {"name": "Kanpur's now"},
        "import_units": {"confirm": "1", "token": "x"},
    }
    for name, data in posts.items():
        url = reverse(f"org:{name}", args=[code])
        for response in (as_outsider.get(url), as_outsider.get(url + "?q=kanpur", **HX)):
            assert response.status_code == 404, url
        response = as_outsider.post(url, data)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert not any(word in body for word in LUCKNOW_WORDS), url
    response = upload(as_outsider, code, UNITS)
    assert response.status_code == 404
    assert OrgUnit.objects.get(code="UP-AC-172").name_en == "Lucknow West"
    assert not UnitMove.objects.exists()
    assert not OrgUnit.objects.filter(code__endswith="-9").exists()


def test_the_outsider_cannot_move_a_kanpur_unit_under_lucknow(cast, as_outsider):
    response = as_outsider.post(
        "/units/UP-AC-213-M-1/move/",
        {"parent_code": "UP-AC-172", "reason": "x", "confirm": "1"},
    )
    assert response.status_code == 400
    assert "No unit with code UP-AC-172 in your area." in response.content.decode()
    assert parent_code("UP-AC-213-M-1") == "UP-AC-213"


def test_the_outsider_cannot_import_units_under_lucknow_from_kanpur(cast, as_outsider):
    response = upload(as_outsider, "UP-D-164", UNITS)
    reasons = {row["line"]: row["reason"] for row in response.context["result"]["invalid"]}
    assert reasons[2] == "unknown parent_code UP-AC-172"
    assert response.context["result"]["created"] == 2  # the two Kanpur rows
    body = response.content.decode()
    assert "Lucknow West" not in body and "लखनऊ" not in body


def test_the_unit_page_with_history_keeps_its_query_budget(
    cast, as_convenor, second_mandal, django_assert_max_num_queries
):
    as_convenor.post(
        "/units/UP-AC-172-S-1/move/",
        {"parent_code": "UP-AC-172-M-2", "reason": "r", "confirm": "1"},
    )
    with django_assert_max_num_queries(8):
        as_convenor.get("/units/UP-AC-172-S-1/")
