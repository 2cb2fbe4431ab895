"""Forward tasks: a broadcast on the "WhatsApp groups" channel becomes one task per admin of
every active group in its audience, with the ready text and a ``wa.me`` share link.

Made by the publish task (``sangathan.broadcasts.tasks.publish_broadcast``), set-based: the
(group, admin) pairs are read in one query and written with ``bulk_create`` in chunks, never one
queued task per recipient. Running it twice makes nothing twice (one ``GroupForward`` per
broadcast and group, unique). An admin's "done" in the member app is the confirmation; the reach
estimate is the sum of the latest member counts of the confirmed groups.

Reminders: ``send_reminders`` (run by ``sangathan worker``) tells each admin once, by Web Push
where they have the app's notifications on and SMS where they consented to it, about their
forward tasks still open after ``SANGATHAN_GROUP_REMINDER_HOURS`` (default 6).
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sangathan.groups.models import ForwardTask, Group, GroupForward

log = logging.getLogger("sangathan.groups")

CHUNK = 2000
WA_LINK_MAX = 500  # people.Task.link is a 500-character URL field


def reminder_hours() -> float:
    return float(getattr(settings, "SANGATHAN_GROUP_REMINDER_HOURS", 6))


def share_text_for(broadcast) -> str:
    """The text an admin forwards: title, message and link, in the organisation's language."""
    title, body = broadcast.text_for(settings.LANGUAGE_CODE)
    return "\n\n".join(part.strip() for part in (title, body, broadcast.link) if part.strip())


def wa_link(text: str, limit: int = WA_LINK_MAX) -> str:
    """``https://wa.me/?text=…`` for ``text``; a text too long for ``limit`` is cut (with "…")
    in the link only: the task's share text keeps all of it."""
    base = "https://wa.me/?text="
    url = base + quote(text, safe="")
    if len(url) <= limit:
        return url
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix whose link fits
        mid = (lo + hi + 1) // 2
        if len(base + quote(text[:mid].rstrip() + "…", safe="")) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return base + quote(text[:lo].rstrip() + "…", safe="")


def groups_in_audience(broadcast):
    """Active groups of the broadcast's audience subtree, outside the assemblies a silence
    window held it back from."""
    groups = Group.objects.active().within(broadcast.audience_unit)
    for path in broadcast.excluded_paths or ():
        groups = groups.exclude(unit__path__startswith=path)
    return groups


def group_members_within(unit, excluded_paths=()) -> int:
    """Latest member counts of the active groups in ``unit``'s subtree, summed."""
    groups = Group.objects.active().within(unit)
    for path in excluded_paths or ():
        groups = groups.exclude(unit__path__startswith=path)
    return groups.aggregate(n=Sum("member_count"))["n"] or 0


