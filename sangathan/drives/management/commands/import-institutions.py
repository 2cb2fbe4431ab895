"""``sangathan import-institutions FILE [--commit]``: colleges, universities and schools from
a CSV (name, kind, district_code; optional name_en, unit_code, code, adults_only). Without
``--commit`` it only reports what it would do, line by line."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sangathan.drives.actions import (
    InstitutionsFileError,
    import_institutions,
    read_institutions_file,
)


class Command(BaseCommand):
    help = "Check (and with --commit, save) institutions from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true")

    def handle(self, *args, file, commit, **options):
        try:
            rows = read_institutions_file(Path(file).read_bytes())
        except (OSError, InstitutionsFileError) as e:
            raise CommandError(str(e)) from e
        result = import_institutions(rows, commit=commit)
        for bad in result["invalid"]:
            self.stdout.write(f"line {bad['line']}: {bad['reason']}")
        verb = "saved" if commit else "would save (run again with --commit)"
        self.stdout.write(
            f"{result['rows']} rows, {len(result['invalid'])} with problems; {verb}: "
            f"{result['created']} new, {result['updated']} updated"
        )
