"""The JSON API: one NinjaAPI, each domain mounting its own router."""

from ninja import NinjaAPI

api = NinjaAPI(title="Sangathan API", version="1", urls_namespace="api")
