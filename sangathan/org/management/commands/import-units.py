"""``sangathan import-units FILE [--commit] [--json]``: add mandals, sectors or other units."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sangathan.org.actions import UnitsFileError, import_units, read_units_file


class Command(BaseCommand):
    help = _(
        "Add units from a CSV with columns code, name, level, parent_code (optional name_en, "
        "name_hi). Without --commit it only previews."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("CSV file"))
        parser.add_argument("--commit", action="store_true", help=_("write the valid rows"))
        parser.add_argument("--json", action="store_true", help=_("print the result as JSON"))

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        try:
            rows = read_units_file(path.read_bytes())
        except OSError as e:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": e}
            ) from e
        except UnitsFileError as e:
            raise CommandError(f"{path}: {e}") from e
        result = import_units(rows, commit=opts["commit"])
        if opts["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for problem in result["invalid"]:
            self.stdout.write(
                _("line %(line)s: %(reason)s")
                % {"line": problem["line"], "reason": problem["reason"]}
            )
        summary = _(
            "%(rows)s rows: %(valid)s valid, %(invalid)s invalid; %(created)s new units, "
            "%(updated)s renamed."
        ) % {**result, "invalid": len(result["invalid"])}
        self.stdout.write(summary)
        if not opts["commit"]:
            self.stdout.write(_("Nothing written (preview). Add --commit to write the valid rows."))
