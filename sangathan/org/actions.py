"""Writes to the organisation tree that matter: reorganisations and renames, atomic and audited."""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.core.csvfiles import read_rows
from sangathan.org.bulk import TreeBuilder, units_by_code
from sangathan.org.counts import bump
from sangathan.org.models import Level, OrgUnit, UnitMove


class ReorganisationError(Exception):
    """A move or rename that would break the tree; the message names the problem."""


@transaction.atomic(durable=True)
def check_move(unit: OrgUnit, new_parent: OrgUnit) -> None:
    """Raise ``ReorganisationError`` (in the user's language) if ``unit`` may not move under
    ``new_parent``: not under itself or below itself, only under a higher level, and not
    where it already is. Pages call it before asking for confirmation; the action again."""
    if new_parent.pk == unit.pk or new_parent.path.startswith(unit.path):
        raise ReorganisationError(
            _("%(unit)s cannot move under itself or a unit below it (%(parent)s).")
            % {"unit": unit.code, "parent": new_parent.code}
        )
    if new_parent.level.depth >= unit.level.depth:
        raise ReorganisationError(
            _(
                "%(unit)s is a %(level)s; it can only move under a unit of a higher level, "
                "and %(parent)s is a %(parent_level)s."
            )
            % {
                "unit": unit.code,
                "level": unit.level.display_name,
                "parent": new_parent.code,
                "parent_level": new_parent.level.display_name,
            }
        )
    if unit.path[: -OrgUnit.steplen] == new_parent.path:
        raise ReorganisationError(
            _("%(unit)s is already under %(parent)s.")
            % {"unit": unit.code, "parent": new_parent.code}
        )


def do_move_unit(unit: OrgUnit, new_parent: OrgUnit, *, actor=None, reason: str = "") -> UnitMove:
    """Move ``unit`` and everything below it to be the last child of ``new_parent``.

    Keeps history (a ``UnitMove`` row and an audit entry) and moves the subtree's maintained
    counts from the old ancestors to the new ones. Refuses a move under the unit itself or its
    descendants, and under a unit whose level is not above the unit's own.
    """
    # Fresh rows under a lock where the database has one: paths are about to be rewritten.
    unit = OrgUnit.objects.select_for_update().select_related("level").get(pk=unit.pk)
    new_parent = OrgUnit.objects.select_for_update().select_related("level").get(pk=new_parent.pk)
    check_move(unit, new_parent)
    old_parent = OrgUnit.objects.get_parent(unit)
    old_path = unit.path
    counts = {
        "people": unit.people_count,
        "seats_total": unit.seats_total,
        "seats_filled": unit.seats_filled,
    }
    # Take the subtree's counts off every old ancestor (not the unit itself) before the move…
    if old_parent is not None:
        bump(old_parent.path, **{k: -v for k, v in counts.items()})
    OrgUnit.objects.move(unit, new_parent, "last-child")
    unit.refresh_from_db()
    # …and add them to the new ancestors after it.
    bump(new_parent.path, **counts)
    move = UnitMove.objects.create(
        unit=unit,
        old_parent=old_parent,
        new_parent=new_parent,
        old_path=old_path,
        new_path=unit.path,
        moved_by=actor if (actor is not None and actor.pk) else None,
        reason=reason,
    )
    audit(
        "move_unit",
        actor=actor,
        obj=unit,
        code=unit.code,
        old_parent=old_parent.code if old_parent else None,
        new_parent=new_parent.code,
        old_path=old_path,
        new_path=unit.path,
        reason=reason,
    )
    return move


@transaction.atomic(durable=True)
def do_rename_unit(
    unit: OrgUnit, *, name: str, name_en: str | None = None, name_hi: str | None = None, actor=None
) -> OrgUnit:
    """Rename a unit (``name`` as written; optional English and Hindi names), audited."""
    name = (name or "").strip()
    if not name:
        raise ReorganisationError(_("A unit needs a name."))
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    before = {"name": unit.name, "name_en": unit.name_en, "name_hi": unit.name_hi}
    unit.name = name
    if name_en is not None:
        unit.name_en = name_en.strip()
    if name_hi is not None:
        unit.name_hi = name_hi.strip()
    unit.save(update_fields=["name", "name_en", "name_hi"])
    audit("rename_unit", actor=actor, obj=unit, code=unit.code, before=before)
    return unit


# --- importing units from a file -------------------------------------------------------------

UNIT_COLUMNS = ("code", "name", "level", "parent_code")
OPTIONAL_UNIT_COLUMNS = ("name_en", "name_hi")


class UnitsFileError(Exception):
    """The file as a whole cannot be read (encoding, header); the message names the problem."""


def read_units_file(data: bytes) -> list[dict]:
    """Rows of a units CSV as dicts with lower-cased header names. UTF-8 (with or without BOM),
    UTF-16 (Excel "Unicode text", tab-separated) and Windows-1252 are accepted."""
    return read_rows(data, UNIT_COLUMNS, UnitsFileError)


