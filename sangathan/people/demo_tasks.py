"""A few realistic tasks for the demo: the lead's demo command calls ``ensure_demo_tasks``."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sangathan.people.actions import do_create_task
from sangathan.people.models import Position, Task

FORWARD_TITLE = "योजना का संदेश अपने बूथ ग्रुप में भेजें"
ADD_TITLE = "अपने बूथ में 10 नए सदस्य जोड़ें"
MEETING_TITLE = "जिला आईटी बैठक में भाग लें"


def ensure_demo_tasks(admin, convenor, lucknow) -> bool:
    """Tasks for Lucknow: forward the scheme message to your booth group and add 10 members
    in your booth (for every booth-level post under Lucknow), and attend the district IT
    meeting (for every district-level post there, or the convenor). False if they exist."""
    if Task.objects.filter(title=FORWARD_TITLE, scope_unit=lucknow).exists():
        return False
    today = timezone.localdate()
    booth_posts = Position.objects.filter(level__slug="booth").order_by("pk")
    district_posts = Position.objects.filter(level__slug="district").order_by("pk")
    actor = convenor or admin
    made = False
    for post in booth_posts[:2]:
        do_create_task(
            actor,
            title=FORWARD_TITLE,
            kind="forward",
            body="मुख्यमंत्री आवास योजना का संदेश अपने बूथ के व्हाट्सऐप ग्रुप में आगे भेजें और "
            "हो जाने पर “हो गया” दबाएँ।",
            share_text="मुख्यमंत्री आवास योजना: पात्र परिवार अपने ग्राम पंचायत या नगर निकाय "
            "कार्यालय में 30 जून तक आवेदन करें। जानकारी के लिए अपने बूथ स्वयंसेवक से मिलें।",
            due=today + timedelta(days=2),
            position=post,
            scope_unit=lucknow,
        )
        do_create_task(
            actor,
            title=ADD_TITLE,
            kind="add_members",
            body="अपना आमंत्रण QR कोड दिखाकर अपने बूथ के 10 लोगों को ऐप से जोड़ें।",
            due=today + timedelta(days=14),
            position=post,
            scope_unit=lucknow,
        )
        made = True
    meeting = {
        "title": MEETING_TITLE,
        "kind": "attend",
        "body": "शनिवार सुबह 11 बजे, जिला कार्यालय, हज़रतगंज, लखनऊ।",
        "due": today + timedelta(days=5),
    }
    posts = list(district_posts[:1])
    if posts:
        do_create_task(admin, **meeting, position=posts[0], scope_unit=lucknow)
        made = True
    elif convenor is not None and convenor.person_id:
        do_create_task(admin, **meeting, person=convenor.person)
        made = True
    return made
