"""The provider emulator keeps the contracts the adapters and webhooks are written against."""

import hashlib
import hmac
import http.client
import json
import socket
import time

import pytest

from sangathan.channels.adapters.base import JsonHttpClient, TransportError

TEMPLATE = {
    "messaging_product": "whatsapp",
    "to": "919810000003",
    "type": "template",
    "template": {
        "name": "broadcast",
        "language": {"code": "hi"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "नमस्ते"}]}],
    },
}


def sms(ref, to="+919810000003", **kw):
    return {
        "ref": str(ref),
        "to": to,
        "text": "बैठक रविवार को",
        "header": "SNGTHN",
        "entity_id": "1101",
        "template_id": "1107",
        "unicode": True,
        **kw,
    }


def client(emu, token="t"):
    return JsonHttpClient(emu.url, headers={"Authorization": f"Bearer {token}"}, timeout=2)


def signed(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_whatsapp_send_answers_in_the_cloud_api_shape(emulator):
    emu = emulator(token="t")
    r = client(emu).request("POST", "/v21.0/1234567890/messages", TEMPLATE)
    assert r.status == 200
    assert r.data["messaging_product"] == "whatsapp"
    assert r.data["contacts"] == [{"input": "919810000003", "wa_id": "919810000003"}]
    wamid = r.data["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    assert emu.received[0].kind == "whatsapp" and emu.received[0].id == wamid
    assert emu.received[0].text == "नमस्ते"


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"messaging_product": "sms"}, 400, 100),
        ({"type": "text"}, 400, 100),
        ({"to": "919999999999"}, 400, 131026),  # undeliverable
    ],
)
def test_whatsapp_errors_come_in_metas_shape(emulator, change, status, code):
    emu = emulator(undeliverable={"+919999999999"})
    r = client(emu).request("POST", "/v21.0/123/messages", {**TEMPLATE, **change})
    assert r.status == status
    error = r.data["error"]
    assert error["code"] == code
    assert {"message", "type", "fbtrace_id"} <= set(error)


def test_a_wrong_token_is_refused_with_code_190(emulator):
    emu = emulator(token="right")
    r = client(emu, token="wrong").request("POST", "/v21.0/123/messages", TEMPLATE)
    assert (r.status, r.data["error"]["code"]) == (401, 190)


def test_above_its_rate_it_answers_429_with_retry_after(emulator):
    emu = emulator(rate=5)
    c = client(emu)
    answers = [c.request("POST", "/v21.0/123/messages", TEMPLATE) for _ in range(10)]
    assert [a.status for a in answers[:5]] == [200] * 5  # a second's worth of burst
    limited = [a for a in answers if a.status == 429]
    assert len(limited) >= 3
    assert limited[0].data["error"]["code"] == 130429
    assert int(limited[0].headers["Retry-After"]) >= 1
    stats = emu.stats()
    assert stats["accepted"] == 10 - len(limited) and stats["rate_limited"] == len(limited)


def test_the_pair_rate_limit_answers_131056(emulator):
    emu = emulator(pair_limit_seconds=6)
    c = client(emu)
    assert c.request("POST", "/v21.0/123/messages", TEMPLATE).status == 200
    again = c.request("POST", "/v21.0/123/messages", TEMPLATE)
    assert (again.status, again.data["error"]["code"]) == (400, 131056)


def test_injected_server_errors_are_5xx_with_transient_codes(emulator):
    emu = emulator(fail_rate=1.0)
    codes = set()
    for _ in range(10):
        r = client(emu).request("POST", "/v21.0/123/messages", TEMPLATE)
        assert r.status in (500, 503)
        codes.add(r.data["error"]["code"])
    assert codes <= {131000, 2} and emu.stats()["failed_5xx"] == 10