def create_forward_tasks(broadcast) -> int:
    """One ``GroupForward`` per active group in the audience and one forward task per admin of
    each; returns how many tasks were made (0 when they exist already)."""
    from sangathan.groups.models import GroupAdmin
    from sangathan.people.models import Task, TaskKind

    if GroupForward.objects.filter(broadcast=broadcast).exists():
        return 0
    text = share_text_for(broadcast)
    link = wa_link(text)
    pairs = list(
        GroupAdmin.objects.filter(group__in=groups_in_audience(broadcast).values("pk"))
        .order_by("group_id", "person_id")
        .values_list("group_id", "group__name", "person_id", "person__unit_id")
    )
    group_ids = list(groups_in_audience(broadcast).order_by("pk").values_list("pk", flat=True))
    if not group_ids:
        return 0
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        title_template = _("Forward to the WhatsApp group “%(group)s”")
        body = _(
            "Forward this message to the group and tap “done” when it is sent. Message: %(title)s"
        ) % {"title": broadcast.text_for(settings.LANGUAGE_CODE)[0]}
    try:
        with transaction.atomic():
            forwards = GroupForward.objects.bulk_create(
                [GroupForward(broadcast=broadcast, group_id=g, created_at=now) for g in group_ids],
                batch_size=CHUNK,
            )
            forward_of = {f.group_id: f.pk for f in forwards}
            if any(pk is None for pk in forward_of.values()):  # a backend without RETURNING
                forward_of = dict(
                    GroupForward.objects.filter(broadcast=broadcast).values_list("group_id", "pk")
                )
            made = 0
            for i in range(0, len(pairs), CHUNK):
                chunk = pairs[i : i + CHUNK]
                tasks = Task.objects.bulk_create(
                    [
                        Task(
                            title=(title_template % {"group": name})[:200],
                            body=body,
                            link=link,
                            share_text=text,
                            kind=TaskKind.FORWARD,
                            person_id=person_id,
                            scope_unit_id=unit_id,
                            created_by=broadcast.author,
                            created_at=now,
                        )
                        for _g, name, person_id, unit_id in chunk
                    ]
                )
                ForwardTask.objects.bulk_create(
                    [
                        ForwardTask(
                            forward_id=forward_of[group_id],
                            task_id=task.pk,
                            person_id=person_id,
                            created_at=now,
                        )
                        for task, (group_id, _n, person_id, _u) in zip(tasks, chunk, strict=True)
                    ]
                )
                made += len(tasks)
    except IntegrityError:
        # Another run of the publish task made them first.
        return 0
    log.info("broadcast %s: %d forward tasks for %d groups", broadcast.code, made, len(group_ids))
    _schedule_reminders(broadcast)
    return made


def _schedule_reminders(broadcast) -> None:
    """Wake the reminder sweep when the tasks fall due, where the backend can defer; the
    worker's sweep (``sangathan worker``) is the fallback that loses nothing."""
    from django_tasks import default_task_backend

    from sangathan.groups.tasks import remind_forward_admins

    if not default_task_backend.supports_defer:
        return
    when = timezone.now() + timedelta(hours=reminder_hours(), minutes=1)
    remind_forward_admins.using(run_after=when).enqueue()


# --- confirmation and reach ------------------------------------------------------------------


def reach_estimate(broadcast, unit=None) -> dict:
    """For ``broadcast`` (within ``unit``'s subtree if given): groups asked, groups confirmed,
    and the members of the confirmed groups (their latest counts), in one query."""
    forwards = GroupForward.objects.filter(broadcast=broadcast)
    if unit is not None:
        forwards = forwards.filter(group__unit__path__under=unit.path)
    from sangathan.people.models import TaskDone

    done = Q(Exists(TaskDone.objects.filter(task__group_forward__forward=OuterRef("pk"))))
    confirmed = done | Q(staff_confirmed_at__isnull=False)
    from django.db.models import Count

    figures = forwards.aggregate(
        groups=Count("pk"),
        confirmed=Count("pk", filter=confirmed),
        members=Sum("group__member_count", filter=confirmed),
        asked_members=Sum("group__member_count"),
    )
    return {k: v or 0 for k, v in figures.items()}


# --- reminders --------------------------------------------------------------------------------


def due_reminders(now=None):
    """Forward tasks still open after the reminder delay, not reminded yet, whose group
    forward nobody confirmed."""
    from sangathan.people.models import TaskDone

    now = now or timezone.now()
    cutoff = now - timedelta(hours=reminder_hours())
    return (
        ForwardTask.objects.filter(reminded_at=None, created_at__lte=cutoff)
        .exclude(Exists(TaskDone.objects.filter(task__group_forward__forward=OuterRef("forward"))))
        .filter(forward__staff_confirmed_at=None)
    )