def import_units(
    rows: Iterable[dict], *, commit: bool = False, actor=None, within: OrgUnit | None = None
) -> dict:
    """Add units (mandals, sectors or any level) under existing units, or under units earlier or
    later in the same file. ``rows`` are dicts with ``code, name, level, parent_code`` (optional
    ``name_en, name_hi``); line numbers count the header as line 1.

    Without ``commit`` nothing is written: the result previews what would happen. With it the
    valid rows are written in one transaction. Re-importing the same file changes nothing.
    With ``within``, parents must lie inside that unit: an existing unit outside it is reported
    as an unknown parent, exactly like a code that does not exist (a page must not reveal what
    lies outside the user's jurisdiction).
    Returns ``{"rows", "valid", "invalid": [{"line", "reason"}], "created", "updated"}``.
    """
    levels = {lv.slug: lv for lv in Level.objects.all()}
    levels_by_id = {lv.pk: lv for lv in levels.values()}
    entries = []
    first_line: dict[str, int] = {}
    invalid: dict[int, str] = {}
    for index, raw in enumerate(rows):
        line = index + 2
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        entries.append((line, row))
        problems = [
            _("%(column)s is empty") % {"column": c} for c in UNIT_COLUMNS if not row.get(c)
        ]
        if row.get("level") and row["level"].lower() not in levels:
            problems.append(
                _("unknown level “%(level)s” (known: %(known)s)")
                % {"level": row["level"], "known": ", ".join(levels)}
            )
        code = row.get("code", "")
        if code in first_line:
            problems.append(
                _("code %(code)s appears again (first on line %(line)s)")
                % {"code": code, "line": first_line[code]}
            )
        elif code:
            first_line[code] = line
        if problems:
            invalid[line] = "; ".join(problems)
    by_code = {
        row["code"]: (line, row) for line, row in entries if first_line.get(row["code"]) == line
    }
    in_db = units_by_code(
        {row["code"] for _l, row in entries}
        | {row["parent_code"] for _l, row in entries if row.get("parent_code")}
    )

    parents_in_db = {
        c: u for c, u in in_db.items() if within is None or u.path.startswith(within.path)
    }

    # Resolve each row's parent (in the database or in the file), depth-first with memo.
    state: dict[str, bool] = {}  # code -> valid

    def check(code: str, trail: tuple[str, ...] = ()) -> bool:
        if code in state:
            return state[code]
        line, row = by_code[code]
        if line in invalid:
            state[code] = False
            return False
        level = levels[row["level"].lower()]
        parent_code = row["parent_code"]
        if parent_code == code or parent_code in trail:
            invalid[line] = _("the parent chain of %(code)s loops back to it") % {"code": code}
            state[code] = False
            return False
        parent_level = None
        if parent_code in parents_in_db:
            parent_level = levels_by_id[parents_in_db[parent_code].level_id]
        elif parent_code in by_code:
            if not check(parent_code, (*trail, code)):
                invalid.setdefault(
                    line,
                    _("its parent %(parent)s (line %(pline)s) is invalid")
                    % {"parent": parent_code, "pline": by_code[parent_code][0]},
                )
                state[code] = False
                return False
            parent_level = levels[by_code[parent_code][1]["level"].lower()]
        else:
            invalid[line] = _("unknown parent_code %(parent)s") % {"parent": parent_code}
            state[code] = False
            return False
        if level.depth <= parent_level.depth:
            invalid[line] = _(
                "a %(level)s cannot sit under %(parent)s, a %(parent_level)s: its level must be "
                "below its parent's"
            ) % {"level": level.slug, "parent": parent_code, "parent_level": parent_level.slug}
            state[code] = False
            return False
        existing = in_db.get(code)
        if existing is not None:
            if existing.level_id != level.pk:
                invalid[line] = _("%(code)s already exists as a %(level)s") % {
                    "code": code,
                    "level": levels_by_id[existing.level_id].slug,
                }
                state[code] = False
                return False
            parent = parents_in_db.get(parent_code)
            if parent is None or existing.path[: -OrgUnit.steplen] != parent.path:
                invalid[line] = _(
                    "%(code)s already exists under another parent; move it with a "
                    "reorganisation instead"
                ) % {"code": code}
                state[code] = False
                return False
        state[code] = True
        return True

    for code in by_code:
        check(code)

    valid_codes = [code for code, ok in state.items() if ok]
    created = [c for c in valid_codes if c not in in_db]
    updates = []
    for code in valid_codes:
        if code in in_db:
            unit, row = in_db[code], by_code[code][1]
            new = {"name": row["name"]}
            for extra in OPTIONAL_UNIT_COLUMNS:
                if extra in row:
                    new[extra] = row[extra]
            if any(getattr(unit, k) != v for k, v in new.items()):
                for k, v in new.items():
                    setattr(unit, k, v)
                updates.append(unit)
    result = {
        "rows": len(entries),
        "valid": len(valid_codes),
        "invalid": [{"line": line, "reason": reason} for line, reason in sorted(invalid.items())],
        "created": len(created),
        "updated": len(updates),
        "committed": False,
    }
    if commit and (created or updates):
        _write_units(created, updates, by_code, in_db, levels, actor, result)
    result["committed"] = bool(commit)
    return result


@transaction.atomic(durable=True)
def _write_units(created, updates, by_code, in_db, levels, actor, result) -> None:
    from sangathan.org.geography import recount_if_needed

    builder = TreeBuilder()
    made: dict[str, OrgUnit] = {}

    def make(code: str) -> OrgUnit:
        if code in made:
            return made[code]
        row = by_code[code][1]
        parent_code = row["parent_code"]
        parent = in_db.get(parent_code) or make(parent_code)
        made[code] = builder.add(
            parent,
            level=levels[row["level"].lower()],
            code=code,
            name=row["name"],
            name_en=row.get("name_en", ""),
            name_hi=row.get("name_hi", ""),
        )
        return made[code]

    for code in created:
        make(code)
    builder.flush()
    if updates:
        OrgUnit.objects.bulk_update(updates, ["name", "name_en", "name_hi"], batch_size=500)
    if created:
        recount_if_needed()
    audit(
        "import_units",
        actor=actor,
        created=result["created"],
        updated=result["updated"],
        invalid=len(result["invalid"]),
    )
