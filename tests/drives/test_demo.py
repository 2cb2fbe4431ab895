"""The demo drive: an open campus drive at a real Lucknow university, made once."""

from sangathan.drives.demo import ensure_demo_drives
from sangathan.drives.models import Drive, SignUp
from sangathan.drives.reports import funnel


def test_the_demo_drive_is_open_at_lucknow_university(cast, on_commit_after_action):
    t = cast
    assert ensure_demo_drives(t.superuser, t.convenor, t.lucknow) is True
    drive = Drive.objects.get(kind="campus")
    assert drive.accepts_sign_ups() and drive.unit == t.lucknow
    assert "लखनऊ विश्वविद्यालय" in [i.name for i in drive.institutions.all()]
    assert drive.recruiters.count() >= 2
    f = funnel(drive)
    assert f["counted"] == 11 and f["suspicious"] == 1 and f["visits"] > f["joined"] > 0
    assert SignUp.objects.filter(drive=drive, person__referred_by__isnull=False).count() >= 8
    assert ensure_demo_drives(t.superuser, t.convenor, t.lucknow) is False
    assert Drive.objects.count() == 1
