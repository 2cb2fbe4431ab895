"""The member app: an installable, offline-capable web app at /app/ (Hindi first)."""
