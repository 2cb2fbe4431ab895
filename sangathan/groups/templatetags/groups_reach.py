"""``{% groups_reach broadcast unit %}``: the WhatsApp groups' reach estimate of a broadcast
within a unit, for the broadcast's reach page (nothing, and no query, unless the broadcast
went to the groups channel)."""

from django import template

register = template.Library()


@register.inclusion_tag("groups/_broadcast_reach.html")
def groups_reach(broadcast, unit):
    if "groups" not in (broadcast.channels or []):
        return {"estimate": None}
    from sangathan.groups.forwards import reach_estimate

    return {"broadcast": broadcast, "estimate": reach_estimate(broadcast, unit)}
