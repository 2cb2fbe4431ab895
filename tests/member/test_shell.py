"""The member app's shell, manifest and service worker, as the browser and Chromium's
installability check read them."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

pytestmark = pytest.mark.django_db


class Links(HTMLParser):
    """Every URL the page refers to (href, src) and its <link rel=…> elements."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.links: list[dict] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src", "action"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if tag == "link":
            self.links.append(attrs)
        self._in_script = tag == "script" and "src" not in attrs

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def parse(response) -> Links:
    parser = Links()
    parser.feed(response.content.decode())
    return parser


def test_the_shell_links_the_manifest_and_registers_the_service_worker(client):
    response = client.get("/app/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    page = parse(response)
    manifests = [link["href"] for link in page.links if link.get("rel") == "manifest"]
    assert manifests == ["/app/manifest.webmanifest"]
    registration = "".join(page.scripts)
    assert 'navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"' in registration
    assert "/static/member/app.js" in page.urls
    assert "/static/member/app.css" in page.urls


def test_the_shell_needs_no_login(client):
    # Deny-by-default middleware: /app/ is public (the app logs in with bearer tokens).
    assert client.get("/app/").status_code == 200
    assert client.get("/app/sw.js").status_code == 200
    assert client.get("/app/manifest.webmanifest").status_code == 200


def test_the_shell_refers_to_nothing_outside_the_site(client):
    for language in ("hi", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get("/app/")
        page = parse(response)
        for url in page.urls:
            assert url.startswith(("/", "#", "?")), url
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", response.content.decode(), re.I)


def test_it_speaks_hindi_by_default_even_to_an_english_browser():
    client = Client(HTTP_ACCEPT_LANGUAGE="en-IN,en;q=0.9")
    body = client.get("/app/").content.decode()
    assert '<html lang="hi">' in body
    assert "गोपनीयता" in body  # "Privacy notice", already in the Hindi catalogue
    config = json.loads(re.search(r'id="member-config"[^>]*>(.*?)</script>', body).group(1))
    assert config["lang"] == "hi"
    assert 'href="?lang=en"' in body


def test_the_english_switch_persists():
    client = Client()
    response = client.get("/app/?lang=en")
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    body = client.get("/app/").content.decode()
    assert '<html lang="en">' in body
    assert "Privacy notice" in body
    assert 'href="?lang=hi"' in body
    # And back.
    client.get("/app/?lang=hi")
    assert '<html lang="hi">' in client.get("/app/").content.decode()


def test_an_unknown_language_changes_nothing():
    client = Client()
    response = client.get("/app/?lang=fr")
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/app/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    for field in ("name", "short_name", "start_url", "scope", "display", "icons"):
        assert manifest[field], field
    assert manifest["start_url"] == "/app/"
    assert manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "hi"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_the_manifest_icons_exist_with_their_sizes(client):
    manifest = json.loads(client.get("/app/manifest.webmanifest").content)
    for icon in manifest["icons"]:
        assert icon["src"].startswith(
            settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else "/" + settings.STATIC_URL
        )
        path = finders.find(icon["src"].split("/static/", 1)[1])
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = (int(n) for n in icon["sizes"].split("x"))
            assert image.size == (width, height)
        if icon["purpose"] == "maskable":
            # A maskable icon fills its square: no transparent corners for a mask to show.
            with Image.open(path) as image:
                assert image.convert("RGBA").getpixel((0, 0))[3] == 255


def test_the_service_worker_is_served_for_the_app_scope(client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    assert response["Service-Worker-Allowed"] == "/app/"
    script = response.content.decode()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", script).group(1))
    assert "/app/" in precache
    assert "/static/member/app.js" in precache
    assert any(url.endswith(".woff2") for url in precache)
    for url in precache:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    assert "&quot;" not in script  # the template must not HTML-escape the script
    assert 'importScripts("/static/member/outbox.js")' in script


def test_the_cache_version_follows_the_shell_files(client, settings, tmp_path, monkeypatch):
    from sangathan.member import views

    settings.DEBUG = True
    first = re.search(r'const VERSION = "(\w+)"', client.get("/app/sw.js").content.decode())[1]
    assert first == views.shell_version()
    monkeypatch.setattr(views, "SHELL_STATIC", [*views.SHELL_STATIC, "css/sangathan.css"])
    second = re.search(r'const VERSION = "(\w+)"', client.get("/app/sw.js").content.decode())[1]
    assert second != first
