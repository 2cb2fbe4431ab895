"""Reads for a drive's pages: the funnel (per drive and per code), leaderboards and targets.

Everything is a handful of aggregate queries whatever the number of visits or sign-ups:
visits, codes sent and verifications are daily counters (``FunnelDay``); joins and activity
are ``GROUP BY`` over the drive's sign-up rows; districts are rolled up by path prefix.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Substr

from sangathan.drives.models import (
    Drive,
    DriveLocation,
    FunnelDay,
    Institution,
    Recruiter,
    SignUp,
    SignUpStatus,
)
from sangathan.org.models import OrgUnit

ACTIVE_WINDOW = timedelta(days=7)
LEADERBOARD_SIZE = 20


def _active_q():
    """Sign-ups whose person used the app within 7 days of joining: a feed read, or a use of
    one of their API tokens (``last_used_at``), inside the window."""
    from sangathan.accounts.models import ApiToken
    from sangathan.broadcasts.models import FeedRead

    start, end = OuterRef("created_at"), OuterRef("created_at") + ACTIVE_WINDOW
    read = FeedRead.objects.filter(
        person_id=OuterRef("person_id"), read_at__gte=start, read_at__lt=end
    )
    used = ApiToken.objects.filter(
        user__person_id=OuterRef("person_id"), last_used_at__gte=start, last_used_at__lt=end
    )
    return Q(Exists(read)) | Q(Exists(used))


def _live(drive: Drive):
    return SignUp.objects.filter(drive=drive).exclude(status=SignUpStatus.REJECTED)


def funnel(drive: Drive) -> dict:
    """``visits → otp_sent → verified → joined → active_7d`` for the whole drive, plus how
    many joins were counted, repeats and waiting for review."""
    sums = FunnelDay.objects.filter(drive=drive).aggregate(
        visits=Sum("visits"),
        otp_sent=Sum("otp_sent"),
        verified=Sum("verified"),
        joined=Sum("joined"),
    )
    result = {k: v or 0 for k, v in sums.items()}
    statuses = dict(
        SignUp.objects.filter(drive=drive)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    result["counted"] = statuses.get(SignUpStatus.COUNTED, 0)
    result["repeat"] = statuses.get(SignUpStatus.REPEAT, 0)
    result["suspicious"] = statuses.get(SignUpStatus.SUSPICIOUS, 0)
    result["rejected"] = statuses.get(SignUpStatus.REJECTED, 0)
    result["active_7d"] = _live(drive).filter(_active_q()).count()
    return result


def code_labels(drive: Drive) -> dict[str, dict]:
    """Every code of the drive with what it is: the drive's own, a location's, a recruiter's."""
    labels = {drive.code: {"code": drive.code, "kind": "drive", "label": drive.display_name}}
    for loc in DriveLocation.objects.filter(drive=drive).select_related("institution"):
        labels[loc.code] = {"code": loc.code, "kind": "location", "label": loc.name, "obj": loc}
    for rec in Recruiter.objects.filter(drive=drive).select_related("person"):
        name = rec.person.display_name if rec.person else "—"
        labels[rec.code] = {"code": rec.code, "kind": "recruiter", "label": name, "obj": rec}
    return labels


def funnel_by_code(drive: Drive) -> list[dict]:
    """The funnel of each code of the drive (codes without any activity too)."""
    rows = {code: dict(info) for code, info in code_labels(drive).items()}
    steps = ("visits", "otp_sent", "verified", "joined", "counted", "active_7d")
    for row in rows.values():
        row.update(dict.fromkeys(steps, 0))
    for r in (
        FunnelDay.objects.filter(drive=drive)
        .values("code")
        .annotate(v=Sum("visits"), o=Sum("otp_sent"), ve=Sum("verified"), j=Sum("joined"))
    ):
        row = rows.setdefault(r["code"], {"code": r["code"], "kind": "", "label": r["code"]})
        row.update(visits=r["v"], otp_sent=r["o"], verified=r["ve"], joined=r["j"])
    for code, n in (
        SignUp.objects.filter(drive=drive, counted=True)
        .values_list("code")
        .annotate(n=Count("pk"))
        .values_list("code", "n")
    ):
        rows.setdefault(code, {"code": code, "kind": "", "label": code})["counted"] = n
    for code, n in (
        _live(drive)
        .filter(_active_q())
        .values_list("code")
        .annotate(n=Count("pk"))
        .values_list("code", "n")
    ):
        rows.setdefault(code, {"code": code, "kind": "", "label": code})["active_7d"] = n
    for row in rows.values():
        for step in steps:
            row.setdefault(step, 0)
    return sorted(rows.values(), key=lambda r: (-r["counted"], -r["visits"], r["code"]))


