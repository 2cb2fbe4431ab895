"""``sangathan reorganise FILE [--commit] [--json] [--as PHONE]``: preview (default) or apply
a CSV of appointments (``phone, position, unit_code, action, date``), the same engine as the
staff page. Prints ``{"appoint": N, "relieve": N, "transfer": N, "conflicts": [...]}``;
with ``--commit``, a file with conflicts changes nothing and the command exits with 1."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from sangathan.accounts.models import User
from sangathan.people.phones import PhoneError, normalise_phone
from sangathan.people.reorganise import (
    ReorganisationFileError,
    ReorganisationRefused,
    do_apply_reorganisation,
    do_preview_reorganisation,
    plan_reorganisation,
)


class Command(BaseCommand):
    help = (
        "Preview or apply a reorganisation CSV (columns phone, position, unit_code, action "
        "appoint/relieve/transfer, date). Previews unless --commit is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv file")
        parser.add_argument("--commit", action="store_true", help="apply (default: preview)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--as",
            dest="as_phone",
            metavar="PHONE",
            help="act with this user's jurisdiction (default: everything)",
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
                user = User.objects.get(phone=normalise_phone(options["as_phone"]), is_active=True)
            except (PhoneError, User.DoesNotExist):
                raise CommandError(f"no active user with phone {options['as_phone']}") from None
        try:
            if options["commit"]:
                batch, plan = do_preview_reorganisation(data, path.name, actor=user)
                result = plan.as_json()
                try:
                    do_apply_reorganisation(batch, actor=user)
                except ReorganisationRefused as exc:
                    result = {**result, "conflicts": exc.conflicts or result["conflicts"]}
                    self._print(result | {"applied": False}, options)
                    raise CommandError(" ".join(exc.messages), returncode=1) from None
                result |= {"applied": True, "batch": batch.token}
            else:
                result = plan_reorganisation(data, user).as_json()
        except ReorganisationFileError as exc:
            raise CommandError(str(exc)) from None
        self._print(result, options)

    def _print(self, result, options):
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
            return
        self.stdout.write(
            f"appoint {result['appoint']}, relieve {result['relieve']}, "
            f"transfer {result['transfer']}, conflicts {len(result['conflicts'])}"
        )
        for c in result["conflicts"]:
            self.stdout.write(f"  line {c['line']}: {c['message']}")
        if "applied" in result:
            self.stdout.write("applied" if result["applied"] else "nothing applied")
