"""Import batches get a status: checking and saving now run in the background.

Batches stored before this were checked in the request that uploaded them, so they are
``checked``, or ``committed`` when they have been confirmed.
"""

from django.db import migrations, models


def existing_batches(apps, schema_editor):
    ImportBatch = apps.get_model("people", "ImportBatch")
    ImportBatch.objects.filter(committed_at__isnull=True).update(status="checked")
    ImportBatch.objects.filter(committed_at__isnull=False).update(status="committed")


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_person_name_search_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="error",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "waiting to be checked"),
                    ("checking", "being checked"),
                    ("checked", "waiting for confirmation"),
                    ("committing", "being saved"),
                    ("committed", "imported"),
                    ("failed", "failed"),
                ],
                default="queued",
                max_length=12,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(existing_batches, migrations.RunPython.noop),
    ]
