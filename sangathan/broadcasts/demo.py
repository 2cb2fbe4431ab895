"""Broadcasts for the demo organisation: something in every page to look at.

A state-wide message about a government scheme (feed and SMS) that some Lucknow assembly
in-charges have acknowledged, a district programme waiting for the state's approval (Lucknow
has more people than the approval threshold), a sent message to one assembly, and poll dates
for Lucknow's assemblies three weeks out (outside the silence window).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.fanout import fan_out
from sangathan.broadcasts.models import Acknowledgement, Broadcast, PollDate
from sangathan.org.models import OrgUnit
from sangathan.people.models import Appointment


def ensure_demo_broadcasts(admin, convenor, lucknow: OrgUnit) -> int:
    """Create the demo broadcasts once; returns how many it made."""
    if Broadcast.objects.exists():
        return 0
    state = OrgUnit.objects.get_parent(lucknow)
    scheme = do_create_broadcast(
        admin,
        Draft(
            audience_unit=state,
            title_hi="आयुष्मान कार्ड शिविर: हर बूथ पर पात्र परिवारों की सूची",
            body_hi=(
                "इस रविवार हर बूथ पर आयुष्मान कार्ड शिविर लगेगा। बूथ स्वयंसेवक पात्र "
                "परिवारों को सूचित करें और शिविर में साथ लाएँ।"
            ),
            title_en="Ayushman card camps: eligible families at every booth",
            body_en=(
                "This Sunday every booth holds an Ayushman card camp. Booth volunteers, "
                "tell eligible families and bring them along."
            ),
            topic="scheme",
            channels=["feed", "sms"],
        ),
    )
    scheme = Broadcast.objects.select_related("audience_unit").get(pk=scheme.pk)
    fan_out(scheme)
    # Some assembly in-charges have acknowledged it.
    in_charge = (
        Appointment.objects.current()
        .filter(unit__path__under=lucknow.path, unit__level__slug="assembly")
        .select_related("unit")
        .order_by("unit__path")
    )
    seen = set()
    acks = []
    for appointment in in_charge:
        if appointment.unit_id in seen or len(seen) >= 5:
            continue
        seen.add(appointment.unit_id)
        acks.append(
            Acknowledgement(
                broadcast=scheme,
                unit=appointment.unit,
                unit_path=appointment.unit.path,
                person=appointment.person,
            )
        )
    Acknowledgement.objects.bulk_create(acks, ignore_conflicts=True)
    made = 1
    if convenor is not None:
        do_create_broadcast(
            convenor,
            Draft(
                audience_unit=lucknow,
                title_hi="बूथ सशक्तिकरण अभियान: हर बूथ पर 10 नए कार्यकर्ता",
                body_hi="अगले दो हफ़्तों में हर बूथ पर दस नए कार्यकर्ता जोड़ें और ऐप पर लाएँ।",
                title_en="Booth strengthening drive: 10 new workers at every booth",
                body_en="In the next two weeks add ten new workers at every booth and bring "
                "them onto the app.",
                topic="programme",
                channels=["feed"],
            ),
        )
        ac = (
            OrgUnit.objects.filter(path__under=lucknow.path, level__slug="assembly")
            .order_by("path")
            .first()
        )
        if ac is not None:
            do_create_broadcast(
                convenor,
                Draft(
                    audience_unit=ac,
                    title_hi="विधानसभा बैठक शनिवार 11 बजे",
                    body_hi="सभी मंडल और सेक्टर प्रभारी शनिवार 11 बजे कार्यालय पहुँचें।",
                    title_en="Assembly meeting on Saturday at 11",
                    body_en="All mandal and sector in-charges, please come to the office on "
                    "Saturday at 11.",
                    channels=["feed"],
                ),
            )
        made += 2
    # Fan out now rather than waiting for the worker, so the reach pages have figures.
    for broadcast in Broadcast.objects.filter(status="sent", fanout_done_at=None).select_related(
        "audience_unit"
    ):
        fan_out(broadcast)
    closes = (timezone.localtime() + timedelta(days=21)).replace(
        hour=18, minute=0, second=0, microsecond=0
    )
    PollDate.objects.bulk_create(
        [
            PollDate(unit=ac, poll_closes_at=closes, note="Demo poll date", created_by=admin)
            for ac in OrgUnit.objects.filter(path__under=lucknow.path, level__slug="assembly")
        ]
    )
    return made
