"""The upload → preview → confirm pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from sangathan.accounts.models import AuditLog
from sangathan.people.models import ImportBatch, Person
from tests.conftest import client_for

B1 = "UP-AC-172-PS-001"
GOOD_AND_BAD = (
    "name,phone,unit_code\n"
    f"राम कुमार,9876543210,{B1}\n"
    f"सीता देवी,9.18765E+11,{B1}\n"
    f"Duplicate Ram,098765 43210,{B1}\n"
    "गीता,9876543211,UP-AC-999-PS-404\n"
    f"Existing,+919810000003,{B1}\n"
).encode()


def upload(client, data=GOOD_AND_BAD, name="people.csv"):
    return client.post(
        reverse("people:import"), {"file": SimpleUploadedFile(name, data, "text/csv")}
    )


def test_upload_page_needs_login(client, cast):
    response = client.get(reverse("people:import"))
    assert response.status_code == 302


def test_upload_page_shows_the_form(as_convenor):
    response = as_convenor.get(reverse("people:import"))
    assert response.status_code == 200
    assert b'type="file"' in response.content
    assert b'accept=".csv,.xlsx' in response.content


def test_convenor_uploads_previews_and_confirms(as_convenor, cast):
    response = upload(as_convenor)
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("people:import_preview", args=[batch.token])
    assert not Person.objects.filter(phone="+919876543210").exists()

    page = as_convenor.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert "scientific notation" in text
    assert "unknown unit code “UP-AC-999-PS-404”" in text
    assert '<td class="num">3</td>' in text and '<td class="num">5</td>' in text
    assert page.context["result"].created == 1
    assert page.context["result"].updated == 1
    assert page.context["result"].duplicates == 1
    assert "Confirm import" in text

    done = as_convenor.post(response["Location"], {"confirm": "1"})
    assert done.status_code == 302
    ram = Person.objects.get(phone="+919876543210")
    assert ram.name == "Duplicate Ram"
    cast.volunteer_person.refresh_from_db()
    assert cast.volunteer_person.name == "Existing"
    batch.refresh_from_db()
    assert batch.committed_at is not None
    assert AuditLog.objects.filter(action="import", actor=cast.convenor).count() == 1

    # Confirming twice imports once.
    as_convenor.post(response["Location"], {"confirm": "1"})
    assert AuditLog.objects.filter(action="import").count() == 1
    after = as_convenor.get(response["Location"]).content.decode()
    assert "Import done" in after


def test_preview_keeps_reasons_untranslated_to_show_in_the_readers_language(as_convenor):
    upload(as_convenor)
    stored = ImportBatch.objects.get().result["invalid"]
    assert stored[0]["line"] == 3
    assert "%(value)s" in stored[0]["msgid"]
    assert stored[0]["params"] == {"value": "9.18765E+11"}


def test_outsider_cannot_import_into_lucknow(cast):
    outsider = client_for(cast.outsider)
    location = upload(outsider)["Location"]
    result = outsider.get(location).context["result"]
    assert result.created == 0 and result.updated == 0
    reasons = {line: str(r) for line, r in result.invalid}
    assert reasons[2] == f"unknown unit code “{B1}”"
    outsider.post(location, {"confirm": "1"})
    assert not Person.objects.filter(phone="+919876543210").exists()


def test_outsider_cannot_see_the_convenors_preview(as_convenor, cast):
    location = upload(as_convenor)["Location"]
    outsider = client_for(cast.outsider)
    assert outsider.get(location).status_code == 404
    assert outsider.post(location, {"confirm": "1"}).status_code == 404
    assert outsider.get(location + "?format=csv").status_code == 404
    assert not Person.objects.filter(phone="+919876543210").exists()


def test_errors_download_as_csv(as_convenor):
    location = upload(as_convenor)["Location"]
    response = as_convenor.get(location + "?format=csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "line,reason"
    assert text.splitlines()[1].startswith("3,")


def test_oversize_upload_is_refused(as_convenor):
    with override_settings(SANGATHAN_MAX_UPLOAD_BYTES=100):
        response = upload(as_convenor)
    assert response.status_code == 200
    assert "larger than" in response.content.decode()
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    "data, words",
    [
        (b"\x00\x01\x02garbage\xff" * 50, "could not be read"),
        (b"hello,world\n1,2\n", "no recognisable header"),
    ],
)
def test_unreadable_upload_names_the_problem(as_convenor, data, words):
    response = upload(as_convenor, data, "junk.csv")
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_missing_file_names_the_problem(as_convenor):
    response = as_convenor.post(reverse("people:import"), {})
    assert "Choose a file to import." in response.content.decode()
