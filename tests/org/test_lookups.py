from django.db import connection
from django.test.utils import CaptureQueriesContext

from sangathan.org.models import OrgUnit
from sangathan.people.models import Person


def test_under_is_exactly_the_subtree(cast):
    codes = set(
        OrgUnit.objects.filter(path__under=cast.lucknow.path).values_list("code", flat=True)
    )
    expected = {u.code for u in OrgUnit.objects.all() if u.path.startswith(cast.lucknow.path)}
    assert codes == expected
    assert "UP-D-164" not in codes and "UP-D-162" in codes
    people = set(
        Person.objects.filter(unit__path__under=cast.ac_west.path).values_list("name", flat=True)
    )
    assert people == {"पूजा यादव"}


def test_under_uses_the_path_index_on_sqlite(tree):
    if connection.vendor != "sqlite":
        return
    qs = OrgUnit.objects.filter(path__under=tree.lucknow.path).values("id")
    with CaptureQueriesContext(connection):
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(r) for r in cur.fetchall())
    assert "SCAN org_orgunit" not in plan
    assert "path" in plan


def test_children_are_read_through_the_depth_path_index(tree):
    if connection.vendor != "sqlite":
        return
    qs = OrgUnit.objects.filter(path__under=tree.up.path, depth=tree.up.depth + 1).values("id")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(r) for r in cur.fetchall())
    assert "depth=? AND path>? AND path<?" in plan, plan
