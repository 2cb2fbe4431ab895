"""Cross-script person search: phonetic keys, readable Latin, Person.objects.search()."""

import itertools
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sangathan.people.models import Person
from sangathan.people.names import (
    SEARCH_FTS_TABLE,
    latinise,
    name_keys,
    person_name_fields,
    phonetic_key,
)

PAIRS_FILE = Path(__file__).with_name("name_pairs.tsv")


def _read_pairs():
    rows = []
    for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        others = [o for o in cols[2].split(",") if o] if len(cols) > 2 else []
        rows.append((cols[0], cols[1], others))
    return rows


PAIRS = _read_pairs()
_phones = itertools.count(7000000001)


def person(unit, name, **kw):
    return Person.objects.create(name=name, phone=f"+91{next(_phones)}", unit=unit, **kw)


def names(qs):
    return [p.name for p in qs]


# --- keys ------------------------------------------------------------------------------


def test_the_pairs_file_holds_enough_real_names():
    assert len(PAIRS) >= 60
    assert len({deva for deva, _, _ in PAIRS}) == len(PAIRS)


@pytest.mark.parametrize(("deva", "latin", "others"), PAIRS, ids=[p[1] for p in PAIRS])
def test_every_spelling_of_a_name_gets_the_same_key(deva, latin, others):
    key = phonetic_key(deva)
    assert key
    assert {spelling: phonetic_key(spelling) for spelling in [latin, *others]} == {
        spelling: key for spelling in [latin, *others]
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sanjay", "sanjaya"),
        ("Shankar", "Sankar"),
        ("shankar", "शंकर"),
        ("Vikas", "Vikash"),
        ("Pawan", "Pavan"),
        ("Bhagwan", "Bhagavan"),
        ("Deepak", "Dipak"),
        ("Geeta", "Gita"),
        ("Aakash", "Akash"),
        ("Pooja", "Puja"),
        ("Poonam", "Punam"),
        ("Zainab", "जैनब"),
        ("Phool", "फूल"),
        ("Shambhu", "शंभु"),
        ("Shambhu", "शम्भु"),
        ("Chand", "चाँद"),
        ("Chand", "चांद"),
        ("Bhatt", "Bhat"),
        ("Pandey", "पाण्डेय"),
        ("Khan", "ख़ान"),
        ("Qasim", "क़ासिम"),
        ("RAJESH", "rajesh"),
        ("Rāma", "Ram"),
        ("Mohd.", "मोहम्मद"),
        ("Md", "Mohammed"),
        ("Muhammad", "Mohammad"),
        ("Ahmed", "अहमद"),
        ("Kr.", "कुमार"),
    ],
)
def test_spelling_variants_share_a_key(a, b):
    assert phonetic_key(a) == phonetic_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ram", "Shyam"),
        ("Rai", "Rajesh"),
        ("Sanjay", "Sanjeev"),
        ("Tripathi", "Tripti"),
        ("Singh", "Sinha"),
        ("Krishna", "Kishan"),
        ("Amit", "Sumit"),
        ("Ajay", "Ajit"),
        ("Sharma", "Verma"),
        ("Mohan", "Sohan"),
        ("Gupta", "Gaur"),
        ("Rekha", "Rai"),
        ("Sunita", "Sunil"),
    ],
)
def test_different_names_get_different_keys(a, b):
    ka, kb = phonetic_key(a), phonetic_key(b)
    # Neither key starts the other, so searching for one cannot find the other.
    assert not ka.startswith(kb) and not kb.startswith(ka), (ka, kb)


def test_name_keys_are_space_delimited_words():
    assert name_keys("संजय राय") == " sanjy ray "
    assert name_keys("Sanjay  Rai") == " sanjy ray "
    assert name_keys("S.K. Singh") == " s k sing "
    assert name_keys("  ") == ""
    assert name_keys("123") == ""


def test_person_name_fields_normalises_to_nfc_first():
    decomposed = "ज\u093cैनब"  # ज + nukta, as some keyboards type ज़
    assert person_name_fields(decomposed) == person_name_fields("\u095bैनब")
    assert person_name_fields("ज़ैनब") == ("Zainab", " jaynb ")


