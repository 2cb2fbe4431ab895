"""Poster specifications for a drive's codes (the drive's own, each location's, each active
recruiter's), rendered by ``sangathan.drives.posters``."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from sangathan.drives.models import Drive


def join_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/join/{code}"


def poster_specs(drive: Drive, base_url: str, codes: list[str] | None = None) -> list:
    """One ``PosterSpec`` per code of the drive (or only ``codes``), Hindi and English."""
    from sangathan.drives.posters import PosterSpec

    entries = [(drive.code, "", "")]
    for loc in drive.locations.select_related("institution"):
        en = loc.institution.name_en if loc.institution and loc.institution.name_en else loc.name
        entries.append((loc.code, loc.name, en))
    for rec in drive.recruiters.filter(active=True).select_related("person"):
        name = rec.person.name if rec.person else ""
        latin = (rec.person.name_latin or rec.person.name) if rec.person else ""
        entries.append((rec.code, name, latin))
    institution = drive.institutions.first()
    specs = []
    for code, where_hi, where_en in entries:
        if codes is not None and code not in codes:
            continue
        place_hi = where_hi or (
            institution.name if institution else drive.unit.name_hi or drive.unit.name
        )
        place_en = where_en or (
            (institution.name_en or institution.name) if institution else drive.unit.name_en
        )
        with translation.override("hi"):
            sub_hi = f"{place_hi} — स्कैन करें और जुड़ें"
        specs.append(
            PosterSpec(
                title_hi=drive.name_hi or drive.name,
                title_en=drive.name,
                subtitle_hi=sub_hi,
                subtitle_en=f"{place_en} — scan and join",
                code=code,
                url=join_url(base_url, code),
                org_name=settings.SANGATHAN_ORG_NAME,
            )
        )
    return specs
