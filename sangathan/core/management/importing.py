"""The shape every ``sangathan import-… FILE [--commit] [--json]`` command shares: read a CSV
(its reader raising the app's file error), preview it — each bad row with its line number and
reason, then a summary — and write the valid rows only with ``--commit``."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class FileImportCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("file", help=_("CSV file"))
        parser.add_argument("--commit", action="store_true", help=_("write the valid rows"))
        parser.add_argument("--json", action="store_true", help=_("print the result as JSON"))

    def read_rows(self, file: str, reader, file_error: type[Exception]):
        """``reader(bytes)`` over the file's contents; a file that cannot be read or parsed
        is a ``CommandError`` naming it."""
        path = Path(file)
        try:
            return reader(path.read_bytes())
        except OSError as e:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": e}
            ) from e
        except file_error as e:
            raise CommandError(f"{path}: {e}") from e

    def report(self, result: dict, opts: dict, summary: str, reason=None) -> None:
        """``result`` of an import (``invalid``: rows with ``line`` and a reason) as JSON, or
        as one line per bad row, ``summary`` and, for a preview, how to write it."""
        reason = reason or (lambda problem: problem["reason"])
        if opts["json"]:
            out = dict(result)
            out["invalid"] = [{**p, "reason": reason(p)} for p in result["invalid"]]
            self.stdout.write(json.dumps(out, ensure_ascii=False, default=str))
            return
        for problem in result["invalid"]:
            self.stdout.write(
                _("line %(line)s: %(reason)s")
                % {"line": problem["line"], "reason": reason(problem)}
            )
        self.stdout.write(summary)
        if not opts["commit"]:
            self.stdout.write(_("Nothing written (preview). Add --commit to write the valid rows."))
