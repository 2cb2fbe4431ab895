"""Issue 5's forward-task flow in Debian's Chromium at a phone's size: a broadcast on the
"WhatsApp groups" channel gives the group's admin a task in the member app with the text ready
and a wa.me link; the admin taps done; the forward counts as confirmed and the broadcast's
reach estimate takes the group's members.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when that is missing.
"""

import re
from urllib.parse import unquote

import pytest

from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.groups.actions import do_create_group
from sangathan.groups.forwards import reach_estimate
from sangathan.people.models import Task, TaskDone
from tests.browser.conftest import eventually
from tests.browser.test_member_app_browser import _logged_in, phone, shot, wait_js  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_admin_forwards_from_the_app_and_the_reach_counts_the_group(cast, live_server, phone):  # noqa: F811
    from playwright.sync_api import expect

    do_create_group(
        cast.convenor,
        unit=cast.booth1,
        name="बूथ 1 कार्यकर्ता",
        invite_link="https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv",
        admins=[cast.volunteer_person, cast.convenor_person],
        members=180,
    )
    broadcast = do_create_broadcast(
        cast.convenor,
        Draft(
            audience_unit=cast.lucknow,
            title_hi="आयुष्मान कार्ड शिविर",
            body_hi="रविवार को हर बूथ पर आयुष्मान कार्ड शिविर लगेगा।",
            link="https://example.org/ayushman",
            channels=["feed", "groups"],
        ),
    )
    from sangathan.broadcasts.tasks import publish_broadcast

    if not Task.objects.filter(kind="forward", person=cast.volunteer_person).exists():
        publish_broadcast.call(broadcast.pk)  # the live server's test runs tasks on commit
    task = Task.objects.get(kind="forward", person=cast.volunteer_person)
    assert reach_estimate(broadcast)["confirmed"] == 0

    page = _logged_in(phone, cast.volunteer)
    page.goto(live_server.url + "/app/#/tasks")
    card = page.locator(f"#task-list [data-task='{task.pk}']")
    expect(card).to_contain_text("आयुष्मान कार्ड शिविर")
    # One button opens WhatsApp with the whole text ready (not the task's shortened link).
    share = card.locator("a[href^='https://wa.me/']")
    expect(share).to_have_count(1)
    text = unquote(share.get_attribute("href").split("text=", 1)[1])
    assert "आयुष्मान कार्ड शिविर" in text and "https://example.org/ayushman" in text
    shot(page, "forward-1-task")

    card.get_by_role("button").last.click()
    expect(card).to_have_class(re.compile(r"is-done"))
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    assert eventually(TaskDone.objects.filter(task=task, person=cast.volunteer_person).exists)
    figures = reach_estimate(broadcast)
    assert figures["confirmed"] == 1 and figures["members"] == 180
    shot(page, "forward-2-done")

    # The group's other admin (the convenor) finds the task settled: the group has the
    # message, so no WhatsApp button invites a second forward.
    other = Task.objects.get(kind="forward", person=cast.convenor_person)
    page = _logged_in(phone, cast.convenor)
    page.goto(live_server.url + "/app/#/tasks")
    page.reload()
    card = page.locator(f"#task-list [data-task='{other.pk}']")
    expect(card).to_contain_text("ग्रुप में यह पहले ही पहुँच चुका है")
    expect(card).to_have_class(re.compile(r"is-done"))
    expect(card.locator("a[href^='https://wa.me/']")).to_have_count(0)
    shot(page, "forward-3-settled")
