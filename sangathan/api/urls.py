from django.urls import path

from sangathan.api.router import api

_patterns, _app, _namespace = api.urls
# The member app's feed is the busiest route of all: its patterns are tried first (URLs are
# matched in order, and the feed's came 22nd). The OpenAPI schema keeps the routers' order.
_patterns = sorted(_patterns, key=lambda p: not str(p.pattern).startswith("feed"))

urlpatterns = [path("", (_patterns, _app, _namespace))]
