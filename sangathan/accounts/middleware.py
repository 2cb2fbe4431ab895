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
        response = self.get_response(request)
        if response.status_code in (403, 404):
            self._audit_denial(request, response.status_code)
        return response

    @staticmethod
    def _audit_denial(request, status: int) -> None:
        """Audit refusals of logged-in users by a view (jurisdiction lookups answer 404).
        A URL that matches no view is a typo, not a denial; static files are never one."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        if getattr(request, "resolver_match", None) is None:
            return
        if request.path.startswith(("/static/", "/favicon")):
            return
        from sangathan.accounts.audit import audit_denied

        audit_denied(request, status)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "sangathan_public", False):
            return None
        if request.path.startswith(PUBLIC_PREFIXES):
            return None  # admin and the API carry their own authentication
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return None
