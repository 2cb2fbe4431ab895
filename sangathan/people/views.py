from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def search(request):
    return HttpResponse("todo")


@require_GET
def detail(request, pk):
    return HttpResponse("todo")
