import subprocess
import sys


def test_sqlite_file_database_runs_in_wal_with_immediate_transactions(tmp_path):
    db = tmp_path / "x.sqlite3"
    code = (
        "import django, os; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]);"
        "print(connection.settings_dict['OPTIONS']['transaction_mode'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "DATABASE_URL": f"sqlite:///{db}",
            "DJANGO_SETTINGS_MODULE": "sangathan.settings",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["wal", "IMMEDIATE"]


def test_privacy_notice_is_public_and_names_grievance_contact(client, settings):
    settings.SANGATHAN_GRIEVANCE_CONTACT = "dpo@example.in"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get("/privacy/")
    assert r.status_code == 200
    assert b"dpo@example.in" in r.content


def test_production_refuses_the_demo_secret_key(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "sangathan.settings",
        "SANGATHAN_DEBUG": "false",
        "PATH": "/usr/bin:/bin",
    }
    code = "import django; django.setup()"
    refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "SANGATHAN_SECRET_KEY" in refused.stderr
    env["SANGATHAN_SECRET_KEY"] = "a-real-secret-" + "k" * 40
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
