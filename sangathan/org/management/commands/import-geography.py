"""``sangathan import-geography --state UP [--booths] [--ac 173] [--district Lucknow] [--group]``"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sangathan.org.geography import GeographyError, import_geography


class Command(BaseCommand):
    help = _(
        "Import a state's districts and assembly constituencies (and, for UP, its polling "
        "stations) from the bundled data. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--state", default="UP", help=_("short code (UP), LGD code (9) or English name")
        )
        parser.add_argument(
            "--booths", action="store_true", help=_("also import polling stations (UP only)")
        )
        parser.add_argument(
            "--ac", type=int, action="append", default=[], help=_("only this AC's booths")
        )
        parser.add_argument(
            "--district", action="append", default=[], help=_("only this district's booths")
        )
        parser.add_argument(
            "--group", action="store_true", help=_("place booths in mandals and sectors")
        )
        parser.add_argument("--booths-per-sector", type=int, default=10)
        parser.add_argument("--sectors-per-mandal", type=int, default=6)
        parser.add_argument(
            "--include-superseded",
            action="store_true",
            help=_("also import ACs the data marks as superseded (Assam, J&K)"),
        )
        parser.add_argument("--json", action="store_true", help=_("print the result as JSON"))

    def handle(self, *args, **opts):
        verbose = opts["verbosity"] > 0 and not opts["json"]

        def progress(step: str, done: int, total: int) -> None:
            if verbose and (done == total or done % 20_000 < 400):
                self.stderr.write(f"  {step}: {done}/{total}")

        try:
            result = import_geography(
                opts["state"],
                booths=opts["booths"],
                acs=opts["ac"] or None,
                districts=opts["district"] or None,
                group=opts["group"],
                booths_per_sector=opts["booths_per_sector"],
                sectors_per_mandal=opts["sectors_per_mandal"],
                include_superseded=opts["include_superseded"],
                progress=progress,
            )
        except GeographyError as e:
            raise CommandError(str(e)) from e
        if opts["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        created = ", ".join(f"{k} {v}" for k, v in result["created"].items()) or "—"
        self.stdout.write(
            _("%(state)s: created %(created)s; updated %(updated)s; %(seconds)s s")
            % {**result, "created": created}
        )
        if result["skipped_superseded"]:
            self.stdout.write(
                _(
                    "Left out %(n)s superseded assembly constituencies (add "
                    "--include-superseded to import them anyway)."
                )
                % {"n": result["skipped_superseded"]}
            )
