"""Status events wait in a queue table (``PendingStatus``) instead of a column: applying one
deletes a narrow queue row instead of rewriting the event."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0006_reach_pattern_ops"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingStatus",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="pending",
                        serialize=False,
                        to="channels.statusevent",
                    ),
                ),
            ],
        ),
        # The events not applied yet join the queue before the column that said so goes.
        migrations.RunSQL(
            "INSERT INTO channels_pendingstatus (event_id) "
            "SELECT id FROM channels_statusevent WHERE applied_at IS NULL",
            # back: what left the queue was applied
            "UPDATE channels_statusevent SET applied_at = CURRENT_TIMESTAMP "
            "WHERE id NOT IN (SELECT event_id FROM channels_pendingstatus)",
        ),
        migrations.RemoveIndex(
            model_name="statusevent",
            name="status_event_pending",
        ),
        migrations.RemoveField(
            model_name="statusevent",
            name="applied_at",
        ),
    ]
