"""``sangathan posters --drive CODE --format pdf|png --out DIR``: a drive's QR posters (its
own code, each place's and each active recruiter's), one file per code; prints each path."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sangathan.drives.models import Drive
from sangathan.drives.printing import poster_specs


class Command(BaseCommand):
    help = "Write the QR posters of a drive (A4 PDF or PNG), one file per code."

    def add_arguments(self, parser):
        parser.add_argument("--drive", required=True, help="the drive's code")
        parser.add_argument("--format", choices=["pdf", "png"], default="pdf")
        parser.add_argument("--out", default=".", help="folder to write into (made if missing)")
        parser.add_argument(
            "--base-url",
            default=None,
            help="public address the QR codes point at (default SANGATHAN_PUBLIC_URL)",
        )
        parser.add_argument("--dpi", type=int, default=150, help="PNG resolution")

    def handle(self, *args, drive, format, out, base_url, dpi, **options):
        from sangathan.drives import posters

        found = Drive.objects.filter(code=drive.strip().upper()).first()
        if found is None:
            raise CommandError(f"No drive with code {drive}.")
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        specs = poster_specs(found, base_url or settings.SANGATHAN_PUBLIC_URL)
        for spec in specs:
            path = folder / f"poster-{found.code}-{spec.code}.{format}"
            if format == "pdf":
                path.write_bytes(posters.poster_pdf(spec))
            else:
                path.write_bytes(posters.poster_png(spec, dpi=dpi))
            self.stdout.write(f"{path}  ({spec.code} → {spec.url})")
        self.stdout.write(f"{len(specs)} poster(s) written to {folder}")