# --- readable Latin --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deva", "latin"),
    [
        ("संजय राय", "Sanjay Rai"),
        ("पूजा यादव", "Pooja Yadav"),
        ("सुनीता वर्मा", "Sunita Varma"),
        ("कृष्ण", "Krishna"),
        ("मिश्र", "Mishra"),
        ("आनंद", "Anand"),
        ("प्रशांत", "Prashant"),
        ("राजकुमार", "Rajkumar"),
        ("कमलेश", "Kamlesh"),
        ("ममता", "Mamta"),
        ("जगदीश", "Jagdish"),
        ("ओमप्रकाश", "Omprakash"),
        ("रामनरेश", "Ramnaresh"),
        ("सिंह", "Singh"),
        ("पांडेय", "Pandey"),
        ("पाण्डेय", "Pandey"),
        ("श्रीवास्तव", "Shrivastav"),
        ("लक्ष्मी", "Lakshmi"),
        ("ज्ञानेंद्र", "Gyanendra"),
        ("द्विवेदी", "Dwivedi"),
        ("प्रजापति", "Prajapati"),
        ("फ़ातिमा", "Fatima"),
        ("ज़ैनब", "Zainab"),
        ("शंभु", "Shambhu"),
        ("दीपिका", "Deepika"),
        ("अग्रवाल", "Agrawal"),
    ],
)
def test_latinise_writes_names_as_indians_do(deva, latin):
    assert latinise(deva) == latin


def test_latinise_tidies_latin_and_mixed_script_names():
    assert latinise("sanjay  RAI") == "Sanjay Rai"
    assert latinise("Sanjay राय") == "Sanjay Rai"
    assert latinise("McDonald") == "McDonald"
    assert latinise("d'souza") == "D'Souza"
    assert latinise("Ame\u0301lie") == "Am\u00e9lie"


# --- the pre_save hook ------------------------------------------------------------------


def test_saving_a_person_fills_latin_name_and_key(tree):
    p = person(tree.booth1, "संजय राय")
    p.refresh_from_db()
    assert (p.name_latin, p.name_key) == ("Sanjay Rai", " sanjy ray ")


def test_renaming_a_person_recomputes_latin_name_and_key(tree):
    p = person(tree.booth1, "संजय राय")
    p.name = "पूजा यादव"
    p.save()
    p.refresh_from_db()
    assert (p.name_latin, p.name_key) == ("Pooja Yadav", " puj yadv ")


def test_a_hand_given_latin_spelling_is_kept_until_the_name_changes(tree):
    p = person(tree.booth1, "सूरज सिंह", name_latin="Sooraj Singh")
    p.refresh_from_db()
    assert p.name_latin == "Sooraj Singh"
    p.save()
    assert p.name_latin == "Sooraj Singh"
    p.name = "सूरज कुमार"
    p.save()
    assert p.name_latin == "Suraj Kumar"


def test_the_stored_name_is_nfc(tree):
    p = person(tree.booth1, "Ame\u0301lie Rai")
    p.refresh_from_db()
    assert p.name == "Am\u00e9lie Rai"


# --- search ----------------------------------------------------------------------------


def test_every_pair_is_found_from_either_script(tree):
    deva = {d: person(tree.booth1, d) for d, _, _ in PAIRS}
    latin = {d: person(tree.booth2, lat) for d, lat, _ in PAIRS}
    misses = []
    for d, lat, _ in PAIRS:
        if deva[d] not in Person.objects.search(lat):
            misses.append((lat, "->", d))
        if latin[d] not in Person.objects.search(d):
            misses.append((d, "->", lat))
    assert misses == []


def test_search_finds_across_scripts_and_spellings(tree):
    sanjay = person(tree.booth1, "संजय राय")
    shrivastav = person(tree.booth1, "लक्ष्मी श्रीवास्तव")
    latin = person(tree.booth2, "Sanjay Rai")
    assert set(Person.objects.search("sanjay rai")) == {sanjay, latin}
    assert set(Person.objects.search("संजय")) == {sanjay, latin}
    assert list(Person.objects.search("laxmi srivastava")) == [shrivastav]
    assert list(Person.objects.search("Lakshmi Shrivastav")) == [shrivastav]


def test_search_matches_the_start_of_words(tree):
    sanjay = person(tree.booth1, "संजय राय")
    sanjeev = person(tree.booth1, "संजीव कुमार")
    assert set(Person.objects.search("sanj")) == {sanjay, sanjeev}
    assert list(Person.objects.search("sanjay")) == [sanjay]
    assert list(Person.objects.search("संजी")) == [sanjeev]
    assert list(Person.objects.search("sanjay r")) == [sanjay]


