"""Staff pages for the organisation tree: the unit browser, a unit's people, its appointments
and the vacancy query. Every lookup goes through ``sangathan.org.scoping``; counts come from
the maintained columns on ``OrgUnit`` so a page costs the same few queries at any size."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sangathan.org.models import OrgUnit
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for
from sangathan.people.actions import ActionRefused, do_appoint, do_end_appointment, do_transfer
from sangathan.people.models import Appointment, Person, Position

PAGE_SIZE = 50
CANDIDATES = 10
# Above this many people an unfiltered, name-sorted list costs a sort of the whole subtree
# (about 0.3 s per 100,000 rows on SQLite) and nobody reads it: ask for a search instead.
LIST_LIMIT = 50_000


def people_within(user, unit: OrgUnit):
    """People whose home unit is ``unit`` or below it, and whom ``user`` may see."""
    return (
        Person.objects.visible_to(user)
        .filter(unit__in=OrgUnit.objects.within(unit).order_by().values("pk"))
        .select_related("unit", "unit__level")
    )


class CountedPaginator(Paginator):
    """A paginator that can take the total from a maintained counter instead of COUNT(*),
    which over a state's millions of people would be the slowest query on the page."""

    def __init__(self, object_list, per_page, *, known_count: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = known_count

    @cached_property
    def count(self) -> int:
        if self._known_count is not None:
            return self._known_count
        return super().count


def paginate(request, object_list, *, known_count=None, per_page=PAGE_SIZE):
    paginator = CountedPaginator(object_list, per_page, known_count=known_count)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # one query, however the template reads it
    return page


def wants_partial(request) -> bool:
    """An htmx request for a fragment (not a history restore, which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(request, template: str, context: dict, partial: str | None = None, **kwargs):
    """One view, two renderings: the whole page, or ``template#partial`` for htmx."""
    name = f"{template}#{partial}" if partial and wants_partial(request) else template
    response = render(request, name, context, **kwargs)
    patch_vary_headers(response, ["HX-Request"])
    return response


def unit_crumbs(user, unit: OrgUnit, *, include_self: bool = False) -> list[tuple[OrgUnit, bool]]:
    """Ancestors of ``unit`` (top first) with whether the user may open each; one query."""
    paths = unit.ancestor_paths() if include_self else unit.ancestor_paths()[:-1]
    if not paths:
        return []
    j = jurisdiction_for(user)
    ancestors = OrgUnit.objects.filter(path__in=paths).select_related("level").order_by("depth")
    return [(a, j.contains(a)) for a in ancestors]


def normalise_phone(raw: str) -> str | None:
    """E.164 for an Indian (or +country) number, or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, settings.SANGATHAN_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- the unit browser -----------------------------------------------------------------------


@require_GET
def home(request):
    roots = jurisdiction_for(request.user).root_units().select_related("polling_location")
    return render(request, "org/home.html", {"roots": roots})


@require_GET
def unit(request, code):
    unit = get_unit_for_user(request.user, code)
    children = (
        OrgUnit.objects.filter(path__under=unit.path, depth=unit.depth + 1)
        .select_related("level", "polling_location")
        .order_by("path")
    )
    page = paginate(request, children, known_count=unit.numchild)
    positions_below = Position.objects.filter(level__depth__gt=unit.level.depth).select_related(
        "level"
    )
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
        "page": page,
        "positions_below": positions_below,
    }
    return render_page(request, "org/unit.html", context, partial="children")


# --- a unit's people ------------------------------------------------------------------------


@require_GET
def unit_people(request, code):
    unit = get_unit_for_user(request.user, code)
    q = request.GET.get("q", "").strip()
    people = people_within(request.user, unit)
    too_many = not q and unit.people_count > LIST_LIMIT
    if q:
        page = paginate(request, people.search(q))
    elif too_many:
        page = paginate(request, [])
    else:
        page = paginate(request, people.order_by("name", "pk"), known_count=unit.people_count)
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
        "page": page,
        "q": q,
        "too_many": too_many and unit.people_count,
    }
    return render_page(request, "org/unit_people.html", context, partial="results")


# --- appointments ---------------------------------------------------------------------------


class AppointForm(forms.Form):
    position = forms.ModelChoiceField(
        label=gettext_lazy("Post"), queryset=Position.objects.none(), empty_label=None
    )
    person = forms.ModelChoiceField(
        label=gettext_lazy("Person"),
        queryset=Person.objects.none(),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": gettext_lazy("That person is not in your area.")},
    )
    phone = forms.CharField(label=gettext_lazy("or mobile number"), required=False, max_length=32)
    starts = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=255)

    def __init__(self, *args, unit: OrgUnit, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.user = user
        self.fields["position"].queryset = Position.objects.filter(level_id=unit.level_id)
        self.fields["person"].queryset = Person.objects.visible_to(user).select_related("unit")

    def clean(self):
        data = super().clean()
        person, phone = data.get("person"), (data.get("phone") or "").strip()
        if person is None and not phone and "person" not in self.errors:
            raise forms.ValidationError(_("Pick a person from the search, or type a mobile."))
        if person is None and phone:
            e164 = normalise_phone(phone)
            if e164 is None:
                self.add_error(
                    "phone", _("%(phone)s is not a valid mobile number.") % {"phone": phone}
                )
                return data
            found = Person.objects.visible_to(self.user).filter(phone=e164).first()
            if found is None:
                self.add_error(
                    "phone", _("No one with mobile %(phone)s in your area.") % {"phone": e164}
                )
                return data
            data["person"] = found
        return data


def find_candidates(user, q: str):
    """People in the user's whole area matching a name or a mobile number."""
    if not q:
        return []
    people = Person.objects.visible_to(user).select_related("unit", "unit__level")
    e164 = normalise_phone(q) if sum(c.isdigit() for c in q) >= 8 else None
    if e164:
        return list(people.filter(phone=e164))
    return list(people.search(q)[:CANDIDATES])


def appointments_context(request, unit: OrgUnit, form: AppointForm) -> dict:
    today = timezone.localdate()
    j = jurisdiction_for(request.user)
    positions = list(Position.objects.filter(level_id=unit.level_id))
    current = (
        Appointment.objects.current(today)
        .filter(unit=unit)
        .select_related("person", "person__unit", "position")
        .order_by("starts", "pk")
    )
    holders: dict[int, list] = {p.pk: [] for p in positions}
    for a in current:
        a.person_visible = j.contains(a.person.unit)
        holders.setdefault(a.position_id, []).append(a)
    rows = [
        {
            "position": p,
            "holders": holders[p.pk],
            "vacant": range(max(p.seats - len(holders[p.pk]), 0)),
        }
        for p in positions
    ]
    history = (
        Appointment.objects.filter(unit=unit, ends__isnull=False, ends__lte=today)
        .select_related("person", "position")
        .order_by("-ends", "-pk")[:PAGE_SIZE]
    )
    q = request.GET.get("q", "").strip()
    return {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
        "rows": rows,
        "history": history,
        "form": form,
        "q": q,
        "candidates": find_candidates(request.user, q),
        "today": today,
    }


@require_GET
def unit_appointments(request, code):
    unit = get_unit_for_user(request.user, code)
    initial = {"position": request.GET.get("position"), "phone": request.GET.get("phone", "")}
    form = AppointForm(unit=unit, user=request.user, initial=initial)
    context = appointments_context(request, unit, form)
    return render_page(request, "org/unit_appointments.html", context, partial="candidates")


@require_POST
def appoint(request, code):
    unit = get_unit_for_user(request.user, code)
    form = AppointForm(request.POST, unit=unit, user=request.user)
    if form.is_valid():
        person = form.cleaned_data["person"]
        try:
            do_appoint(
                person,
                form.cleaned_data["position"],
                unit,
                actor=request.user,
                starts=form.cleaned_data["starts"],
                note=form.cleaned_data["note"],
            )
        except ActionRefused as e:
            form.add_error(None, e.messages)
        else:
            messages.success(
                request,
                _("%(person)s is now %(position)s.")
                % {
                    "person": person.display_name,
                    "position": form.cleaned_data["position"].display_name,
                },
            )
            return redirect("org:unit_appointments", code=unit.code)
    context = appointments_context(request, unit, form)
    return render(request, "org/unit_appointments.html", context, status=400)


def _appointment_at(request, unit: OrgUnit, pk: int) -> Appointment:
    try:
        return (
            Appointment.objects.visible_to(request.user)
            .select_related("person", "position", "unit", "unit__level")
            .get(unit=unit, pk=pk)
        )
    except Appointment.DoesNotExist:
        raise Http404("No such appointment") from None


@require_POST
def end_appointment(request, code, pk):
    unit = get_unit_for_user(request.user, code)
    appointment = _appointment_at(request, unit, pk)
    try:
        do_end_appointment(appointment, actor=request.user)
    except ActionRefused as e:
        for m in e.messages:
            messages.error(request, m)
    else:
        messages.success(
            request,
            _("%(person)s is no longer %(position)s.")
            % {
                "person": appointment.person.display_name,
                "position": appointment.position.display_name,
            },
        )
    return redirect("org:unit_appointments", code=unit.code)


@require_POST
def transfer_appointment(request, code, pk):
    unit = get_unit_for_user(request.user, code)
    appointment = _appointment_at(request, unit, pk)
    new_code = request.POST.get("unit_code", "").strip()
    new_unit = (
        OrgUnit.objects.visible_to(request.user).select_related("level").filter(code=new_code)
    ).first()
    if new_unit is None:
        messages.error(request, _("No unit with code %(code)s in your area.") % {"code": new_code})
        return redirect("org:unit_appointments", code=unit.code)
    try:
        do_transfer(appointment, new_unit, actor=request.user)
    except ActionRefused as e:
        for m in e.messages:
            messages.error(request, m)
        return redirect("org:unit_appointments", code=unit.code)
    messages.success(
        request,
        _("%(person)s moved to %(unit)s.")
        % {"person": appointment.person.display_name, "unit": new_unit.display_name},
    )
    return redirect("org:unit_appointments", code=new_unit.code)


# --- vacancies ------------------------------------------------------------------------------


@require_GET
def vacancies(request, code):
    unit = get_unit_for_user(request.user, code)
    positions = list(
        Position.objects.filter(level__depth__gte=unit.level.depth).select_related("level")
    )
    level = request.GET.get("level", "")
    if level:
        positions = [p for p in positions if p.level.slug == level]
    position = next((p for p in positions if str(p.pk) == request.GET.get("position")), None)
    page = None
    if position is not None:
        filled = (
            Appointment.objects.current()
            .filter(position=position, unit=OuterRef("pk"))
            .order_by()
            .values("unit")
            .annotate(n=Count("pk"))
            .values("n")
        )
        units = (
            OrgUnit.objects.within(unit)
            .filter(level_id=position.level_id)
            .annotate(filled=Coalesce(Subquery(filled), 0))
            .filter(filled__lt=position.seats)
            .select_related("level", "polling_location")
            .order_by("path")
        )
        page = paginate(request, units)
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
        "positions": positions,
        "position": position,
        "level": level,
        "page": page,
    }
    return render_page(request, "org/vacancies.html", context, partial="results")
