"""Who a broadcast reaches: a unit subtree joined to people, narrowed by filters, consent and
opt-outs, resolved in SQL. The preview, the fan-out and the feed share these definitions."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from sangathan.broadcasts.models import CONSENT_CHANNEL, EXTERNAL_CHANNELS

FILTER_KEYS = ("levels", "positions", "wings", "tags", "app")


class AudienceError(ValueError):
    pass


def clean_filters(raw: dict | None) -> dict:
    """Normalise an audience filter: drop empty keys, check the values' shapes."""
    raw = raw or {}
    unknown = set(raw) - set(FILTER_KEYS)
    if unknown:
        raise AudienceError(_("Unknown audience filter: %(keys)s") % {"keys": ", ".join(unknown)})
    out: dict = {}
    for key in ("levels", "wings", "tags"):
        values = [str(v).strip() for v in raw.get(key) or [] if str(v).strip()]
        if values:
            out[key] = sorted(set(values))
    positions = raw.get("positions") or []
    try:
        positions = sorted({int(p) for p in positions})
    except (TypeError, ValueError):
        raise AudienceError(_("Positions must be given by their numbers.")) from None
    if positions:
        out["positions"] = positions
    app = raw.get("app") or ""
    if app not in ("", "joined", "not_joined"):
        raise AudienceError(_("The app filter is “joined” or “not_joined”."))
    if app:
        out["app"] = app
    return out


def _current_appointments():
    from sangathan.people.models import Appointment

    return Appointment.objects.current().filter(person=OuterRef("pk"))


def filter_people(qs, filters: dict, excluded_paths=()):
    """Narrow a Person queryset by an audience filter (all given keys must match) and drop
    the subtrees in ``excluded_paths``."""
    from sangathan.people.models import AppStatus, Tag

    if filters.get("levels"):
        qs = qs.filter(
            Exists(_current_appointments().filter(unit__level__slug__in=filters["levels"]))
        )
    if filters.get("positions"):
        qs = qs.filter(Exists(_current_appointments().filter(position_id__in=filters["positions"])))
    if filters.get("wings"):
        qs = qs.filter(Exists(_current_appointments().filter(position__wing__in=filters["wings"])))
    if filters.get("tags"):
        through = Tag.people.through
        qs = qs.filter(
            Exists(through.objects.filter(person=OuterRef("pk"), tag__name__in=filters["tags"]))
        )
    if filters.get("app") == "joined":
        qs = qs.filter(app_status=AppStatus.JOINED)
    elif filters.get("app") == "not_joined":
        qs = qs.exclude(app_status=AppStatus.JOINED)
    for path in excluded_paths:
        qs = qs.exclude(unit__path__under=path)
    return qs


def audience_people(unit, filters: dict | None = None, excluded_paths=()):
    """Everyone the broadcast addresses, before channel consent."""
    from sangathan.people.models import Person

    qs = Person.objects.filter(unit__path__under=unit.path)
    return filter_people(qs, filters or {}, excluded_paths)


def reachable_on(qs, channel: str, purpose: str):
    """Narrow people to those a channel may message for ``purpose``: active consent, an
    address, and no opt-out on record for that address."""
    from sangathan.channels.models import PushSubscription, Suppression

    if channel not in EXTERNAL_CHANNELS:
        return qs
    qs = qs.with_consent(CONSENT_CHANNEL[channel], purpose)
    address = "email" if channel == "email" else "phone"
    if channel == "email":
        qs = qs.exclude(email="")
    if channel == "push":
        qs = qs.filter(Exists(PushSubscription.objects.filter(person=OuterRef("pk"))))
    # Opt-outs are kept by address; email addresses in lower case.
    ref = Lower(OuterRef("email")) if channel == "email" else OuterRef(address)
    return qs.exclude(Exists(Suppression.objects.filter(channel=channel, address=ref)))


def preview_counts(unit, channels, purpose: str, filters=None, excluded_paths=()) -> dict:
    """The exact number of people each channel would reach now, after consent and opt-outs.
    Audience-sized work: for the compose page and the CLI, never on the publish path."""
    base = audience_people(unit, filters, excluded_paths)
    counts = {}
    for channel in channels:
        if channel == "groups":  # members of the audience's WhatsApp groups, as last counted
            from sangathan.groups.forwards import group_members_within

            counts[channel] = group_members_within(unit, excluded_paths)
        elif channel == "feed" and not filters and not excluded_paths:
            counts[channel] = unit.people_count
        else:
            counts[channel] = reachable_on(base, channel, purpose).count()
    return counts


class MemberProfile:
    """What the feed's filters need to know about one member, read once per request."""

    def __init__(self, person):
        from sangathan.people.models import AppStatus

        self.person = person
        self.path = person.unit.path
        rows = list(
            person.appointments.current().values_list(
                "unit__level__slug", "position_id", "position__wing"
            )
        )
        self.levels = {r[0] for r in rows}
        self.positions = {r[1] for r in rows}
        self.wings = {r[2] for r in rows}
        self._tags = None
        self.joined = person.app_status == AppStatus.JOINED

    @property
    def tags(self) -> set[str]:
        if self._tags is None:
            self._tags = set(self.person.tags.values_list("name", flat=True))
        return self._tags

    def matches(self, filters: dict, excluded_paths) -> bool:
        if any(self.path.startswith(p) for p in excluded_paths or ()):
            return False
        if filters.get("levels") and not self.levels & set(filters["levels"]):
            return False
        if filters.get("positions") and not self.positions & set(filters["positions"]):
            return False
        if filters.get("wings") and not self.wings & set(filters["wings"]):
            return False
        if filters.get("tags") and not self.tags & set(filters["tags"]):
            return False
        if filters.get("app") == "joined" and not self.joined:
            return False
        if filters.get("app") == "not_joined" and self.joined:
            return False
        return True


def narrowed_ids_for(person, base) -> list[int]:
    """Of the narrowed broadcasts in ``base`` (filters or silence exclusions), the ones
    ``person`` matches. Narrowed broadcasts are few; one query reads them all."""
    rows = list(base.filter(narrowed=True).values_list("pk", "filters", "excluded_paths"))
    if not rows:
        return []
    profile = MemberProfile(person)
    return [pk for pk, filters, excluded in rows if profile.matches(filters or {}, excluded)]
