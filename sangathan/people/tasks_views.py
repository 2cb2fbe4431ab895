"""Staff pages for tasks ("My tasks" in the member app) and for erasing a person on request.

Tasks: set one for a post at every unit of an area, or for one person; the list shows each
task's done / assigned counts, computed in SQL. Both pages are scoped to the user's
jurisdiction: someone with none gets 404, and a unit or person outside it is refused.
"""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods

from sangathan.org.models import OrgUnit
from sangathan.org.scoping import get_person_for_user, jurisdiction_for
from sangathan.org.views import render_page
from sangathan.people.actions import ActionRefused, do_create_task, do_erase_person
from sangathan.people.models import Person, Position, Task, TaskKind
from sangathan.people.phones import PhoneError, normalise_phone


class TaskForm(forms.Form):
    title = forms.CharField(label=_lazy("Task"), max_length=200)
    kind = forms.ChoiceField(label=_lazy("Kind"), choices=TaskKind.choices, initial="other")
    body = forms.CharField(
        label=_lazy("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    share_text = forms.CharField(
        label=_lazy("Text to share (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    link = forms.URLField(label=_lazy("Link (optional)"), required=False, assume_scheme="https")
    due = forms.DateField(
        label=_lazy("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assign = forms.ChoiceField(
        label=_lazy("For"),
        choices=[
            ("position", _lazy("a post, in every unit of an area")),
            ("person", _lazy("one person")),
        ],
        initial="position",
        widget=forms.RadioSelect,
    )
    position = forms.ModelChoiceField(
        label=_lazy("Post"), queryset=Position.objects.select_related("level"), required=False
    )
    unit = forms.CharField(label=_lazy("Area (unit code)"), max_length=64, required=False)
    phone = forms.CharField(label=_lazy("Person's mobile"), max_length=20, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        j = jurisdiction_for(self.user)
        if data.get("assign") == "person":
            try:
                phone = normalise_phone(data.get("phone") or "")
            except PhoneError:
                self.add_error("phone", _("Type a valid mobile number."))
                return data
            person = j.filter(Person.objects.filter(phone=phone), "unit__path").first()
            if person is None:
                self.add_error("phone", _("Nobody with this number in your area."))
            data["person_obj"] = person
        else:
            if data.get("position") is None:
                self.add_error("position", _("Choose the post."))
            code = (data.get("unit") or "").strip()
            unit = None
            if code:
                unit = (
                    j.filter(OrgUnit.objects.select_related("level"), "path")
                    .filter(code=code)
                    .first()
                )
            elif len(j.root_units()) == 1 and not j.everything:
                unit = j.root_units()[0]
            if unit is None:
                self.add_error("unit", _("Type the code of a unit in your area."))
            data["unit_obj"] = unit
        return data


def _require_jurisdiction(user):
    j = jurisdiction_for(user)
    if j.is_empty and not j.everything:
        raise Http404("No jurisdiction")
    return j


@require_http_methods(["GET", "POST"])
def tasks(request):
    _require_jurisdiction(request.user)
    form = TaskForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            do_create_task(
                request.user,
                title=d["title"],
                kind=d["kind"],
                body=d["body"],
                link=d["link"],
                share_text=d["share_text"],
                due=d["due"],
                person=d.get("person_obj") if d["assign"] == "person" else None,
                position=d["position"] if d["assign"] == "position" else None,
                scope_unit=d.get("unit_obj") if d["assign"] == "position" else None,
                request=request,
            )
        except ActionRefused as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("Task set."))
            if not getattr(request, "htmx", False):
                return redirect("people:tasks")
            form = TaskForm(user=request.user)
    rows = list(
        Task.objects.visible_to(request.user)
        .with_progress()
        .select_related("position", "position__level", "person", "scope_unit", "scope_unit__level")
        .order_by("-created_at", "-pk")[:100]
    )
    context = {"form": form, "tasks": rows}
    return render_page(request, "people/tasks.html", context, partial="tasks_block")


class EraseForm(forms.Form):
    reason = forms.CharField(
        label=_lazy("Reason (e.g. “asked on the phone on 3 June”)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _lazy("Give the reason for erasing this person's data.")},
    )


@require_http_methods(["GET", "POST"])
def erase_person(request, pk):
    """Erase a person's data on their request (DPDP Act s.12(3)), by someone with jurisdiction
    over them; the reason is required and recorded."""
    person = get_person_for_user(request.user, pk)
    if person.is_erased:
        raise Http404("Already erased")
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_erase_person(
                person,
                form.cleaned_data["reason"],
                actor=request.user,
                requested_by="staff",
                request=request,
            )
        except ActionRefused as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("The person's data has been erased."))
            return redirect("people:search")
    return render(request, "people/erase.html", {"person": person, "form": form})