def test_a_hang_makes_the_client_time_out(emulator):
    emu = emulator(hang_rate=1.0, hang_seconds=5)
    c = JsonHttpClient(emu.url, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(TransportError, match="timed out"):
        c.request("POST", "/messages", {"messages": [sms(1)]})
    assert time.monotonic() - started < 2
    assert emu.stats()["hung"] == 1 and emu.received == []


def test_sms_gateway_accepts_and_rejects_per_message(emulator):
    emu = emulator(api_key="k", undeliverable={"+919999999999"})
    body = {"messages": [sms(1), sms(2, to="+919999999999"), sms(3, entity_id="")]}
    r = client(emu, token="k").request("POST", "/messages", body)
    assert r.status == 200
    ok, bad_number, no_dlt = r.data["results"]
    assert ok["ref"] == "1" and ok["status"] == "accepted" and ok["id"]
    assert bad_number == {"ref": "2", "error": "undeliverable number", "permanent": True}
    assert no_dlt["permanent"] is True and "DLT" in no_dlt["error"]
    assert [(m.ref, m.text) for m in emu.received] == [("1", "बैठक रविवार को")]
    assert client(emu, token="nope").request("POST", "/messages", body).status == 401


def test_sms_gateway_refuses_a_whole_request_above_its_rate(emulator):
    emu = emulator(rate=3)
    r = client(emu).request("POST", "/messages", {"messages": [sms(i) for i in range(10)]})
    assert r.status == 200  # a burst of up to a second's worth goes into debt once
    r = client(emu).request("POST", "/messages", {"messages": [sms(11)]})
    assert r.status == 429 and float(r.headers["Retry-After"]) >= 1


def test_keep_alive_serves_many_requests_on_one_connection(emulator):
    emu = emulator()
    c = client(emu)
    for i in range(5):
        assert c.request("POST", "/messages", {"messages": [sms(i)]}).status == 200
    assert c._conn is not None and c._conn.sock is not None
    assert emu.stats()["requests"] == 5


def test_whatsapp_statuses_are_posted_signed_in_webhook_shape(emulator, receiver):
    emu = emulator(webhook_url=receiver.url + "/hooks/whatsapp", app_secret="s3cret")
    wamid = client(emu).request("POST", "/v21.0/555/messages", TEMPLATE).data["messages"][0]["id"]
    assert emu.wait_for_callbacks(5)
    assert len(receiver.posts) == 3
    statuses = []
    for path, headers, raw in receiver.posts:
        assert path == "/hooks/whatsapp"
        assert headers["X-Hub-Signature-256"] == signed(raw, "s3cret")
        body = json.loads(raw)
        assert body["object"] == "whatsapp_business_account"
        value = body["entry"][0]["changes"][0]["value"]
        assert body["entry"][0]["changes"][0]["field"] == "messages"
        assert value["metadata"]["phone_number_id"] == "555"
        for s in value["statuses"]:
            assert s["id"] == wamid and s["recipient_id"] == "919810000003"
            assert s["timestamp"].isdigit()
            statuses.append(s["status"])
    assert statuses == ["sent", "delivered", "read"]


def test_sms_reports_can_be_batched_shuffled_and_duplicated(emulator, receiver):
    emu = emulator(
        sms_webhook_url=receiver.url + "/hooks/sms",
        sms_secret="k2",
        status_batch=50,
        status_delay=0.05,
        shuffle=True,
        duplicate_rate=0.5,
    )
    c = client(emu)
    c.request("POST", "/messages", {"messages": [sms(i) for i in range(20)]})
    assert emu.wait_for_callbacks(5)
    events = []
    for _path, headers, raw in receiver.posts:
        assert headers["X-Sangathan-Signature"] == signed(raw, "k2")
        body = json.loads(raw)
        assert body["inbound"] == []
        events += body["events"]
    ids = {m.id for m in emu.received}
    assert {e["id"] for e in events} == ids
    assert {e["status"] for e in events} == {"sent", "delivered"}  # no "read" for SMS
    assert len(events) > 40  # duplicates
    assert len(receiver.posts) < len(events) / 2  # many statuses per POST
    assert emu.stats()["statuses_sent"] == len(events)


def test_an_inbound_stop_reaches_the_sms_webhook(emulator, receiver):
    emu = emulator(sms_webhook_url=receiver.url + "/hooks/sms", sms_secret="k")
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=2)
    conn.request(
        "POST", "/_emulator/inbound", json.dumps({"from": "+919810000003", "text": "STOP"})
    )
    assert conn.getresponse().status == 202
    assert emu.wait_for_callbacks(5)
    body = json.loads(receiver.posts[0][2])
    assert body["events"] == [] and body["inbound"][0]["text"] == "STOP"


def test_a_failing_webhook_is_retried(emulator):
    from tests.channels.conftest import Receiver

    answers = iter([500, 200])
    flaky = Receiver(lambda path: (next(answers, 200), {}))
    try:
        emu = emulator(webhook_url=flaky.url, statuses=("sent",))
        client(emu).request("POST", "/v21.0/1/messages", TEMPLATE)
        assert emu.wait_for_callbacks(5)
        assert len(flaky.posts) == 2 and emu.stats()["callbacks_failed"] == 1
    finally:
        flaky.close()


def test_stats_messages_and_config_over_http(emulator):
    emu = emulator()
    c = client(emu)
    c.request("POST", "/messages", {"messages": [sms(1), sms(2)]})
    assert c.request("GET", "/_emulator/stats").data["accepted"] == 2
    assert [m["ref"] for m in c.request("GET", "/_emulator/messages?since=1").data["messages"]] == [
        "2"
    ]
    assert c.request("POST", "/_emulator/config", {"fail_rate": 1.0}).status == 200
    assert c.request("POST", "/messages", {"messages": [sms(3)]}).status == 503
    assert c.request("POST", "/_emulator/config", {"bogus": 1}).status == 400


def test_the_command_serves_until_interrupted(tmp_path):
    import signal
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "emulator", "--port", str(port), "--rate", "50"],
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "sangathan.settings_test"},
    )
    try:
        assert "listening on" in proc.stdout.readline()
        c = JsonHttpClient(f"http://127.0.0.1:{port}", timeout=2)
        assert c.request("GET", "/_emulator/stats").data["rate"] == 50
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
