"""Committee templates on the cast's tree, for the reorganisation tests."""

from sangathan.org.counts import recount
from sangathan.org.models import OrgUnit
from sangathan.people.committees import do_apply_template, do_save_template
from tests.factories import level, make_position

COUNTS = ("people_count", "seats_total", "seats_filled")


def counts_by_code() -> dict:
    return {u.code: tuple(getattr(u, c) for c in COUNTS) for u in OrgUnit.objects.all()}


def assert_counts_match_recount() -> None:
    """The maintained counters are exactly what a full recount gives."""
    before = counts_by_code()
    recount()
    assert counts_by_code() == before


def make_committees(t):
    """A booth committee (president, IT volunteer, WhatsApp pramukh, beneficiary contact) and a
    district IT team (convenor, 2 co-convenors, social media), made by the superuser."""
    t.president = make_position("booth", "Booth president", "बूथ अध्यक्ष", wing="Organisation")
    t.it_volunteer = make_position("booth", "IT volunteer", "आईटी स्वयंसेवक")
    t.whatsapp = make_position("booth", "WhatsApp pramukh", "व्हाट्सऐप प्रमुख")
    t.beneficiary = make_position(
        "booth", "Beneficiary-contact in-charge", "लाभार्थी संपर्क प्रभारी", wing="Organisation"
    )
    t.co_convenor = make_position("district", "District co-convenor", "जिला सह-संयोजक", seats=2)
    t.social = make_position("district", "Social-media in-charge", "सोशल मीडिया प्रभारी")
    t.booth_committee = do_save_template(
        actor=t.superuser,
        name_en="Booth committee",
        name_hi="बूथ समिति",
        level=level("booth"),
        seats=[(t.president, 1), (t.it_volunteer, 1), (t.whatsapp, 1), (t.beneficiary, 1)],
    )
    t.district_team = do_save_template(
        actor=t.superuser,
        name_en="District IT team",
        name_hi="जिला आईटी टीम",
        level=level("district"),
        seats=[(t.co_convenor, 2), (t.social, 1)],
    )
    return t


def apply_in_lucknow(t):
    t.booth_applied = do_apply_template(t.booth_committee, t.lucknow, actor=t.convenor)
    t.district_applied = do_apply_template(t.district_team, t.lucknow, actor=t.convenor)
    for u in ("india", "up", "lucknow", "kanpur", "sector", "booth1", "booth2", "kanpur_booth"):
        getattr(t, u).refresh_from_db()
    return t
