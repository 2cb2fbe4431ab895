"""Staff pages for people: search across the user's area, and one person's record."""

from django.views.decorators.http import require_GET

from sangathan.org.scoping import get_person_for_user, jurisdiction_for
from sangathan.org.views import LIST_LIMIT, paginate, render_page, unit_crumbs
from sangathan.people.models import Person


@require_GET
def search(request):
    q = request.GET.get("q", "").strip()
    people = Person.objects.visible_to(request.user).select_related("unit", "unit__level")
    if q:
        page = paginate(request, people.search(q))
        too_many = False
    else:
        # The maintained counts of the user's root units give the total without a COUNT(*)
        # over everyone in a state.
        total = sum(u.people_count for u in jurisdiction_for(request.user).root_units())
        too_many = total > LIST_LIMIT and total
        people = people.order_by("name", "pk") if not too_many else []
        page = paginate(request, people, known_count=None if too_many else total)
    context = {"page": page, "q": q, "too_many": too_many}
    return render_page(request, "people/search.html", context, partial="results")


@require_GET
def detail(request, pk):
    from sangathan.people.reorg_views import posts_context

    person = get_person_for_user(request.user, pk)
    context = {
        **posts_context(request, person),
        "crumbs": unit_crumbs(request.user, person.unit, include_self=True),
        "consents": person.consents.order_by("channel", "purpose", "-granted_at"),
        "tags": person.tags.all(),
    }
    return render_page(request, "people/detail.html", context)
