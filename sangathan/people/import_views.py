from django.http import HttpResponse


def upload(request):
    return HttpResponse("todo")
