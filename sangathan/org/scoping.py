"""Jurisdiction: the one place that decides which units a user may see and act on.

A user's jurisdiction is the union of the subtrees of their current appointments (the whole
tree for a superuser). Every view, API route and export scopes its queries through
``jurisdiction_for(user)``; object lookups go through ``get_unit_for_user`` and friends, which
answer 404 for anything outside, so an outsider cannot even learn that an id exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404


@dataclass(frozen=True)
class Jurisdiction:
    """The root paths a user may see; ``everything`` for superusers."""

    roots: tuple[str, ...]
    everything: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.roots

    def contains_path(self, path: str) -> bool:
        return self.everything or any(path.startswith(root) for root in self.roots)

    def contains(self, unit) -> bool:
        return self.contains_path(unit.path)

    def q(self, path_field: str) -> Q:
        if self.everything:
            return Q()
        if not self.roots:
            return Q(pk__in=[])
        q = Q()
        for root in self.roots:
            q |= Q(**{f"{path_field}__under": root})
        return q

    def filter(self, queryset: QuerySet, path_field: str = "path") -> QuerySet:
        """Narrow ``queryset`` to rows whose ``path_field`` (a unit path, e.g. ``unit__path``)
        lies inside this jurisdiction."""
        if self.everything:
            return queryset
        if not self.roots:
            return queryset.none()
        return queryset.filter(self.q(path_field))

    def root_units(self):
        from sangathan.org.models import OrgUnit

        if self.everything:
            return OrgUnit.objects.get_root_nodes().select_related("level")
        return OrgUnit.objects.filter(path__in=self.roots).select_related("level").order_by("path")


def _minimal_roots(paths) -> tuple[str, ...]:
    """Drop paths already covered by a shorter one (a district and a booth inside it)."""
    roots: list[str] = []
    for path in sorted(set(paths), key=lambda p: (len(p), p)):
        if not any(path.startswith(r) for r in roots):
            roots.append(path)
    return tuple(sorted(roots))


def jurisdiction_for(user) -> Jurisdiction:
    """The jurisdiction of ``user``, cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Jurisdiction(roots=())
    cached = getattr(user, "_sangathan_jurisdiction", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        result = Jurisdiction(roots=(), everything=True)
    elif user.person_id is None:
        result = Jurisdiction(roots=())
    else:
        from sangathan.people.models import Appointment

        paths = (
            Appointment.objects.current()
            .filter(person_id=user.person_id)
            .values_list("unit__path", flat=True)
        )
        result = Jurisdiction(roots=_minimal_roots(paths))
    user._sangathan_jurisdiction = result
    return result


def forget_jurisdiction(user) -> None:
    """Call after changing a user's appointments within the same request."""
    if hasattr(user, "_sangathan_jurisdiction"):
        del user._sangathan_jurisdiction


def get_unit_for_user(user, code: str):
    """The unit with ``code`` if the user may see it, else 404."""
    from sangathan.org.models import OrgUnit

    qs = jurisdiction_for(user).filter(OrgUnit.objects.select_related("level"), "path")
    try:
        return qs.get(code=code)
    except OrgUnit.DoesNotExist:
        raise Http404("No such unit") from None


def get_person_for_user(user, pk):
    """The person ``pk`` if their home unit lies in the user's jurisdiction, else 404."""
    from sangathan.people.models import Person

    qs = jurisdiction_for(user).filter(
        Person.objects.select_related("unit", "unit__level"), "unit__path"
    )
    try:
        return qs.get(pk=pk)
    except (Person.DoesNotExist, ValueError, TypeError):
        raise Http404("No such person") from None
