from sangathan.org.bulk import TreeBuilder
from sangathan.org.models import Level, OrgUnit


def test_bulk_tree_is_a_valid_treebeard_tree(tree):
    booth = Level.objects.get(slug="booth")
    b = TreeBuilder(batch_size=7)
    for i in range(20):
        b.add(tree.sector, level=booth, code=f"X-{i}", name=f"Booth {i}")
    b.flush()
    tree.sector.refresh_from_db()
    assert tree.sector.numchild == 22
    assert OrgUnit.objects.get_children(tree.sector).count() == 22
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    # treebeard can still add after a bulk load
    OrgUnit.objects.add_child(tree.sector, {"level": booth, "code": "X-new", "name": "new"})
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_bulk_new_parents_and_children(tree):
    lv = {lv.slug: lv for lv in Level.objects.all()}
    b = TreeBuilder()
    d = b.add(tree.up, level=lv["district"], code="D-N", name="New district")
    for i in range(3):
        ac = b.add(d, level=lv["assembly"], code=f"AC-N-{i}", name=f"AC {i}")
        b.add(ac, level=lv["booth"], code=f"PS-N-{i}", name=f"PS {i}")
    b.flush()
    d = OrgUnit.objects.get(code="D-N")
    assert d.numchild == 3
    assert OrgUnit.objects.get_descendant_count(d) == 6
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
