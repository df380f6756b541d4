"""The served Slack endpoint (runner.start_http → gate.py) against hostile requests, over
real HTTP on a free port: unauthenticated junk is 401, oversized bodies 413 (unread),
signed but malformed payloads 400; nothing is stored, no Web API call is made, and the log
holds neither the request nor a traceback nor a token."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import pytest

from tests.adapters.slack.driver import FORM, SECRET, Driver, signed_headers
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes import InMemoryStorage

MARK = "HOSTILE-MARK-7f3a"  # put in every hostile body: it must never reach the log
JSON = "application/json"


async def nothing_stored(storage: InMemoryStorage) -> bool:
    async with storage.uow_factory() as uow:
        return await uow.communities.list() == [] and all(not t for t in storage.tables.values())


def assert_quiet_log(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text
    assert MARK not in text
    assert "Traceback" not in text
    assert BOT_TOKEN not in text and SECRET not in text
    assert "v0=" not in text


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


async def post(driver: Driver, body: bytes | str, headers: dict[str, str]) -> int:
    data = body.encode() if isinstance(body, str) else body
    async with aiohttp.ClientSession() as session, \
            session.post(driver.http_url, data=data, headers=headers) as resp:
        await resp.read()
        return resp.status


def _slash(driver: Driver, **overrides: Any) -> str:
    fields = {"team_id": "T1", "channel_id": "C0GENERAL", "user_id": "U1", "user_name": "ada",
              "command": "/peer", "text": f"join study-buddy {MARK}",
              "response_url": driver.fake.response_url("k"), "trigger_id": "t1"}
    fields.update(overrides)
    return urlencode({k: v for k, v in fields.items() if v is not None})


UNSIGNED = {
    "truncated json": ('{"type":' + f' "{MARK}', {"content-type": JSON}),
    "non-numeric timestamp": ("a=1&" + MARK, {"content-type": FORM,
                                              "x-slack-request-timestamp": "abc",
                                              "x-slack-signature": "v0=" + "0" * 64}),
    "non-ascii signature": (MARK, {"content-type": FORM,
                                   "x-slack-request-timestamp": str(int(time.time())),
                                   "x-slack-signature": "v0=é" + "0" * 63}),
    "huge timestamp": (MARK, {"content-type": FORM, "x-slack-request-timestamp": "9" * 40,
                              "x-slack-signature": "v0=" + "0" * 64}),
    "empty": ("", {"content-type": FORM}),
    "bytes": (b"\xff\xfe\x00" + MARK.encode(), {"content-type": "application/octet-stream"}),
}


@pytest.mark.parametrize("case", list(UNSIGNED))
async def test_unauthenticated_junk_is_401(http_driver: Driver, fake: FakeSlack,
                                           memory_storage: InMemoryStorage,
                                           caplog: pytest.LogCaptureFixture, case: str) -> None:
    body, headers = UNSIGNED[case]
    assert await post(http_driver, body, headers) == 401
    assert await nothing_stored(memory_storage)
    assert fake.calls == [] and fake.responses == []
    assert_quiet_log(caplog)


@pytest.mark.parametrize("how", ["stale", "future", "tampered", "wrong secret", "not utf-8"])
async def test_bad_signatures_are_401(http_driver: Driver, fake: FakeSlack,
                                      memory_storage: InMemoryStorage,
                                      caplog: pytest.LogCaptureFixture, how: str) -> None:
    body = _slash(http_driver)
    data: bytes = body.encode()
    headers = signed_headers(body, FORM)
    if how == "stale":
        headers = signed_headers(body, FORM, timestamp=int(time.time()) - 301)
    elif how == "future":
        headers = signed_headers(body, FORM, timestamp=int(time.time()) + 400)
    elif how == "tampered":
        data = body.replace("user_id=U1", "user_id=UADMIN").encode()
    elif how == "wrong secret":
        headers = signed_headers(body, FORM, secret="someone-else")
    else:
        data = body.encode() + b"\xff"
    assert await post(http_driver, data, headers) == 401
    assert await nothing_stored(memory_storage)
    assert fake.calls == [] and fake.responses == []
    assert_quiet_log(caplog)


async def test_a_body_declared_too_large_is_refused_unread(
        http_driver: Driver, memory_storage: InMemoryStorage,
        caplog: pytest.LogCaptureFixture) -> None:
    url = urlsplit(http_driver.http_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    # Claims 10 MB and sends 10 bytes: the answer must come without the rest.
    writer.write(f"POST {url.path} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                 f"Content-Length: 10000000\r\n\r\n{MARK[:10]}".encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 2.0)
    writer.close()
    assert status_line.split()[1] == b"413"
    assert await nothing_stored(memory_storage)
    assert_quiet_log(caplog)


async def test_an_actual_body_too_large_is_413(http_driver: Driver, fake: FakeSlack,
                                               memory_storage: InMemoryStorage,
                                               caplog: pytest.LogCaptureFixture) -> None:
    body = _slash(http_driver, text=MARK * 20_000)  # ~360 KB, correctly signed

    async def chunked() -> Any:  # no Content-Length: only counting tells the size
        data = body.encode()
        for i in range(0, len(data), 16_384):
            yield data[i:i + 16_384]

    async with aiohttp.ClientSession() as session, \
            session.post(http_driver.http_url, data=chunked(),
                         headers=signed_headers(body, FORM)) as resp:
        assert resp.status == 413
    assert await nothing_stored(memory_storage)
    assert fake.calls == []
    assert_quiet_log(caplog)


def _payload(driver: Driver, kind: str) -> dict[str, Any]:
    base = {"team": {"id": "T1"}, "user": {"id": "U1", "name": "ada"}, "trigger_id": "t",
            "api_app_id": "A1", "token": "legacy"}
    if kind == "block_actions":
        return {**base, "type": kind, "actions": [{"action_id": "pm:status:0", "value": MARK}],
                "response_url": driver.fake.response_url("b")}
    return {**base, "type": kind, "view": {"type": "modal", "callback_id": "pmform:join",
                                           "blocks": [],
                                           "state": {"values": {}}, "private_metadata": MARK}}


def _form(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _malformed(driver: Driver) -> dict[str, tuple[str, str]]:
    click = _payload(driver, "block_actions")
    submit = _payload(driver, "view_submission")
    event = {"team_id": "T1", "type": "event_callback", "event_id": "Ev1", "api_app_id": "A1",
             "event": {"type": "app_home_opened", "tab": "home", "note": MARK}}
    return {
        "slash without user": (_slash(driver, user_id=None), FORM),
        "slash user None": (_slash(driver, user_id="None"), FORM),
        "slash without team": (_slash(driver, team_id=None), FORM),
        "slash without channel": (_slash(driver, channel_id=None), FORM),
        "another slash command": (_slash(driver, command="/other"), FORM),
        "bad json in payload": (urlencode({"payload": '{"type": "block_actions", ' + MARK}), FORM),
        "payload a list": (_form([MARK]), FORM),
        "unknown type": (_form({**click, "type": MARK}), FORM),
        "click without user": (_form({**click, "user": None}), FORM),
        "click user a string": (_form({**click, "user": MARK}), FORM),
        "click without actions": (_form({**click, "actions": []}), FORM),
        "click channel a list": (_form({**click, "channel": [MARK]}), FORM),
        "click unknown action": (_form({**click, "actions": [{"action_id": MARK}]}), FORM),
        "submit values a list": (_form({**submit, "view": {**submit["view"],
                                                           "state": {"values": [MARK]}}}), FORM),
        "submit without callback": (_form({**submit, "view": {"blocks": [MARK]}}), FORM),
        "submit without view type": (_form({**submit, "view": {**submit["view"], "type": None}}),
                                     FORM),
        "submit unknown callback": (_form({**submit, "view": {**submit["view"],
                                                              "callback_id": MARK}}), FORM),
        "event without user": (json.dumps(event), JSON),
        "event of unknown type": (json.dumps({**event, "event": {"type": MARK}}), JSON),
        "json not an object": (json.dumps([MARK]), JSON),
        "bad json": ('{"type": "event_callback", ' + MARK, JSON),
        "deeply nested json": ("[" * 50_000, JSON),
    }


async def test_signed_but_malformed_payloads_are_400_and_change_nothing(
        http_driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage,
        caplog: pytest.LogCaptureFixture) -> None:
    statuses = {}
    for name, (body, content_type) in _malformed(http_driver).items():
        statuses[name] = await post(http_driver, body, signed_headers(body, content_type))
    await http_driver.settle()
    assert statuses == dict.fromkeys(statuses, 400)
    assert await nothing_stored(memory_storage)
    # auth.test is Bolt learning who it is on its first dispatched request; nothing else.
    assert {c.method for c in fake.calls} <= {"auth.test"}
    assert fake.responses == []
    assert_quiet_log(caplog)


async def test_a_signed_well_formed_request_passes_the_gate(
        http_driver: Driver, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    sent, key = await http_driver.slash("U1", "status")
    assert sent.status == 200
    assert fake.responses and fake.responses[0]["key"] == key
    sent = await http_driver.home_opened("U1")
    assert sent.status == 200
    assert "Traceback" not in caplog.text and BOT_TOKEN not in caplog.text


async def test_a_slash_command_mentioning_payload_is_still_a_slash_command(
        http_driver: Driver, fake: FakeSlack) -> None:
    # Bolt reads any form body containing "payload" as an (empty) interaction.
    sent, key = await http_driver.slash("U1", "status payload")
    assert sent.status == 200
    assert [r["key"] for r in fake.responses] == [key]


async def test_refusals_are_summarised_not_logged_one_by_one(
        http_driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(50):
        assert await post(http_driver, MARK, {"content-type": FORM}) == 401
    lines = [r for r in caplog.records if r.name == "adapters.slack.gate"]
    assert len(lines) <= 1
    assert_quiet_log(caplog)


async def test_the_app_itself_refuses_malformed_payloads_outside_the_gate(
        driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage,
        caplog: pytest.LogCaptureFixture) -> None:
    # In-process dispatch (as Socket Mode does): the app's own middleware checks the shape.
    body = _slash(driver, user_id="None")
    sent = await driver.send(body)
    assert sent.status == 400
    assert await nothing_stored(memory_storage)
    assert {c.method for c in fake.calls} <= {"auth.test"} and fake.responses == []
    assert_quiet_log(caplog)


async def test_a_body_that_never_arrives_is_408(app: Any, memory_storage: InMemoryStorage,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from aiohttp import web

    from adapters.slack import gate

    runner = web.AppRunner(gate.web_app(app, SECRET, "/slack/events", read_timeout=0.2))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Promises 100 bytes, sends 10, then waits: the gate stops waiting first.
        writer.write(f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
                     f"Content-Length: 100\r\n\r\n{MARK[:10]}".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 3.0)
        writer.close()
    finally:
        await runner.cleanup()
    assert status_line.split()[1] == b"408"
    assert await nothing_stored(memory_storage)
    assert_quiet_log(caplog)
