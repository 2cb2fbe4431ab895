"""Test settings: fast hashing, in-memory email, tasks run at once."""

import os

os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
# Redis database 15: the RQ tests may empty it without touching anyone's queues.
os.environ.setdefault("SANGATHAN_REDIS_URL", "redis://127.0.0.1:6379/15")

from sangathan.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
LOGGING["loggers"]["sangathan"]["level"] = "WARNING"  # noqa: F405
# Uploaded attachments go to a throwaway folder, not the demo's var/media.
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="sangathan-test-media-")
