"""API for groups."""

from ninja import Router

router = Router(tags=["groups"])
