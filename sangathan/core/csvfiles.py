"""Reading the CSV files people upload (units, institutions, WhatsApp groups): whatever
encoding Excel or a phone saved them in, one dict per row keyed by the header."""

import csv
from collections.abc import Callable, Sequence

from django.utils.translation import gettext as _


def decode(data: bytes) -> str:
    """UTF-16 (Excel's "Unicode text", with its byte-order mark), UTF-8 with or without a BOM,
    else Windows-1252 (an Excel CSV saved on Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_rows(
    data: bytes,
    required: Sequence[str],
    error: type[Exception],
    *,
    header_name: Callable[[str], str] = lambda h: h.strip().lower(),
    needed: Sequence[str] | None = None,
) -> list[dict]:
    """The file's rows as dicts keyed by ``header_name`` of each header cell, cells stripped
    (a short row reads as empty cells). Tab-separated when the header has tabs and no commas.
    Raises ``error`` with a message naming the problem when the file is empty or a
    ``required`` column is missing (``needed`` lists the columns the message asks for)."""
    lines = decode(data).splitlines()
    if not any(line.strip() for line in lines):
        raise error(_("The file is empty."))
    dialect = "excel-tab" if "\t" in lines[0] and "," not in lines[0] else "excel"
    reader = csv.reader(lines, dialect=dialect)
    header = [header_name(h) for h in next(reader)]
    missing = [c for c in required if c not in header]
    if missing:
        raise error(
            _("The header (line 1) has no column for %(missing)s; it needs %(needed)s.")
            % {"missing": ", ".join(missing), "needed": ", ".join(needed or required)}
        )
    return [
        {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
        for cells in reader
    ]
