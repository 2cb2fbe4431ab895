"""An index for cross-script person search (``name_key LIKE '% key%'``).

SQLite: an FTS5 table with the trigram tokenizer over ``people_person.name_key`` and
``phone`` (external content: it stores only the index, the text stays in ``people_person``),
kept in step by triggers on insert, delete and any update of ``name_key`` or ``phone``.
``names.search_people`` narrows candidates with ``id IN (SELECT rowid FROM people_person_fts
WHERE name_key LIKE …)`` (or ``phone LIKE '%tail'`` for a phone search).

PostgreSQL: GIN ``gin_trgm_ops`` indexes on ``name_key`` and ``phone``, which serve the same
LIKE filters directly. They need the ``pg_trgm`` extension; where the migrating role may not
create it, the indexes are skipped (search still works, unindexed) and a warning says so.
"""

import warnings

from django.db import migrations, transaction

FTS = "people_person_fts"
PG_INDEXES = {"people_person_name_key_trgm": "name_key", "people_person_phone_trgm": "phone"}

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5("
    "name_key, phone, content='people_person', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON people_person BEGIN "
    f"INSERT INTO {FTS}(rowid, name_key, phone) VALUES (new.id, new.name_key, new.phone); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON people_person BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name_key, phone) "
    "VALUES ('delete', old.id, old.name_key, old.phone); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF name_key, phone ON people_person BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name_key, phone) "
    "VALUES ('delete', old.id, old.name_key, old.phone); "
    f"INSERT INTO {FTS}(rowid, name_key, phone) VALUES (new.id, new.name_key, new.phone); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TABLE IF EXISTS {FTS}",
]


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)
    elif connection.vendor == "postgresql":
        try:
            with transaction.atomic(using=connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as e:  # noqa: BLE001 - any refusal: go on without the index
            warnings.warn(
                f"pg_trgm is not available ({e}); person search will work without an index. "
                "Ask the database owner to run CREATE EXTENSION pg_trgm and migrate again.",
                stacklevel=1,
            )
            return
        for name, column in PG_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON people_person "
                f"USING gin ({column} gin_trgm_ops)"
            )


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)
    elif connection.vendor == "postgresql":
        for name in PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("people", "0002_import_batch")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
