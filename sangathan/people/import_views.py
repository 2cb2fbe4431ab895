from django.http import HttpResponse


def upload(request):
    return HttpResponse("todo")


def preview(request, token):
    return HttpResponse("todo")


def export(request):
    return HttpResponse("todo")
