"""``sangathan groups-sweep``: send the reminders for forward tasks that fell due and take
today's coverage snapshot if missing (``sangathan worker --until-idle`` does this on its own;
run this from cron where the worker runs as a long-lived service)."""

import json

from django.core.management.base import BaseCommand

from sangathan.groups.tasks import periodic


class Command(BaseCommand):
    help = "Send due reminders of WhatsApp forward tasks and take today's coverage snapshot."

    def handle(self, *args, **opts):
        self.stdout.write(json.dumps(periodic(force=True)))
