"""Deny by default: every page needs a login unless its view is marked public."""

from django.contrib.auth.views import redirect_to_login


def public(view):
    """Mark a view as reachable without logging in (login page, public join page)."""
    view.sangathan_public = True
    return view


PUBLIC_PREFIXES = ("/static/", "/admin/", "/api/", "/i18n/", "/hooks/", "/join/", "/favicon")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "sangathan_public", False):
            return None
        if request.path.startswith(PUBLIC_PREFIXES):
            return None  # admin and the API carry their own authentication
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return None
