"""``sangathan import-units FILE [--commit] [--json]``: add mandals, sectors or other units."""

from django.utils.translation import gettext as _

from sangathan.core.management.importing import FileImportCommand
from sangathan.org.actions import UnitsFileError, import_units, read_units_file


class Command(FileImportCommand):
    help = _(
        "Add units from a CSV with columns code, name, level, parent_code (optional name_en, "
        "name_hi). Without --commit it only previews."
    )

    def handle(self, *args, **opts):
        rows = self.read_rows(opts["file"], read_units_file, UnitsFileError)
        result = import_units(rows, commit=opts["commit"])
        summary = _(
            "%(rows)s rows: %(valid)s valid, %(invalid)s invalid; %(created)s new units, "
            "%(updated)s renamed."
        ) % {**result, "invalid": len(result["invalid"])}
        self.report(result, opts, summary)
