"""``sangathan emulator``: run the local provider emulator (SMS gateway and WhatsApp Cloud
API contracts) until interrupted. See ``sangathan.channels.emulator``.

Point the project at it with ``SANGATHAN_SMS_URL=http://127.0.0.1:PORT`` and/or
``SANGATHAN_WHATSAPP_URL=http://127.0.0.1:PORT``."""

import signal
import threading

from django.core.management.base import BaseCommand

from sangathan.channels.emulator import Emulator


class Command(BaseCommand):
    help = "Run a local emulator of the SMS gateway and WhatsApp Cloud API contracts."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9000)
        parser.add_argument("--rate", type=float, default=80, help="messages a second accepted")
        parser.add_argument("--burst", type=float, default=1.0, help="seconds of rate as burst")
        parser.add_argument("--webhook", help="URL for WhatsApp status callbacks")
        parser.add_argument("--sms-webhook", help="URL for SMS delivery reports")
        parser.add_argument("--app-secret", default="", help="signs WhatsApp callbacks")
        parser.add_argument("--sms-secret", default="", help="signs SMS callbacks")
        parser.add_argument("--api-key", help="SMS Bearer key to require (default: any)")
        parser.add_argument("--token", help="WhatsApp Bearer token to require (default: any)")
        parser.add_argument("--fail-rate", type=float, default=0.0, help="share of 5xx answers")
        parser.add_argument("--hang-rate", type=float, default=0.0, help="share of hangs")
        parser.add_argument("--hang-seconds", type=float, default=30.0)
        parser.add_argument("--status-delay", type=float, default=0.0)
        parser.add_argument("--status-batch", type=int, default=1, help="statuses per callback")
        parser.add_argument("--shuffle", action="store_true", help="shuffle callback order")
        parser.add_argument("--duplicate-rate", type=float, default=0.0)
        parser.add_argument("--no-dlt-check", action="store_true")
        parser.add_argument("--seed", type=int)

    def handle(self, *args, **o):
        emulator = Emulator(
            o["rate"],
            host=o["host"],
            port=o["port"],
            burst=o["burst"],
            api_key=o["api_key"],
            token=o["token"],
            webhook_url=o["webhook"],
            sms_webhook_url=o["sms_webhook"],
            app_secret=o["app_secret"],
            sms_secret=o["sms_secret"],
            fail_rate=o["fail_rate"],
            hang_rate=o["hang_rate"],
            hang_seconds=o["hang_seconds"],
            status_delay=o["status_delay"],
            status_batch=o["status_batch"],
            shuffle=o["shuffle"],
            duplicate_rate=o["duplicate_rate"],
            require_dlt=not o["no_dlt_check"],
            seed=o["seed"],
        ).start()
        self.stdout.write(f"emulator listening on {emulator.url} at {o['rate']:g} messages/s")
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
        emulator.stop()
        self.stdout.write(f"stopped: {emulator.stats()}")
