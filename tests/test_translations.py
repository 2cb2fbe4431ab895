"""Hindi is the first language: every interface string has a compiled Hindi translation."""

import gettext
import re
from pathlib import Path

from django.utils import translation

LOCALE = Path(__file__).resolve().parent.parent / "sangathan" / "locale"


def _po_entries(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""' not in block:
            entries.append(("FUZZY", ""))
        msgid = "".join(
            re.findall(r'^(?:msgid|msgid_plural)? ?"(.*)"$', block.split("msgstr")[0], re.M)
        )
        msgstrs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        if msgid:
            entries.append((msgid, "".join(s for s in msgstrs)))
    return entries


def test_every_hindi_entry_is_translated_and_not_fuzzy():
    entries = _po_entries(LOCALE / "hi" / "LC_MESSAGES" / "django.po")
    assert len(entries) > 200
    missing = [m for m, s in entries if m == "FUZZY" or s.strip('"\n') == ""]
    assert missing == []


def test_the_compiled_catalogue_matches_the_source():
    po = _po_entries(LOCALE / "hi" / "LC_MESSAGES" / "django.po")
    with open(LOCALE / "hi" / "LC_MESSAGES" / "django.mo", "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    # plural entries are stored once per form; the header is stored under ""
    singular = [k for k in catalog if k and not isinstance(k, tuple)]
    plural = {k[0] for k in catalog if isinstance(k, tuple)}
    assert len(singular) + len(plural) == len(po), "run `make messages` to recompile"


def test_pages_speak_hindi_by_default(client):
    with translation.override("hi"):
        assert translation.gettext("Units") != "Units"
    r = client.get("/accounts/login/")
    assert r.status_code == 200
    assert 'lang="hi"' in r.content.decode()


def test_pages_ignore_an_english_browser_until_the_user_switches(client):
    r = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="hi"' in r.content.decode()
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"}, follow=True)
    assert 'lang="en"' in r.content.decode()


def test_the_api_honours_accept_language(client):
    r = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401
    assert "Log in first" in r.json()["detail"]
    r = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="hi")
    assert "Log in first" not in r.json()["detail"]
