"""``sangathan import-people FILE [--commit] [--json] [--as PHONE]``."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from sangathan.accounts.models import User
from sangathan.people.importing import ImportFileError, do_import_people, plan_import
from sangathan.people.phones import PhoneError, normalise_phone


class Command(BaseCommand):
    help = (
        "Import people from a CSV or XLSX file (columns name, phone, unit_code; optional gender, "
        "birth_year, institution, tags, consent). Previews unless --commit is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv or .xlsx file")
        parser.add_argument(
            "--commit", action="store_true", help="write the good rows (default: preview only)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--as",
            dest="as_phone",
            metavar="PHONE",
            help="import with this user's jurisdiction (default: everything)",
        )
        parser.add_argument(
            "--lang", default="en", choices=["en", "hi"], help="language of the messages"
        )

    def handle(self, *args, **options):
        with translation.override(options["lang"]):
            return self._handle(**options)

    def _handle(self, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        user = None
        if options["as_phone"]:
            try:
                phone = normalise_phone(options["as_phone"])
                user = User.objects.get(phone=phone, is_active=True)
            except (PhoneError, User.DoesNotExist):
                raise CommandError(f"no active user with phone {options['as_phone']}") from None
        try:
            if options["commit"]:
                result = do_import_people(data, path.name, user=user)
            else:
                result = plan_import(data, path.name, user).result
        except ImportFileError as exc:
            raise CommandError(f"{path.name}: {exc.reason}") from None

        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), ensure_ascii=False))
            return
        self._print_table(result, committed=options["commit"])

    def _print_table(self, result, *, committed: bool) -> None:
        out = self.stdout
        out.write(
            f"rows {result.rows}  valid {result.valid}  invalid {len(result.invalid)}  "
            f"duplicates {result.duplicates}  "
            + ("created" if committed else "to create")
            + f" {result.created}  "
            + ("updated" if committed else "to update")
            + f" {result.updated}"
        )
        if result.ignored_columns:
            out.write("ignored columns: " + ", ".join(result.ignored_columns))
        if result.invalid:
            out.write("")
            out.write(f"{'line':>6}  reason")
            for line, reason in result.invalid:
                out.write(f"{line:>6}  {reason}")
        if not committed:
            out.write("")
            out.write("Preview only: nothing was written. Run again with --commit to import.")
