"""Staff pages for the organisation tree: the unit browser, a unit's people, its appointments,
the vacancy query and reorganisation (moves, renames, units from a file). Every lookup goes
through ``sangathan.org.scoping``; counts come from the maintained columns on ``OrgUnit`` so a
page costs the same few queries at any size."""

from __future__ import annotations

import secrets

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.org.actions import (
    ReorganisationError,
    UnitsFileError,
    do_move_unit,
    do_rename_unit,
    import_units,
    read_units_file,
)
from sangathan.org.forms import MoveUnitForm, RenameUnitForm, UnitsFileForm
from sangathan.org.models import OrgUnit, UnitMove
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for
from sangathan.people.actions import ActionRefused, do_appoint, do_end_appointment, do_transfer
from sangathan.people.models import Appointment, Person, Position

PAGE_SIZE = 50
CANDIDATES = 10
# Above this many people an unfiltered, name-sorted list costs a sort of the whole subtree
# (about 0.3 s per 100,000 rows on SQLite) and nobody reads it: ask for a search instead.
LIST_LIMIT = 50_000
HISTORY_SIZE = 20  # moves shown on a unit's page
PREVIEW_LIMIT = 500  # bad rows of a units file shown in its preview


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
        "can_reorganise": can_reorganise(request.user, unit),
        "moves": unit_history(request.user, unit),
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
    from sangathan.people.committees import seats_for_unit

    seats = seats_for_unit(unit, positions)  # a committee's seats where it applies
    holders: dict[int, list] = {p.pk: [] for p in positions}
    for a in current:
        a.person_visible = j.contains(a.person.unit)
        holders.setdefault(a.position_id, []).append(a)
    rows = [
        {
            "position": p,
            "seats": seats[p.pk],
            "holders": holders[p.pk],
            "vacant": range(max(seats[p.pk] - len(holders[p.pk]), 0)),
        }
        for p in positions
        if seats[p.pk] or holders[p.pk]
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
    seats = 0
    if position is not None:
        filled = (
            Appointment.objects.current()
            .filter(position=position, unit=OuterRef("pk"))
            .order_by()
            .values("unit")
            .annotate(n=Count("pk"))
            .values("n")
        )
        from sangathan.people.committees import seat_rule

        seats, scopes = seat_rule(position)  # a committee's post has seats where it applies
        where = Q()
        if scopes is not None:
            where = Q(pk__in=[])
            for path in scopes:
                where |= Q(path__under=path)
        units = (
            OrgUnit.objects.within(unit)
            .filter(where, level_id=position.level_id)
            .annotate(filled=Coalesce(Subquery(filled), 0))
            .filter(filled__lt=seats)
            .select_related("level", "polling_location")
            .order_by("path")
        )
        page = paginate(request, units)
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
        "positions": positions,
        "position": position,
        "seats": seats,
        "level": level,
        "page": page,
    }
    return render_page(request, "org/vacancies.html", context, partial="results")


# --- reorganisation: move, rename, add units from a file ------------------------------------


def can_reorganise(user, unit: OrgUnit) -> bool:
    """Whether ``user`` may move or rename ``unit``: its parent must lie in their jurisdiction
    too, so nobody moves (or renames) the top of their own area, which is their superiors'."""
    parent_path = unit.path[: -OrgUnit.steplen]
    return bool(parent_path) and jurisdiction_for(user).contains_path(parent_path)


def refuse_reorganise(request, unit: OrgUnit):
    """403 for a unit the user may see but not move: the top of their own area."""
    context = {"unit": unit, "crumbs": unit_crumbs(request.user, unit, include_self=True)}
    return render(request, "org/reorganise_refused.html", context, status=403)


def unit_history(user, unit: OrgUnit) -> list[UnitMove]:
    """The unit's moves, newest first, each marked with which ends the user may open."""
    j = jurisdiction_for(user)
    moves = list(
        UnitMove.objects.filter(unit=unit).select_related("old_parent", "new_parent", "moved_by")[
            :HISTORY_SIZE
        ]
    )
    for m in moves:
        m.old_visible = m.old_parent is not None and j.contains(m.old_parent)
        m.new_visible = m.new_parent is not None and j.contains(m.new_parent)
    return moves


def parent_candidates(user, unit: OrgUnit, q: str) -> list[OrgUnit]:
    """Units in the user's area that ``unit`` could move under and that match ``q`` (a code or
    part of a name): higher levels only, not inside the unit, not its present parent; the
    nearest level first."""
    if len(q) < 2:
        return []
    match = (
        Q(code__icontains=q)
        | Q(name__icontains=q)
        | Q(name_en__icontains=q)
        | Q(name_hi__icontains=q)
    )
    units = (
        OrgUnit.objects.visible_to(user)
        .filter(match, level__depth__lt=unit.level.depth)
        .exclude(path__under=unit.path)
        .exclude(path=unit.path[: -OrgUnit.steplen])
        .select_related("level")
        .order_by("-level__depth", "path")
    )
    return list(units[:CANDIDATES])


