"""``sangathan import-institutions FILE [--commit] [--json]``: colleges, universities and
schools from a CSV (name, kind, district_code; optional name_en, unit_code, code,
adults_only). Without ``--commit`` it only reports what it would do, line by line."""

from django.utils.translation import gettext as _

from sangathan.core.management.importing import FileImportCommand
from sangathan.drives.actions import (
    InstitutionsFileError,
    import_institutions,
    read_institutions_file,
)


class Command(FileImportCommand):
    help = _(
        "Add institutions from a CSV with columns name, kind, district_code (optional "
        "name_en, unit_code, code, adults_only). Without --commit it only previews."
    )

    def handle(self, *args, **opts):
        rows = self.read_rows(opts["file"], read_institutions_file, InstitutionsFileError)
        result = import_institutions(rows, commit=opts["commit"])
        summary = _(
            "%(rows)s rows, %(invalid)s with problems; %(created)s new institutions, "
            "%(updated)s updated."
        ) % {**result, "invalid": len(result["invalid"])}
        self.report(result, opts, summary)