def leaderboard_recruiters(drive: Drive, limit: int = LEADERBOARD_SIZE) -> list[dict]:
    counts = (
        SignUp.objects.filter(drive=drive, counted=True, recruiter__isnull=False)
        .values("recruiter")
        .annotate(n=Count("pk"))
        .order_by("-n", "recruiter")[:limit]
    )
    by_id = {r["recruiter"]: r["n"] for r in counts}
    recruiters = Recruiter.objects.filter(pk__in=by_id).select_related("person")
    rows = [{"recruiter": r, "n": by_id[r.pk]} for r in recruiters]
    return sorted(rows, key=lambda r: (-r["n"], r["recruiter"].pk))


def leaderboard_institutions(drive: Drive, limit: int = LEADERBOARD_SIZE) -> list[dict]:
    counts = (
        SignUp.objects.filter(drive=drive, counted=True, institution__isnull=False)
        .values("institution")
        .annotate(n=Count("pk"))
        .order_by("-n", "institution")[:limit]
    )
    by_id = {r["institution"]: r["n"] for r in counts}
    rows = [{"institution": i, "n": by_id[i.pk]} for i in Institution.objects.filter(pk__in=by_id)]
    return sorted(rows, key=lambda r: (-r["n"], r["institution"].pk))


def leaderboard_districts(drive: Drive, level: str = "district") -> list[dict]:
    """Counted sign-ups per district of their home unit, rolled up through the tree by path
    prefix in SQL (one ``GROUP BY`` per distinct path length of the level's units)."""
    units = {u.path: u for u in OrgUnit.objects.filter(level__slug=level).select_related("level")}
    lengths = sorted({len(p) for p in units})
    totals: dict[str, int] = {}
    for length in lengths:
        grouped = (
            SignUp.objects.filter(drive=drive, counted=True, home_unit__isnull=False)
            .annotate(prefix=Substr("home_unit__path", 1, length))
            .values("prefix")
            .annotate(n=Count("pk"))
        )
        for g in grouped:
            if g["prefix"] in units:
                totals[g["prefix"]] = totals.get(g["prefix"], 0) + g["n"]
    rows = [{"unit": units[p], "n": n} for p, n in totals.items()]
    return sorted(rows, key=lambda r: (-r["n"], r["unit"].path))


def target_progress(drive: Drive) -> list[dict]:
    """Each target with how many counted sign-ups it has: one query for all of them."""
    targets = list(drive.targets.select_related("unit", "institution"))
    if not targets:
        return []
    counted = SignUp.objects.filter(drive=drive, counted=True)
    aggregates = {}
    for t in targets:
        if t.unit_id:
            q = Q(home_unit__path__startswith=t.unit.path)
        else:
            q = Q(institution_id=t.institution_id)
        aggregates[f"t{t.pk}"] = Count("pk", filter=q)
    done = counted.aggregate(**aggregates)
    rows = []
    for t in targets:
        n = done[f"t{t.pk}"]
        rows.append(
            {
                "target": t,
                "name": t.unit.display_name if t.unit_id else t.institution.display_name,
                "n": n,
                "percent": min(100, round(100 * n / t.target)) if t.target else 100,
            }
        )
    return rows


def suspicious_queue(drive: Drive):
    return (
        SignUp.objects.filter(drive=drive, status=SignUpStatus.SUSPICIOUS)
        .select_related("person", "recruiter__person", "location", "institution", "home_unit")
        .order_by("created_at", "pk")
    )


__all__ = [
    "funnel",
    "funnel_by_code",
    "leaderboard_districts",
    "leaderboard_institutions",
    "leaderboard_recruiters",
    "suspicious_queue",
    "target_progress",
]
