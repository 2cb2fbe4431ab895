"""Names across scripts: a readable Latin form and a phonetic key for search.

A person's name is stored as written (Devanagari, Latin or both). For search we also store
``name_latin`` (how Indians would write the name in English letters: "संजय राय" -> "Sanjay
Rai") and ``name_key``: one phonetic key per word, space-separated with a space at each end
(" sanjy ray "), so a query word matches a stored word by ``LIKE '% key%'``.

Both scripts go through one pipeline, so equal keys mean "the same name as far as we can
tell":

    Devanagari -> aksharas (indic-transliteration's Harvard-Kyoto tables per letter)
               -> Hindi schwa deletion -> readable Latin ("Sanjay", not "Sanjaya")
    Latin      -> lower-case ASCII -> spelling variants folded -> key

The key folds what real spellings of one name vary in: sh/s (श/ष/स), v/w, z/j, ph/f, q/k,
x/ksh, ch/chh, ee/i, oo/u, aa/a, ou/au, doubled letters, Rai/Ray, Pandey/Pande, a final
consonant + y written for ई (Chaudhary), and every short "a" after the word's first vowel
(Hindi drops the inherent vowel in ways Latin spellings follow only half the time: Kamla and
Kamala, Sanjay and Sanjaya, Agarwal and Agrawal). Aspirates (kh, th, dh, bh, jh) are kept:
North Indian spellings write them faithfully, and they keep Tripathi apart from Tripti; only
ch/chh and gh/g are merged, because छ is often written ch and ग़ typed without its nukta.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.db import connections
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from indic_transliteration import sanscript

# --- Devanagari letters, classified once from the Unicode block -------------------------

VIRAMA = "\u094d"
NUKTA = "\u093c"
ANUSVARA = "\u0902"
CHANDRABINDU = "\u0901"
VISARGA = "\u0903"
# Letters the Harvard-Kyoto tables lack or spell oddly for Hindi: candra o/e (डॉक्टर) and
# the rare independent forms. Map them to the nearest ordinary letter first.
_PRE = str.maketrans(
    {"\u0949": "\u094b", "\u0911": "\u0913", "\u0945": "\u0947", "\u090d": "\u090f"}
)

_CONSONANTS = {chr(c) for c in range(0x0915, 0x093A)}
_INDEPENDENT_VOWELS = {chr(c) for c in range(0x0905, 0x0915)} | {"\u0960", "\u0961"}
_MATRAS = {chr(c) for c in range(0x093E, 0x094D)} | {"\u0962", "\u0963"}

DEVANAGARI_RUN = re.compile("[\u0900-\u0963\u0971-\u097f]+")
# A "word": a run of Devanagari, or a run of letters of any other script (with their
# combining accents). Digits and punctuation separate words ("S.K. Singh" -> S, K, Singh).
WORD = re.compile(
    "[\u0900-\u0963\u0971-\u097f]+|(?:(?![\u0900-\u097f])[^\\W\\d_]|[\u0300-\u036f])+"
)


@lru_cache(maxsize=256)
def _hk(text: str) -> str:
    return sanscript.transliterate(text, sanscript.DEVANAGARI, sanscript.HK)


def _consonant_hk(letter: str) -> str:
    """Harvard-Kyoto for a consonant (with its nukta, if any) without its vowel: क़ -> q."""
    return _hk(letter + VIRAMA)


def _vowel_hk(char: str) -> str:
    if char in _MATRAS:
        return _hk("क" + char)[1:]  # the sign's sound after a dummy consonant
    return _hk(char)


# Harvard-Kyoto consonant -> how Hindi speakers write it in English letters.
_LATIN_CONSONANT = {
    "G": "n",  # ङ
    "c": "ch",
    "ch": "chh",
    "J": "n",  # ञ
    "T": "t",
    "Th": "th",
    "D": "d",
    "Dh": "dh",
    "N": "n",  # ण
    "z": "sh",  # श
    "S": "sh",  # ष
    "qh": "kh",  # ख़
    "g2": "gh",  # ग़
    "z2": "z",  # ज़
    "r3": "r",  # ड़
    "r3h": "rh",  # ढ़
    "Y": "y",
    "L": "l",
}
_LATIN_VOWEL = {"A": "a", "I": "i", "U": "u", "R": "ri", "RR": "ri", "lR": "li", "lRR": "li"}
_LABIALS = {"p", "ph", "b", "bh", "m"}
_SEMIVOWELS_AND_LIQUIDS = {"y", "r", "l", "v"}
_NASALS = {"n", "N", "m", "G", "J"}
_STOPS_ASPIRATED = {"k": "kh", "g": "gh", "c": "ch", "j": "jh", "T": "Th", "D": "Dh"}

# Common first parts of compound names (राम|नरेश, ओम|प्रकाश). Hindi drops their final "a"
# even where the general rule would keep it (Omprakash, not Omaprakash).
_NAME_PREFIXES = tuple(
    sorted(
        (
            "राम",
            "राज",
            "श्याम",
            "शिव",
            "देव",
            "वेद",
            "जय",
            "ओम",
            "प्रेम",
            "धर्म",
            "ज्ञान",
            "विजय",
            "अजय",
            "ब्रज",
            "ब्रह्म",
            "मन",
            "हर",
            "लाल",
            "चंद",
            "चन्द",
            "बाल",
            "गुलाब",
            "सुख",
            "सत",
            "जगत",
            "कमल",
            "मोहन",
            "शंकर",
            "भगवान",
            "रघुवीर",
            "नवल",
            "नंद",
            "नन्द",
        ),
        key=len,
        reverse=True,
    )
)


class _Seg:
    """One sound of a Devanagari word: a consonant (C), vowel (V), nasal mark (N), visarga
    (H) or anything else passed through (X). ``schwa`` marks an unwritten inherent "a"."""

    __slots__ = ("kind", "hk", "schwa", "dropped", "protected")

    def __init__(self, kind: str, hk: str, schwa: bool = False):
        self.kind = kind
        self.hk = hk
        self.schwa = schwa
        self.dropped = False
        self.protected = False

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.kind}:{self.hk}{'°' if self.schwa else ''}{'×' if self.dropped else ''}"


def _segments(word: str) -> list[_Seg]:
    segs: list[_Seg] = []
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch in _CONSONANTS:
            letter = ch
            if i + 1 < n and word[i + 1] == NUKTA:
                letter += NUKTA
                i += 1
            segs.append(_Seg("C", _consonant_hk(letter)))
            nxt = word[i + 1] if i + 1 < n else ""
            if nxt == VIRAMA:
                i += 1
            elif nxt in _MATRAS:
                segs.append(_Seg("V", _vowel_hk(nxt)))
                i += 1
            else:
                segs.append(_Seg("V", "a", schwa=True))
        elif ch in _INDEPENDENT_VOWELS:
            segs.append(_Seg("V", _vowel_hk(ch)))
        elif ch in (ANUSVARA, CHANDRABINDU):
            segs.append(_Seg("N", "M"))
        elif ch == VISARGA:
            segs.append(_Seg("H", "h"))
        elif ch == "\u0950":  # ॐ
            segs += [_Seg("V", "o"), _Seg("C", "m")]
        elif ch in (NUKTA, VIRAMA, "\u093d"):  # stray marks, avagraha
            pass
        else:
            segs.append(_Seg("X", ch))
        i += 1
    return segs


def _live(seg: _Seg | None) -> bool:
    return seg is not None and not seg.dropped


def _keeps_final_schwa(cluster: list[str]) -> bool:
    """Whether a word-final consonant cluster keeps its "a": Krishna, Mishra, Surya, Shukla,
    Padma keep it; Anand, Prashant, Bhatt, Parth, Harsh drop it."""
    last, prev = cluster[-1], cluster[-2]
    if last in _SEMIVOWELS_AND_LIQUIDS:
        return True
    return last in _NASALS and prev not in _NASALS


def _delete_schwas(segs: list[_Seg], force_final: bool = False) -> None:
    """Hindi schwa deletion (Ohala's rule, right to left): an inherent "a" goes at the end of
    the word and between V C _ C V, never in the first syllable."""
    vowels = [i for i, s in enumerate(segs) if s.kind == "V"]
    if len(vowels) < 2:
        return
    first = vowels[0]
    last = segs[-1]
    if last.kind == "V" and last.schwa:
        cluster = []
        j = len(segs) - 2
        while j >= 0 and segs[j].kind == "C":
            cluster.insert(0, segs[j].hk)
            j -= 1
        if force_final or len(cluster) < 2 or not _keeps_final_schwa(cluster):
            last.dropped = True
    for i in range(len(segs) - 2, first, -1):
        s = segs[i]
        if s.kind != "V" or not s.schwa or s.dropped or s.protected:
            continue
        if i < 2 or i + 2 >= len(segs):
            continue
        before, before2 = segs[i - 1], segs[i - 2]
        after, after2 = segs[i + 1], segs[i + 2]
        if (
            before.kind == "C"
            and before2.kind == "V"
            and _live(before2)
            and after.kind == "C"
            and after2.kind == "V"
            and _live(after2)
        ):
            s.dropped = True


# Name endings that keep their "a" where Ohala's rule would drop it: Prajapati, Sumati,
# Bhagwati (not Prajapti, Sumti, Bhagavti).
_KEEP_SCHWA_ENDINGS = ("पति", "वती", "मती", "मति")


def _protect_endings(word: str, segs: list[_Seg]) -> None:
    for ending in _KEEP_SCHWA_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending):
            # The ending's first consonant is followed by its (inherent) vowel.
            tail = _segments(ending)
            head = segs[len(segs) - len(tail)]
            if head.kind == "C" and segs[len(segs) - len(tail) + 1].schwa:
                segs[len(segs) - len(tail) + 1].protected = True
            return


def _split_compound(word: str) -> list[str]:
    """राम|नरेश: split a known first part off when at least two letters follow it."""
    for prefix in _NAME_PREFIXES:
        if word.startswith(prefix) and len(word) > len(prefix):
            rest = word[len(prefix) :]
            if rest[0] in _CONSONANTS and sum(c in _CONSONANTS for c in rest) >= 2:
                return [prefix, *_split_compound(rest)]
    return [word]


def _long_in_first_syllable(live: list[_Seg], i: int) -> bool:
    """Whether ई/ऊ at ``live[i]`` (the first vowel) reads "ee"/"oo": Deepak, Geeta, Pooja,
    Poonam; but Shri, Nitish, Satish, Suraj, Surya as people write them."""
    vowel = live[i].hk
    nxt = live[i + 1] if i + 1 < len(live) else None
    if i == 0 or nxt is None or nxt.kind != "C":
        return False  # a word-initial ई/ऊ: Ishwar, Usha
    if vowel == "I":
        if i >= 2 and live[i - 1].hk == "r" and live[i - 2].kind == "C":
            return False  # श्री, प्री: Shri, Priti
        if nxt.hk in ("z", "S"):
            return False  # -ish: Satish, Girish
        if i + 2 < len(live) and live[i + 2].kind == "C":
            return False  # before a cluster: Dikshit, Dipti
        return not any(s.kind == "V" and s.hk == "I" for s in live[i + 1 :])
    return nxt.hk != "r"


def _long_in_last_syllable(live: list[_Seg], i: int) -> bool:
    """ई before one final consonant reads "ee" (Sandeep, Naveen, Sameer), except in -ish and
    -il (Satish, Ashish, Sunil)."""
    return (
        live[i].hk == "I"
        and i + 2 == len(live)
        and live[i + 1].kind == "C"
        and live[i + 1].hk not in ("z", "S", "l")
    )


def _reads_w(live: list[_Seg], i: int) -> bool:
    """Whether व reads "w": after a consonant other than r/z/n (Dwivedi, Ishwar, Bhagwan, but
    Chaturvedi, Rizvi, Tanvi), and before a final -at/-al/-ar/-an (Rawat, Agrawal, Pawan,
    Anwar)."""
    prev = live[i - 1] if i else None
    if prev is not None and prev.kind == "C" and prev.hk not in ("r", "z2", "n"):
        return True
    return (
        prev is not None
        and i + 3 == len(live)
        and live[i + 1].hk in ("a", "A")
        and live[i + 2].hk in ("t", "l", "r", "n")
    )


def _render(segs: list[_Seg], first_part: bool = True) -> str:
    """Readable lower-case Latin for schwa-deleted segments."""
    out: list[str] = []
    live = [s for s in segs if not s.dropped]
    # The first vowel's syllable: long ई/ऊ there read as "ee"/"oo" (Deepak, Pooja, Geeta);
    # elsewhere mostly as "i"/"u" (Sunita, Satish, Kapur), as most people write them.
    first_vowel = next((i for i, s in enumerate(live) if s.kind == "V"), -1) if first_part else -1
    for i, s in enumerate(live):
        prev = live[i - 1] if i else None
        nxt = live[i + 1] if i + 1 < len(live) else None
        if s.kind == "C":
            if s.hk == "J" and prev is not None and prev.kind == "C" and prev.hk == "j":
                out[-1] = "gy"  # ज्ञ: Gyan
                continue
            if s.hk == "v" and _reads_w(live, i):
                out.append("w")
                continue
            out.append(_LATIN_CONSONANT.get(s.hk, s.hk))
        elif s.kind == "V":
            vowel = s.hk
            if vowel in ("I", "U") and i == first_vowel and _long_in_first_syllable(live, i):
                out.append("ee" if vowel == "I" else "oo")
                continue
            if _long_in_last_syllable(live, i):
                out.append("ee")
                continue
            out.append(_LATIN_VOWEL.get(vowel, vowel))
        elif s.kind == "N":
            if nxt is not None and nxt.kind == "C" and nxt.hk in _LABIALS:
                out.append("m")
            elif nxt is not None and nxt.hk == "h" and i + 2 == len(live):
                out.append("ng")  # सिंह: Singh
            else:
                out.append("n")
        else:
            out.append(s.hk)
    text = "".join(out)
    # राय -> Rai: a one-syllable word in -ay is written -ai.
    if len(live) == 3 and live[1].hk == "A" and live[2].hk == "y":
        text = text[:-1] + "i"
    return text


@lru_cache(maxsize=200_000)
def latinise_word(word: str) -> str:
    """Readable Latin for one Devanagari word ("संजय" -> "Sanjay")."""
    word = unicodedata.normalize("NFC", word).translate(_PRE)
    parts = _split_compound(word)
    rendered = []
    for k, part in enumerate(parts):
        segs = _segments(part)
        _protect_endings(part, segs)
        _delete_schwas(segs, force_final=k < len(parts) - 1)
        rendered.append(_render(segs, first_part=k == 0))
    text = "".join(rendered)
    return text[:1].upper() + text[1:]


def _title(match: re.Match) -> str:
    word = match.group()
    # Keep deliberate casing (McDonald, DSouza); tidy all-lower or all-upper words.
    if word.islower() or word.isupper():
        return word[:1].upper() + word[1:].lower()
    return word


_LATIN_WORD = re.compile(r"(?:(?![\u0900-\u097f])[^\W\d_]|[\u0300-\u036f])+")


@lru_cache(maxsize=200_000)
def _latinise_token(token: str) -> str:
    token = DEVANAGARI_RUN.sub(lambda m: latinise_word(m.group()), token)
    return _LATIN_WORD.sub(_title, token)


def latinise(name: str) -> str:
    """The name in Latin letters as Indians write it: "संजय राय" -> "Sanjay Rai". Latin input
    comes back NFC-normalised with all-lower or all-upper words title-cased; mixed-script
    names are converted word by word."""
    # Cached per space-separated token: the seeder and importers repeat a few thousand.
    return " ".join(map(_latinise_token, unicodedata.normalize("NFC", name).split()))


# --- phonetic key ----------------------------------------------------------------------

_LATIN_FOLDS = [
    (re.compile(r"[^a-z]"), ""),
    (re.compile(r"x"), "ks"),
    (re.compile(r"chh?"), "C"),  # च and छ are both written ch
    (re.compile(r"ck"), "k"),
    (re.compile(r"c"), "k"),
    (re.compile(r"qui"), "ki"),  # Siddiqui
    (re.compile(r"q"), "k"),
    (re.compile(r"sh"), "s"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"gh"), "g"),  # ग़ुलाम is often typed गुलाम; Ghulam either way
    (re.compile(r"z"), "j"),
    (re.compile(r"ow(?![aeiou])"), "au"),  # Chowdhary
    (re.compile(r"w"), "v"),
    (re.compile(r"ee|ii"), "i"),
    (re.compile(r"oo|uu"), "u"),
    (re.compile(r"ou"), "au"),
    (re.compile(r"au"), "o"),
    (re.compile(r"ai"), "ay"),  # Sanjai/Sanjay, Rai/Ray, Jaiswal/Jayaswal
    (re.compile(r"(?<=[^aeiouy])y$"), "i"),  # Chaudhary = चौधरी
    (re.compile(r"er(?![aeiouy])"), "ar"),  # वर्मा is written Verma
]
_DOUBLES = re.compile(r"(.)\1+")
# Abbreviations and Urdu-origin spellings too far apart for the folds above, common in
# registers: Mohd., Md., Mohammed, Muhammad; Ahmed; Kr. (Kumar).
_KEY_ALIASES = {
    "mohd": "mohmd",
    "md": "mohmd",
    "mohmed": "mohmd",
    "muhmd": "mohmd",
    "muhmed": "mohmd",
    "ahmed": "ahmd",
    "kr": "kumr",
}
_FIRST_VOWEL = re.compile(r"[aeiou]")


def _fold_latin(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.lower())
    for pattern, replacement in _LATIN_FOLDS:
        word = pattern.sub(replacement, word)
    word = word.replace("C", "c")
    # Drop every "a" after the first vowel (schwa deletion and aa/a in one step), but keep
    # a leading one: it is always written (Amit, Sanjay, Ram).
    m = _FIRST_VOWEL.search(word)
    if m is not None:
        cut = m.end() if m.group() == "a" else m.start()
        word = word[:cut] + word[cut:].replace("a", "")
    if word.endswith("ey"):
        word = word[:-1]  # Pandey = Pande = पांडेय
    word = _DOUBLES.sub(r"\1", word)
    return _KEY_ALIASES.get(word, word)


@lru_cache(maxsize=200_000)
def phonetic_key(word: str) -> str:
    """A key equal for spellings of the same name word in either script
    ("संजय", "Sanjay", "sanjaya", "Sanjai" -> "sanjy")."""
    word = unicodedata.normalize("NFC", word)
    if DEVANAGARI_RUN.search(word):
        word = DEVANAGARI_RUN.sub(lambda m: latinise_word(m.group()), word)
    return _fold_latin(word)


def name_words(name: str) -> list[str]:
    return WORD.findall(unicodedata.normalize("NFC", name))


@lru_cache(maxsize=200_000)
def _token_keys(token: str) -> str:
    return " ".join(k for k in map(phonetic_key, WORD.findall(token)) if k)


def name_keys(name: str) -> str:
    """Keys of all words of ``name``, space-separated with a space at each end, as stored in
    ``Person.name_key`` (" sanjy ray "); empty when the name has no letters."""
    keys = [k for k in map(_token_keys, unicodedata.normalize("NFC", name).split()) if k]
    return f" {' '.join(keys)} " if keys else ""


def person_name_fields(name: str) -> tuple[str, str]:
    """``(name_latin, name_key)`` for a name, for bulk paths that skip ``save()``."""
    name = unicodedata.normalize("NFC", name)
    return latinise(name), name_keys(name)


def fill_person_name_fields(sender, instance, **kwargs) -> None:
    """pre_save: keep ``name_latin`` and ``name_key`` in step with ``name``.

    The stored key doubles as a record of the name it came from, so a changed key means the
    name changed and ``name_latin`` is recomputed too. A ``name_latin`` given by hand for a new
    person (a Devanagari name whose owner spells it their own way) is kept. Callers saving
    with ``update_fields=["name"]`` must list ``name_latin`` and ``name_key`` as well."""
    instance.name = unicodedata.normalize("NFC", instance.name or "")
    key = name_keys(instance.name)
    if (instance.name_key and instance.name_key != key) or not instance.name_latin:
        instance.name_latin = latinise(instance.name)
    elif not DEVANAGARI_RUN.search(instance.name):
        instance.name_latin = latinise(instance.name)  # Latin names: nothing to override
    instance.name_key = key


# --- search ----------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


def _phone_digits(q: str) -> str | None:
    """The digits of ``q`` if it is a phone number or its tail ("98765 43210", "+91-98…")."""
    stripped = re.sub(r"[\s+\-().]", "", q)
    if len(stripped) >= 3 and stripped.isascii() and stripped.isdigit():
        return stripped.lstrip("0") or None
    return None


# SQLite: the trigram index over name_key (migration people 0003), kept in step by triggers.
SEARCH_FTS_TABLE = "people_person_fts"


def _indexed_candidates(queryset: QuerySet, column: str, patterns: list[str]) -> Q:
    """On SQLite, ``id IN`` the rows whose ``column`` the trigram index finds LIKE every one of
    ``patterns``; ``Q()`` elsewhere, or when no pattern has the three literal characters the
    index needs (the caller's own filter then does all the work).

    Only narrows: every row the caller's LIKE filter matches is among the candidates, so
    results and ranks are unchanged. PostgreSQL needs nothing here: its ``gin_trgm_ops``
    indexes serve the LIKE filters themselves."""
    if connections[queryset.db].vendor != "sqlite":
        return Q()
    usable = [p for p in dict.fromkeys(patterns) if len(p.replace("%", "")) >= 3]
    if not usable:
        return Q()
    where = " AND ".join([f"{column} LIKE %s"] * len(usable))
    return Q(pk__in=RawSQL(f"SELECT rowid FROM {SEARCH_FTS_TABLE} WHERE {where}", usable))


def search_people(queryset: QuerySet, q: str) -> QuerySet:
    """People in ``queryset`` matching ``q``, best first, in one SQL query.

    Every query word must be the start of some word of the name, compared by phonetic key
    (so "sanj" finds संजय). ``search_rank`` orders them: 0 the name (or its Latin form)
    exactly as typed; 1 the
    same words in the same order and nothing else; 2 those words side by side; 3 side by side
    with the last one a prefix; 4 in order with other words between; 5 the rest; then by
    Latin name. A query of digits ("98765 43210", "+91-…", "43210") matches the end of the
    phone number instead; digits beside words must appear in the phone number.

    On SQLite the words are looked up in a trigram index first (``_indexed_candidates``); on
    PostgreSQL a trigram index serves the LIKE filter itself."""
    q = unicodedata.normalize("NFC", q or "").strip()
    digits = _phone_digits(q)
    if digits is not None:
        match = _indexed_candidates(queryset, "phone", [f"%{digits}"])
        return queryset.filter(match, phone__endswith=digits).order_by("name_latin", "pk")
    keys = [k for k in map(phonetic_key, name_words(q)) if k]
    if not keys:
        return queryset.none()
    # " " + a key of two letters is enough for the index; a one-letter key ("S" of "S.K.")
    # is left to the plain filter.
    match = _indexed_candidates(queryset, "name_key", [f"% {k}%" for k in keys])
    for key in keys:
        match &= Q(name_key__contains=f" {key}")
    for run in _DIGITS.findall(q):
        match &= Q(phone__contains=run)
    joined = " ".join(keys)
    rank = Case(
        # as typed, in either script: keeps Amita above Amit, whose keys are equal
        When(Q(name__iexact=q) | Q(name_latin__iexact=q), then=Value(0)),
        When(name_key=f" {joined} ", then=Value(1)),
        When(name_key__contains=f" {joined} ", then=Value(2)),
        When(name_key__contains=f" {joined}", then=Value(3)),
        # the words in order with others between (keys are [a-z] only: safe in a pattern)
        When(name_key__regex=".*".join(f" {k}" for k in keys), then=Value(4)),
        default=Value(5),
        output_field=IntegerField(),
    )
    return (
        queryset.filter(match)
        .annotate(search_rank=rank)
        .order_by("search_rank", "name_latin", "pk")
    )
