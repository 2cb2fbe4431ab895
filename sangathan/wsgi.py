import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sangathan.settings")

from sangathan.broadcasts.feedroute import site_application  # noqa: E402

application = site_application()
