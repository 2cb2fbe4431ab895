"""``sangathan import-groups FILE [--commit] [--json]``: bring in an existing list of groups."""

from django.utils.translation import gettext as _

from sangathan.core.management.importing import FileImportCommand
from sangathan.groups.actions import GroupsFileError, import_groups, read_groups_file, reason_text


class Command(FileImportCommand):
    help = _(
        "Add WhatsApp groups from a CSV with columns unit_code, group_name, invite_link, "
        "admin_phone, member_count. Without --commit it only previews."
    )

    def handle(self, *args, **opts):
        rows = self.read_rows(opts["file"], read_groups_file, GroupsFileError)
        result = import_groups(rows, commit=opts["commit"])
        result["invalid"] = [
            {"line": r["line"], "reasons": [reason_text(x) for x in r["reasons"]]}
            for r in result["invalid"]
        ]
        summary = _(
            "%(rows)s rows: %(valid)s valid, %(invalid)s invalid; %(created)s new groups, "
            "%(updated)s updated."
        ) % {**result, "invalid": len(result["invalid"])}
        self.report(result, opts, summary, reason=lambda p: "; ".join(p["reasons"]))