def test_search_needs_every_word_to_match(tree):
    person(tree.booth1, "संजय राय")
    person(tree.booth1, "संजय कुमार")
    assert names(Person.objects.search("sanjay rai")) == ["संजय राय"]
    assert names(Person.objects.search("sanjay yadav")) == []


def test_search_does_not_match_other_names(tree):
    for name in ("श्याम लाल", "राजेश कुमार", "तृप्ति सिन्हा", "अजित सिंह", "सुमित वर्मा"):
        person(tree.booth1, name)
    assert names(Person.objects.search("Ram")) == []
    assert names(Person.objects.search("Rai")) == []
    assert names(Person.objects.search("Tripathi")) == []
    assert names(Person.objects.search("Ajay")) == []
    assert names(Person.objects.search("Amit")) == []
    assert names(Person.objects.search("Singh")) == ["अजित सिंह"]
    assert names(Person.objects.search("Sinha")) == ["तृप्ति सिन्हा"]


def test_search_ranks_exact_then_in_order_then_by_name(tree):
    reversed_ = person(tree.booth1, "राय संजय")
    middle = person(tree.booth1, "संजय कुमार राय")
    prefix = person(tree.booth1, "संजय रायदास")
    exact_key = person(tree.booth1, "संजय राय")
    as_typed = person(tree.booth2, "Sanjay Rai")
    other_spelling = person(tree.booth2, "Sanjai Ray")
    found = list(Person.objects.search("Sanjay Rai"))
    assert set(found[:2]) == {as_typed, exact_key}
    assert found[2:] == [other_spelling, prefix, middle, reversed_]
    assert [p.search_rank for p in found] == [0, 0, 1, 3, 4, 5]


def test_search_puts_the_spelling_typed_first_when_keys_are_equal(tree):
    amit = person(tree.booth1, "अमित")
    amita = person(tree.booth1, "अमिता")
    assert list(Person.objects.search("Amita")) == [amita, amit]
    assert list(Person.objects.search("अमित")) == [amit, amita]


def test_search_by_phone_matches_the_end_of_the_number(tree):
    p = person(tree.booth1, "पूजा यादव")
    p.phone = "+919876543210"
    p.save()
    person(tree.booth1, "रीना गुप्ता")
    for q in ("9876543210", "098765 43210", "+91-98765-43210", "43210"):
        assert list(Person.objects.search(q)) == [p], q
    assert list(Person.objects.search("12345")) == []


def test_empty_search_finds_nobody(tree):
    person(tree.booth1, "संजय राय")
    assert list(Person.objects.search("")) == []
    assert list(Person.objects.search(" .,- ")) == []


def test_search_is_one_query(tree):
    for name in ("संजय राय", "संजय कुमार", "Sanjay Rai"):
        person(tree.booth1, name)
    with CaptureQueriesContext(connection) as ctx:
        found = list(Person.objects.search("sanjay rai"))
    assert len(found) == 2
    assert len(ctx.captured_queries) == 1


def test_search_composes_with_jurisdiction(cast):
    query = "sanjay rai"
    assert list(Person.objects.visible_to(cast.outsider).search(query)) == []
    assert list(Person.objects.search(query).visible_to(cast.outsider)) == []
    assert list(Person.objects.visible_to(cast.convenor).search(query)) == [cast.convenor_person]
    assert list(Person.objects.visible_to(cast.state_admin).search("संजय")) == [cast.convenor_person]
    assert list(Person.objects.visible_to(cast.outsider).search("reena")) == [cast.kanpur_member]


# --- the search index -------------------------------------------------------------------

on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS5 trigram table exists on SQLite only"
)


