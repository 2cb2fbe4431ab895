import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sangathan.core.management.commands.serve import application


def wsgi_get(app, path: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    status = []
    body = b"".join(app(environ, lambda s, headers, exc=None: status.append(s)))
    return status[0], body


def test_the_served_application_answers_static_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    status, body = wsgi_get(application(), "/static/css/sangathan.css")
    assert status.startswith("200") and body


def test_serve_refuses_a_malformed_address():
    with pytest.raises(CommandError, match="127.0.0.1:8000"):
        call_command("serve", addr="localhost")
