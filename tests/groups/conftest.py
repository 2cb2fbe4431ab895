"""Groups' fixtures: a WhatsApp pramukh post at booths, a workers' group at Lucknow's first
booth (admin: its pramukh), and one at Kanpur's booth that Lucknow must never see."""

import pytest

from sangathan.groups.actions import do_create_group
from tests.factories import appoint, make_person, make_position

LINK = "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv"
LINK2 = "https://chat.whatsapp.com/ZyXwVuTsRqPoNmLkJiHgFe"
KANPUR_LINK = "https://chat.whatsapp.com/KanpurKanpurKanpur1234"


@pytest.fixture
def groups(cast):
    t = cast
    t.pramukh_pos = make_position("booth", "WhatsApp pramukh", "व्हाट्सऐप प्रमुख")
    t.pramukh = make_person(t.booth1, "दीपक सिंह", "+919810000011")
    appoint(t.pramukh, t.pramukh_pos, t.booth1)
    t.kanpur_admin = make_person(t.kanpur_booth, "मोहन लाल", "+919810000012")
    t.group = do_create_group(
        t.convenor,
        unit=t.booth1,
        name="बूथ 1 कार्यकर्ता",
        purpose="workers",
        invite_link=LINK,
        admins=[t.pramukh],
        members=120,
    )
    t.kanpur_group = do_create_group(
        t.outsider,
        unit=t.kanpur_booth,
        name="कन्या विद्यालय समूह",
        invite_link=KANPUR_LINK,
        admins=[t.kanpur_admin],
        members=80,
    )
    return t