def send_reminders(now=None) -> int:
    """Remind each admin once about their overdue forward tasks (one message per admin, each
    task at most once); returns how many admins were told. Safe to run from several workers:
    a task is claimed by one of them before anything is sent."""
    now = now or timezone.now()
    claim = secrets.token_hex(8)
    ids = list(due_reminders(now).values_list("pk", flat=True)[:5000])
    if not ids:
        return 0
    ForwardTask.objects.filter(pk__in=ids, reminded_at=None).update(
        reminded_at=now, reminder_claim=claim
    )
    rows = list(
        ForwardTask.objects.filter(reminder_claim=claim)
        .order_by("person_id", "pk")
        .values_list("pk", "person_id", "forward__group__name")
    )
    by_person: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, person_id, name in rows:
        by_person[person_id].append((pk, name))
    via = _deliver_reminders(by_person)
    for channel in ("push", "sms", "app"):
        pks = [
            pk
            for person, items in by_person.items()
            if via.get(person) == channel
            for pk, _name in items
        ]
        if pks:
            ForwardTask.objects.filter(pk__in=pks).update(reminded_via=channel)
    if by_person:
        from sangathan.accounts.audit import audit

        audit("group_forward_reminders", people=len(by_person), tasks=len(rows))
    return len(by_person)


def _reminder_text(names: list[str]) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Reminder: messages to forward")
        if len(names) == 1:
            body = _("Forward the message to the WhatsApp group “%(group)s” and tap “done”.") % {
                "group": names[0]
            }
        else:
            body = _(
                "Forward the messages to your %(n)s WhatsApp groups and tap “done” for each."
            ) % {"n": len(names)}
    return title, body


def _deliver_reminders(by_person: dict[int, list]) -> dict[int, str]:
    """Send one reminder per person: Web Push to their app where subscribed (and consented),
    else SMS where they consented to organisational SMS; the rest see the open task in the
    app. Returns the channel used per person."""
    from sangathan.channels.adapters import get_adapter
    from sangathan.channels.adapters.base import OutgoingMessage
    from sangathan.channels.adapters.sms import sms_text
    from sangathan.channels.models import PushSubscription, Suppression
    from sangathan.people.models import Consent, Person

    people = list(by_person)
    push_ok = set(
        Consent.objects.active()
        .filter(person_id__in=people, channel="push", purpose="organisational")
        .values_list("person_id", flat=True)
    )
    subs: dict[int, list] = defaultdict(list)
    for sub in PushSubscription.objects.filter(person_id__in=push_ok).values(
        "id", "person_id", "endpoint", "p256dh", "auth"
    ):
        subs[sub["person_id"]].append(
            {
                "id": sub["id"],
                "endpoint": sub["endpoint"],
                "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]},
            }
        )
    sms_people = (
        Person.objects.filter(pk__in=[p for p in people if p not in subs])
        .with_consent("sms", "organisational")
        .exclude(Exists(Suppression.objects.filter(channel="sms", address=OuterRef("phone"))))
        .values_list("pk", "phone")
    )
    phones = dict(sms_people)
    link = settings.SANGATHAN_PUBLIC_URL.rstrip("/") + "/app/#tasks"
    via: dict[int, str] = {}
    messages = {"push": [], "sms": []}
    for person_id, items in by_person.items():
        title, body = _reminder_text([name for _pk, name in items])
        if person_id in subs:
            channel, to, text = "push", subs[person_id], body
        elif person_id in phones:
            channel, to, text = "sms", phones[person_id], sms_text(title, body, link)
        else:
            via[person_id] = "app"
            continue
        messages[channel].append(
            OutgoingMessage(
                delivery_id=items[0][0],
                to=to,
                title=title,
                body=text,
                link=link,
                language=settings.LANGUAGE_CODE,
                person_id=person_id,
                channel=channel,
            )
        )
    for channel, batch in messages.items():
        if not batch:
            continue
        adapter = get_adapter(channel)
        try:
            results = adapter.send(batch)
        except Exception:  # a provider outage must not stop the sweep; the task stays open
            log.exception("group reminders: %s adapter failed", channel)
            results = []
        finally:
            adapter.close()
        ok = {r.delivery_id for r in results if r.ok}
        for m in batch:
            via[m.person_id] = channel if m.delivery_id in ok else "app"
    return via