def indexed(pattern: str, column: str = "name_key") -> set[int]:
    """Person ids the SQLite trigram table finds for ``column LIKE pattern``."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT rowid FROM {SEARCH_FTS_TABLE} WHERE {column} LIKE %s", [pattern])
        return {row[0] for row in cur.fetchall()}


def plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(str(row[-1]) for row in cur.fetchall())
        cur.execute("SET LOCAL enable_seqscan = off")  # a test table is small enough to scan
        cur.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cur.fetchall())


@on_sqlite
def test_search_looks_names_up_in_the_trigram_index_on_sqlite(tree):
    person(tree.booth1, "संजय राय")
    for q in ("sanjay", "Sanjay Rai", "मह", "43210"):
        text = plan(Person.objects.search(q))
        assert f"{SEARCH_FTS_TABLE} VIRTUAL TABLE INDEX" in text, text
        assert "people_person USING INTEGER PRIMARY KEY" in text, text
        assert not re.search(r"SCAN people_person\b(?!_fts)", text), text  # no table scan


@on_sqlite
def test_one_letter_words_are_left_to_the_plain_filter(tree):
    sk = person(tree.booth1, "S.K. Singh")
    assert SEARCH_FTS_TABLE not in str(Person.objects.search("S").query)
    assert list(Person.objects.search("S")) == [sk]
    # Beside a longer word, the longer one alone goes through the index.
    assert list(Person.objects.search("S Singh")) == [sk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's trigram index")
def test_search_uses_the_trigram_index_on_postgresql(tree):
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cur.fetchone() is None:
            pytest.skip("pg_trgm could not be created on this server")
    person(tree.booth1, "संजय राय")
    assert "people_person_name_key_trgm" in plan(Person.objects.search("sanjay"))
    assert "people_person_phone_trgm" in plan(Person.objects.search("43210"))


@on_sqlite
def test_the_index_follows_inserts_renames_and_deletes(tree):
    p = person(tree.booth1, "संजय राय")
    assert p.pk in indexed("% sanjy%")
    p.name = "पूजा यादव"
    p.save()
    assert p.pk not in indexed("% sanjy%")
    assert p.pk in indexed("% yadv%")
    Person.objects.filter(pk=p.pk).update(name_key=" rekh gupt ")  # a raw bulk update
    assert p.pk not in indexed("% yadv%") and p.pk in indexed("% gupt%")
    p.delete()
    assert indexed("% gupt%") == set()


@on_sqlite
def test_the_index_follows_a_new_phone_number(tree):
    p = person(tree.booth1, "संजय राय")
    Person.objects.filter(pk=p.pk).update(phone="+919000054321")
    assert indexed("%54321", "phone") == {p.pk}
    assert indexed("% sanjy%") == {p.pk}
    assert list(Person.objects.search("54321")) == [p]
    assert list(Person.objects.search("sanjay")) == [p]


@on_sqlite
def test_an_unrelated_update_leaves_the_index_alone(tree):
    p = person(tree.booth1, "संजय राय")
    Person.objects.filter(pk=p.pk).update(birth_year=1980, institution="BHU")
    assert indexed("% sanjy%") == {p.pk}
    assert list(Person.objects.search("sanjay")) == [p]


@on_sqlite
def test_bulk_seeded_people_are_indexed_and_found(tree):
    from sangathan.core import seeding

    seeding.seed_people(300, [(tree.booth1.pk, tree.booth1.path)], seed=7)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {SEARCH_FTS_TABLE}")
        assert cur.fetchone()[0] == Person.objects.count() == 300
    some = Person.objects.order_by("pk")[150]
    first_word = some.name_key.split()[0]
    assert some.pk in indexed(f"% {first_word}%")
    assert some in Person.objects.search(some.name)
    unindexed = Person.objects.filter(name_key__contains=f" {first_word}")
    assert set(Person.objects.search(first_word)) == set(unindexed)
    assert list(Person.objects.search(some.phone[-7:])) == [some]
    later = person(tree.booth2, "रीना गुप्ता")  # the per-row trigger is back
    assert later.pk in indexed("% rin%")


@on_sqlite
def test_a_bulk_load_after_an_interrupted_one_rebuilds_the_index(tree):
    from sangathan.core import seeding

    with connection.cursor() as cur:  # as a load killed half-way leaves it
        cur.execute(f"DROP TRIGGER {seeding.FTS_INSERT_TRIGGER}")
    stray = person(tree.booth1, "संजय राय")
    assert indexed("% sanjy%") == set()
    seeding.seed_people(20, [(tree.booth1.pk, tree.booth1.path)], seed=7)
    assert stray.pk in indexed("% sanjy%")
    assert person(tree.booth1, "पूजा यादव").pk in indexed("% puj%")
