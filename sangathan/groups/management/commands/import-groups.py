"""``sangathan import-groups FILE [--commit] [--json]``: bring in an existing list of groups."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sangathan.groups.actions import GroupsFileError, import_groups, read_groups_file, reason_text


class Command(BaseCommand):
    help = _(
        "Add WhatsApp groups from a CSV with columns unit_code, group_name, invite_link, "
        "admin_phone, member_count. Without --commit it only previews."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("CSV file"))
        parser.add_argument("--commit", action="store_true", help=_("write the valid rows"))
        parser.add_argument("--json", action="store_true", help=_("print the result as JSON"))

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        try:
            rows = read_groups_file(path.read_bytes())
        except OSError as e:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": e}
            ) from e
        except GroupsFileError as e:
            raise CommandError(f"{path}: {e}") from e
        result = import_groups(rows, commit=opts["commit"])
        if opts["json"]:
            out = dict(result)
            out["invalid"] = [
                {"line": r["line"], "reasons": [reason_text(x) for x in r["reasons"]]}
                for r in result["invalid"]
            ]
            self.stdout.write(json.dumps(out, ensure_ascii=False))
            return
        for problem in result["invalid"]:
            self.stdout.write(
                _("line %(line)s: %(reason)s")
                % {
                    "line": problem["line"],
                    "reason": "; ".join(reason_text(x) for x in problem["reasons"]),
                }
            )
        self.stdout.write(
            _(
                "%(rows)s rows: %(valid)s valid, %(invalid)s invalid; %(created)s new groups, "
                "%(updated)s updated."
            )
            % {**result, "invalid": len(result["invalid"])}
        )
        if not opts["commit"]:
            self.stdout.write(_("Nothing written (preview). Add --commit to write the valid rows."))
