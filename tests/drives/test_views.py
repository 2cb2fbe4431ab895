"""Staff pages: the owner's district sees and manages its drives; everyone else gets 404."""

import re

import pytest
from django.test import Client

from sangathan.drives.models import Drive, DriveLocation, DriveTarget, Recruiter
from tests.conftest import client_for


def test_list_shows_drives_in_the_area(campus, as_convenor, as_outsider):
    assert campus.drive.name in as_convenor.get("/drives/").content.decode()
    assert campus.drive.name not in as_outsider.get("/drives/").content.decode()


def test_detail_shows_funnel_codes_and_leaderboards(
    campus, as_convenor, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        response = as_convenor.get(f"/drives/{campus.drive.code}/")
    text = response.content.decode()
    assert response.status_code == 200
    for code in (campus.drive.code, campus.gate.code, campus.recruiter.code):
        assert code in text
    assert 'id="funnel"' in text and "Leaderboards" in text
    assert f"/drives/{campus.drive.code}/poster/{campus.gate.code}.pdf" in text


def test_create_and_edit_a_drive(campus, as_convenor):
    response = as_convenor.post(
        "/drives/new/",
        {
            "name_hi": "बूथ अभियान",
            "name": "Booth drive",
            "kind": "booth",
            "starts": "2026-06-01",
            "unit_code": "UP-AC-172",
            "is_open": "on",
            "institutions": [campus.university.pk],
            "cap_per_code_per_hour": 100,
            "cap_per_device_per_day": 5,
            "cap_per_ip_per_hour": 50,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    drive = Drive.objects.get(name="Booth drive")
    assert drive.unit == campus.ac_west and drive.created_by == campus.convenor
    assert list(drive.institutions.all()) == [campus.university]
    assert len(drive.code) == 8
    response = as_convenor.post(
        f"/drives/{drive.code}/edit/",
        {
            "name_hi": "बूथ अभियान",
            "name": "Booth drive 2",
            "kind": "booth",
            "starts": "2026-06-01",
            "unit_code": "UP-AC-172",
            "cap_per_code_per_hour": 100,
            "cap_per_device_per_day": 5,
            "cap_per_ip_per_hour": 50,
        },
    )
    assert response.status_code == 302
    drive.refresh_from_db()
    assert drive.name == "Booth drive 2" and drive.is_open is False


def test_a_drive_cannot_be_owned_outside_the_area(campus, as_convenor):
    response = as_convenor.post(
        "/drives/new/",
        {
            "name_hi": "x",
            "name": "x",
            "kind": "booth",
            "starts": "2026-06-01",
            "unit_code": "UP-D-164",
            "cap_per_code_per_hour": 1,
            "cap_per_device_per_day": 1,
            "cap_per_ip_per_hour": 1,
        },
    )
    assert response.status_code == 400
    assert "no unit UP-D-164 in your area" in response.content.decode()


def test_recruiters_places_and_targets(campus, as_convenor):
    t = campus
    code = t.drive.code
    r = as_convenor.post(f"/drives/{code}/recruiters/", {"phone": "9810000002"})
    assert r.status_code == 302
    rec = Recruiter.objects.get(drive=t.drive, person=t.convenor_person)
    # Someone from Kanpur cannot be made a Lucknow recruiter.
    as_convenor.post(f"/drives/{code}/recruiters/", {"phone": "9810000005"})
    assert not Recruiter.objects.filter(person=t.kanpur_member).exists()
    as_convenor.post(f"/drives/{code}/recruiters/{rec.code}/", {"active": "0"})
    rec.refresh_from_db()
    assert rec.active is False
    as_convenor.post(
        f"/drives/{code}/locations/", {"name": "Library", "institution": t.university.pk}
    )
    loc = DriveLocation.objects.get(name="Library")
    assert loc.code and loc.code != t.drive.code
    as_convenor.post(f"/drives/{code}/targets/", {"target": 500, "unit_code": "UP-AC-172"})
    as_convenor.post(f"/drives/{code}/targets/", {"target": 300, "institution": t.university.pk})
    assert DriveTarget.objects.filter(drive=t.drive).count() == 2


def test_a_stopped_recruiter_code_no_longer_joins(campus, as_convenor):
    Recruiter.objects.filter(pk=campus.recruiter.pk).update(active=False)
    assert Client().get(f"/join/{campus.recruiter.code}").status_code == 404


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/drives/{d}/"),
        ("get", "/drives/{d}/edit/"),
        ("post", "/drives/{d}/edit/"),
        ("post", "/drives/{d}/recruiters/"),
        ("post", "/drives/{d}/recruiters/{r}/"),
        ("post", "/drives/{d}/locations/"),
        ("post", "/drives/{d}/targets/"),
        ("get", "/drives/{d}/posters.pdf"),
        ("get", "/drives/{d}/poster/{g}.pdf"),
        ("get", "/drives/{d}/poster/{g}.png"),
        ("get", "/drives/{d}/suspicious/"),
        ("post", "/drives/{d}/suspicious/1/"),
    ],
)
def test_every_drive_page_refuses_an_outsider(campus, as_outsider, method, path):
    url = path.format(d=campus.drive.code, r=campus.recruiter.code, g=campus.gate.code)
    response = getattr(as_outsider, method)(url, {"phone": "9810000002", "active": "0"})
    assert response.status_code == 404
    campus.recruiter.refresh_from_db()
    assert campus.recruiter.active


@pytest.mark.parametrize(
    "path", ["/drives/", "/drives/new/", "/drives/institutions/", "/drives/institutions/import/"]
)
def test_staff_pages_need_a_login(campus, path):
    response = Client().get(path)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_someone_without_an_area_cannot_create(campus):
    from sangathan.accounts.models import User
    from tests.factories import make_person

    person = make_person(campus.booth1, "नया सदस्य", "+919811111111")
    user = User.objects.create_user("+919811111111", person=person)
    c = client_for(user)
    assert c.get("/drives/new/").status_code == 404
    assert c.get("/drives/institutions/import/").status_code == 404
    assert campus.drive.name not in c.get("/drives/").content.decode()


def test_posters_download(campus, as_convenor):
    pytest.importorskip("sangathan.drives.posters", reason="posters.py (helper A2) missing")
    pdf = as_convenor.get(f"/drives/{campus.drive.code}/poster/{campus.gate.code}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    png = as_convenor.get(f"/drives/{campus.drive.code}/poster/{campus.recruiter.code}.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    every = as_convenor.get(f"/drives/{campus.drive.code}/posters.pdf")
    # One page per code: the drive's, the gate's and the recruiter's.
    assert every.status_code == 200
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", every.content)) == 3
    assert as_convenor.get(f"/drives/{campus.drive.code}/poster/NOPE.pdf").status_code == 404
