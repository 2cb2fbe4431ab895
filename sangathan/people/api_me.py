"""API for the member themself: profile, consent choices, tasks, invite, data rights."""

from ninja import Router

router = Router(tags=["me"])
