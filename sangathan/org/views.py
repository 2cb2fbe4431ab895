from django.shortcuts import render
from django.views.decorators.http import require_GET

from sangathan.org.scoping import jurisdiction_for


@require_GET
def home(request):
    roots = jurisdiction_for(request.user).root_units()
    return render(request, "org/home.html", {"roots": roots})
