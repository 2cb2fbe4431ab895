import pytest
from django.utils import translation

from sangathan.people.phones import PhoneError, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "098765 43210",
        "+91-98765-43210",
        "9876543210",
        "91 98765 43210",
        "०९८७६५४३२१०",
        "+91 (98765) 43210",
        "0091 98765 43210",
        " 9876543210 ",
    ],
)
def test_it_accepts_indian_mobile_formats(raw):
    assert normalise_phone(raw) == "+919876543210"


def test_it_accepts_numbers_from_excel_cells():
    assert normalise_phone(9876543210) == "+919876543210"


@pytest.mark.parametrize(
    "raw, words",
    [
        ("9.18765E+11", "scientific notation"),
        ("9.18765e11", "scientific notation"),
        ("", "missing"),
        (None, "missing"),
        ("   ", "missing"),
        ("98765", "too short"),
        ("98765432101", "too long"),
        ("0522 2345678", "landline"),
        ("+91 522 234 5678", "start with 6, 7, 8 or 9"),
        ("+1 650 253 0000", "not an Indian number"),
        ("98765abc10", "letters"),
    ],
)
def test_it_refuses_with_a_reason(raw, words):
    with translation.override("en"):
        with pytest.raises(PhoneError) as exc:
            normalise_phone(raw)
        assert words in str(exc.value.reason)


def test_reasons_are_in_hindi_for_hindi_users():
    with translation.override("hi"):
        with pytest.raises(PhoneError) as exc:
            normalise_phone("98765")
        assert any("\u0900" <= ch <= "\u097f" for ch in str(exc.value.reason))


def test_excel_reason_tells_how_to_fix_it():
    with translation.override("en"):
        with pytest.raises(PhoneError) as exc:
            normalise_phone("9.18765E+11")
        assert "format the column as text" in str(exc.value)


def test_phone_error_is_a_value_error():
    with pytest.raises(ValueError):
        normalise_phone("12")
