from django.db import migrations

DEFAULT_LEVELS = [
    ("national", "National", "राष्ट्रीय", 1),
    ("state", "State", "प्रदेश", 2),
    ("region", "Region", "क्षेत्र", 3),
    ("district", "District", "जिला", 4),
    ("assembly", "Assembly constituency", "विधानसभा", 5),
    ("mandal", "Mandal", "मंडल", 6),
    ("sector", "Sector", "सेक्टर", 7),
    ("booth", "Booth", "बूथ", 8),
]


def add_levels(apps, schema_editor):
    Level = apps.get_model("org", "Level")
    for slug, en, hi, depth in DEFAULT_LEVELS:
        Level.objects.get_or_create(
            slug=slug, defaults={"name_en": en, "name_hi": hi, "depth": depth}
        )


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(add_levels, migrations.RunPython.noop)]