@require_http_methods(["GET", "POST"])
def move_unit(request, code):
    unit = get_unit_for_user(request.user, code)
    if not can_reorganise(request.user, unit):
        return refuse_reorganise(request, unit)
    old_parent = OrgUnit.objects.select_related("level").get(path=unit.path[: -OrgUnit.steplen])
    form = MoveUnitForm(
        request.POST if request.method == "POST" else None, unit=unit, user=request.user
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        new_parent = form.cleaned_data["new_parent"]
        if request.POST.get("confirm"):
            try:
                do_move_unit(
                    unit, new_parent, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ReorganisationError as e:
                form.add_error("parent_code", str(e))
            else:
                messages.success(
                    request,
                    _("%(unit)s moved from %(old)s to %(new)s.")
                    % {
                        "unit": unit.display_name,
                        "old": old_parent.display_name,
                        "new": new_parent.display_name,
                    },
                )
                return redirect("org:unit", code=unit.code)
        else:
            preview = {
                "new_parent": new_parent,
                "units": OrgUnit.objects.within(unit).order_by().count(),
                "people": unit.people_count,
            }
    q = request.GET.get("q", "").strip()
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit, include_self=True),
        "old_parent": old_parent,
        "form": form,
        "preview": preview,
        "q": q,
        "candidates": parent_candidates(request.user, unit, q),
    }
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render_page(request, "org/move_unit.html", context, partial="candidates", status=status)


@require_http_methods(["GET", "POST"])
def rename_unit(request, code):
    unit = get_unit_for_user(request.user, code)
    if not can_reorganise(request.user, unit):
        return refuse_reorganise(request, unit)
    if request.method == "POST":
        form = RenameUnitForm(request.POST)
        if form.is_valid():
            try:
                do_rename_unit(unit, actor=request.user, **form.cleaned_data)
            except ReorganisationError as e:
                form.add_error("name", str(e))
            else:
                messages.success(
                    request,
                    _("The unit is now called %(name)s.") % {"name": form.cleaned_data["name"]},
                )
                return redirect("org:unit", code=unit.code)
    else:
        form = RenameUnitForm(
            initial={"name": unit.name, "name_en": unit.name_en, "name_hi": unit.name_hi}
        )
    context = {
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit, include_self=True),
        "form": form,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "org/rename_unit.html", context, status=status)


def _import_session_key(unit: OrgUnit) -> str:
    return f"org:import_units:{unit.code}"


@require_http_methods(["GET", "POST"])
def import_units_view(request, code):
    """Upload → preview (nothing written; the rows wait in the session) → confirm."""
    unit = get_unit_for_user(request.user, code)
    key = _import_session_key(unit)
    context = {"unit": unit, "crumbs": unit_crumbs(request.user, unit, include_self=True)}
    if request.method == "POST" and request.POST.get("confirm"):
        pending = request.session.get(key)
        # Take the rows out of the session first, so that a second click imports nothing.
        if not pending or pending.get("token") != request.POST.get("token"):
            messages.error(
                request,
                _("There is no checked file waiting to be imported here; upload it again."),
            )
            return redirect("org:import_units", code=unit.code)
        del request.session[key]
        result = import_units(pending["rows"], commit=True, actor=request.user, within=unit)
        messages.success(
            request,
            _(
                "%(created)s units added and %(updated)s renamed from %(file)s; "
                "%(skipped)s rows with problems skipped."
            )
            % {
                "created": result["created"],
                "updated": result["updated"],
                "file": pending["filename"],
                "skipped": len(result["invalid"]),
            },
        )
        return redirect("org:unit", code=unit.code)
    bound = request.method == "POST"
    form = UnitsFileForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = read_units_file(upload.read())
        except UnitsFileError as e:
            form.add_error("file", _("The file cannot be read: %(reason)s") % {"reason": e})
        else:
            result = import_units(rows, within=unit)
            token = secrets.token_urlsafe(12)
            if result["created"] or result["updated"]:
                request.session[key] = {
                    "token": token,
                    "filename": upload.name[:255],
                    "rows": rows,
                }
            else:
                request.session.pop(key, None)
            context |= {
                "result": result,
                "invalid": result["invalid"][:PREVIEW_LIMIT],
                "more_invalid": max(len(result["invalid"]) - PREVIEW_LIMIT, 0),
                "good": result["created"] + result["updated"],
                "filename": upload.name,
                "token": token,
            }
            return render(request, "org/import_units_preview.html", context)
    context["form"] = form
    status = 400 if bound else 200
    return render(request, "org/import_units.html", context, status=status)
