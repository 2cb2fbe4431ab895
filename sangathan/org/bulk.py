"""Bulk loading of org units with computed materialised paths.

treebeard's ``add_child`` costs a few queries per node; loading 10 lakh booths that way takes
hours. Here the caller hands over whole batches of children, the paths are computed in Python
from each parent's ``numchild`` (exactly as treebeard would), rows go in with ``bulk_create``
and the parents' ``numchild`` is updated once. The result is an ordinary treebeard tree.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When

from sangathan.org.models import OrgUnit


def child_path(parent_path: str, n: int) -> str:
    """The path of the ``n``-th child (1-based) of ``parent_path``."""
    return OrgUnit._get_path(parent_path, len(parent_path) // OrgUnit.steplen + 1, n)


class TreeBuilder:
    """Collects new units under existing or new parents and writes them in batches.

    >>> b = TreeBuilder()
    >>> district = b.add(state, level=..., code="UP-D-162", name="लखनऊ")
    >>> b.add(district, level=..., code="UP-AC-172", name="लखनऊ पश्चिम")
    >>> b.flush()

    ``add`` returns an unsaved ``OrgUnit`` with ``path`` and ``depth`` already set, so it can be
    the parent of further ``add`` calls before anything is written.
    """

    def __init__(self, batch_size: int = 5000):
        self.batch_size = batch_size
        self.pending: list[OrgUnit] = []
        # Per parent path: the last child index handed out, and how many children were added.
        self.last_index: dict[str, int] = {}
        self.added: dict[str, int] = {}
        self.created_paths: set[str] = set()
        self.touched_parents: set[str] = set()

    def _next_index(self, parent: OrgUnit) -> int:
        path = parent.path
        if path not in self.last_index:
            self.last_index[path] = 0
            if path not in self.created_paths and parent.pk is not None:
                # Ask the database for the last child rather than trusting ``numchild``: after
                # deletions treebeard leaves gaps, so the count is not the last index.
                # A range on ``path`` (LIKE 'x%' cannot use the index on SQLite).
                last = (
                    OrgUnit.objects.filter(
                        path__gt=path,
                        path__lte=path + "Z" * OrgUnit.steplen,
                        depth=parent.depth + 1,
                    )
                    .order_by("-path")
                    .values_list("path", flat=True)
                    .first()
                )
                if last:
                    self.last_index[path] = OrgUnit._str2int(last[-OrgUnit.steplen :])
        self.last_index[path] += 1
        self.added[path] = self.added.get(path, 0) + 1
        return self.last_index[path]

    def add(self, parent: OrgUnit | None, **fields) -> OrgUnit:
        if parent is None:
            index = self.last_index.get("")
            if index is None:
                last = OrgUnit.objects.get_last_root_node()
                index = OrgUnit._str2int(last.path) if last else 0
            index += 1
            self.last_index[""] = index
            path = OrgUnit._get_path(None, 1, index)
            unit = OrgUnit(path=path, depth=1, numchild=0, **fields)
        else:
            path = child_path(parent.path, self._next_index(parent))
            unit = OrgUnit(path=path, depth=parent.depth + 1, numchild=0, **fields)
            self.touched_parents.add(parent.path)
        self.created_paths.add(unit.path)
        self.pending.append(unit)
        if len(self.pending) >= self.batch_size:
            self._write_pending()
        return unit

    def child_path_for(self, parent: OrgUnit) -> str:
        """Reserve the next child path under ``parent`` for a unit that already exists elsewhere
        (a subtree being moved there); ``flush`` counts it in the parent's ``numchild``."""
        self.touched_parents.add(parent.path)
        return child_path(parent.path, self._next_index(parent))

    def _write_pending(self) -> None:
        if self.pending:
            OrgUnit.objects.bulk_create(self.pending, batch_size=self.batch_size)
            self.pending = []

    @transaction.atomic
    def flush(self) -> None:
        """Write what is pending and set ``numchild`` on every parent that gained children."""
        self._write_pending()
        paths = [p for p in self.touched_parents if p]
        for i in range(0, len(paths), 500):
            chunk = paths[i : i + 500]
            OrgUnit.objects.filter(path__in=chunk).update(
                numchild=F("numchild")
                + Case(
                    *[When(path=p, then=Value(self.added[p])) for p in chunk],
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
        for p in self.touched_parents:
            self.added[p] = 0
        self.touched_parents.clear()


def units_by_code(codes: Iterable[str]) -> dict[str, OrgUnit]:
    """Existing units for the given codes, fetched in chunks."""
    codes = list(codes)
    found: dict[str, OrgUnit] = {}
    for i in range(0, len(codes), 900):
        for u in OrgUnit.objects.filter(code__in=codes[i : i + 900]):
            found[u.code] = u
    return found


def group_by_parent(rows: Iterable[tuple[str, dict]]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for parent_code, fields in rows:
        grouped[parent_code].append(fields)
    return grouped
