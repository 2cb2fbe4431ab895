from django.shortcuts import render
from django.views.decorators.http import require_GET

from sangathan.accounts.middleware import public


@public
@require_GET
def privacy(request):
    """The privacy notice the DPDP Act 2023 asks for: what we hold, why, and your rights."""
    return render(request, "core/privacy.html")
