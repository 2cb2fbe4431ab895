"""``sangathan posters`` and ``sangathan import-institutions``."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sangathan.drives.models import Institution


def test_posters_writes_one_file_per_code_and_says_so(campus, tmp_path):
    pytest.importorskip("sangathan.drives.posters", reason="posters.py (helper A2) missing")
    out = StringIO()
    call_command(
        "posters",
        "--drive",
        campus.drive.code,
        "--format",
        "png",
        "--out",
        str(tmp_path),
        "--dpi",
        "40",
        stdout=out,
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    codes = {campus.drive.code, campus.gate.code, campus.recruiter.code}
    assert files == sorted(f"poster-{campus.drive.code}-{c}.png" for c in codes)
    for name in files:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
        assert name in out.getvalue()
    assert "3 poster(s) written" in out.getvalue()
    call_command(
        "posters", "--drive", campus.drive.code, "--out", str(tmp_path / "pdf"), stdout=StringIO()
    )
    assert len(list((tmp_path / "pdf").glob("*.pdf"))) == 3
    with pytest.raises(CommandError, match="No drive"):
        call_command("posters", "--drive", "NOPE", "--out", str(tmp_path))


def test_import_institutions_checks_then_commits(cast, tmp_path):
    f = tmp_path / "i.csv"
    f.write_text("name,kind,district_code\nलखनऊ विश्वविद्यालय,university,UP-D-162\nX,zoo,UP-D-162\n")
    out = StringIO()
    call_command("import-institutions", str(f), stdout=out)
    assert "line 3: unknown kind “zoo”" in out.getvalue()
    assert not Institution.objects.exists()
    call_command("import-institutions", str(f), "--commit", stdout=StringIO())
    assert Institution.objects.get().district == cast.lucknow
