"""Writing the audit log: one call from every action that matters."""

from sangathan.accounts.models import AuditLog


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit(action: str, *, actor=None, obj=None, request=None, ip=None, **detail) -> AuditLog:
    """Record ``action`` (e.g. ``login``, ``denied``, ``import``, ``export``, ``appoint``)."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditLog.objects.create(
        actor=actor if (actor is not None and actor.pk) else None,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip=ip or client_ip(request),
        detail=detail,
    )


def audit_denied(request, status: int) -> AuditLog:
    """Record that a logged-in user was refused (403) or told "not found" (404) by a view:
    the trace of someone trying ids outside their jurisdiction."""
    return audit(
        "denied", request=request, path=request.path[:300], method=request.method, status=status
    )
