"""Person.email, for the email channel.

Adding a column makes SQLite's schema editor rebuild ``people_person`` (new table, copy,
drop, rename), which drops the triggers that keep the search index (0003) in step: they are
created again, and the index rebuilt, right after. Any later migration that rebuilds
``people_person`` on SQLite must do the same (tests/api/test_people.py notices if not).
"""

import importlib

from django.db import migrations, models

search_index = importlib.import_module("sangathan.people.migrations.0003_person_name_search_index")


def restore_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in search_index.SQLITE_DROP:
        schema_editor.execute(sql)
    for sql in search_index.SQLITE_CREATE:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0005_import_batch_status_changed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="email"),
        ),
        migrations.RunPython(restore_search_index, migrations.RunPython.noop, elidable=False),
    ]
