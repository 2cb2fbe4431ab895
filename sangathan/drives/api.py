"""API for drives."""

from ninja import Router

router = Router(tags=["drives"])
