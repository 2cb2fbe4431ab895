"""``path__under=prefix``: the subtree lookup, as an index range on every database.

Django turns ``startswith`` into ``LIKE 'p%' ESCAPE '\\'``. PostgreSQL serves that from the
``varchar_pattern_ops`` index Django creates beside a unique CharField; SQLite's LIKE is
case-insensitive, cannot use the index, and scans the whole table. On SQLite this lookup is
``path >= 'p' AND path < 'p~'`` instead: materialised paths use only ``0-9A-Z``, all below
``~`` in BINARY order, so the range holds exactly the prefix's subtree.
"""

from django.db.models import CharField, Lookup


@CharField.register_lookup
class Under(Lookup):
    lookup_name = "under"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        (prefix,) = rhs_params  # a path: only 0-9A-Z, nothing to escape
        if connection.vendor == "sqlite":
            return f"({lhs} >= {rhs} AND {lhs} < {rhs})", [
                *lhs_params,
                prefix,
                *lhs_params,
                prefix + "~",
            ]
        return f"{lhs} LIKE {rhs}", [*lhs_params, prefix + "%"]
