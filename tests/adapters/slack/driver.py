"""Plays Slack's side: signed slash commands, button clicks, modal submissions and events
sent to the real Bolt app, either in-process (``app.async_dispatch``) or over real HTTP to
the app served by adapters/slack/runner.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import drain
from tests.adapters.slack.fake_slack import FakeSlack

SECRET = "test-signing-secret"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Sent:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}


def signed_headers(body: str, content_type: str, *, secret: str = SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"content-type": content_type, "x-slack-request-timestamp": ts,
            "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}


def _state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The ``state.values`` Slack would send: given values, else the inputs' initial ones."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el, name = block["element"], block["block_id"]
        kind = el["type"]
        given = values.get(name)
        if kind in ("plain_text_input", "number_input"):
            item = {"value": str(given) if given is not None else el.get("initial_value")}
        elif kind == "static_select":
            option = next((o for o in el["options"] if o["value"] == given), None) \
                if given is not None else el.get("initial_option")
            item = {"selected_option": option}
        elif kind == "multi_static_select":
            wanted = [v.strip() for v in str(given).split(",")] if given is not None else None
            item = {"selected_options": [o for o in el["options"] if o["value"] in wanted]
                    if wanted is not None else el.get("initial_options", [])}
        elif kind == "checkboxes":
            item = {"selected_options": (el["options"] if given else [])
                    if given is not None else el.get("initial_options", [])}
        elif kind == "users_select":
            item = {"selected_user": given if given is not None else el.get("initial_user")}
        else:
            raise AssertionError(f"unexpected element {kind}")
        state[name] = {el["action_id"]: {"type": kind, **item}}
    return state


class Driver:
    """Sends what Slack would send; ``http_url`` set → over HTTP, else in-process."""

    def __init__(self, app: AsyncApp, fake: FakeSlack, *, http_url: str = "") -> None:
        self.app = app
        self.fake = fake
        self.http_url = http_url
        self._n = itertools.count(1)

    async def send(self, body: str, content_type: str = FORM, *, headers: dict[str, str] | None = None,
                   settle: bool = True) -> Sent:
        headers = headers or signed_headers(body, content_type)
        if self.http_url:
            async with aiohttp.ClientSession() as session, \
                    session.post(self.http_url, data=body.encode(), headers=headers) as resp:
                sent = Sent(resp.status, await resp.text())
        else:
            response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
            sent = Sent(response.status, response.body)
        if settle:
            await self.settle()
        return sent

    async def settle(self) -> None:
        """Let acknowledged work finish (events start just after their ack)."""
        for _ in range(5):
            await asyncio.sleep(0)
        async with asyncio.timeout(10):
            await drain(self.app)

    def _user(self, user: str) -> dict[str, Any]:
        name = self.fake.users.get(user, {}).get("name", user.lower())
        return {"id": user, "username": name, "name": name, "team_id": self.fake.team_id}

    def slash_body(self, user: str, text: str, channel: str = "C0GENERAL") -> tuple[str, str]:
        n = next(self._n)
        key = f"slash-{n}"
        body = urlencode({
            "token": "legacy", "team_id": self.fake.team_id, "team_domain": "test",
            "channel_id": channel, "channel_name": "general", "user_id": user,
            "user_name": self._user(user)["name"], "command": "/peer", "text": text,
            "api_app_id": "A1", "response_url": self.fake.response_url(key),
            "trigger_id": f"trigger-{n}"})
        return body, key

    async def slash(self, user: str, text: str, channel: str = "C0GENERAL") -> tuple[Sent, str]:
        """``/peer <text>``; returns the HTTP answer and the key of its response_url."""
        body, key = self.slash_body(user, text, channel)
        return await self.send(body), key

    async def click(self, user: str, surface: dict[str, Any], label: str, *,
                    channel: str = "") -> tuple[Sent, str]:
        """Click the button labelled ``label`` in a message (or a home view)."""
        for block in surface.get("blocks", []):
            for el in block.get("elements", []) if block.get("type") == "actions" else []:
                if el.get("type") == "button" and el["text"]["text"] == label:
                    return await self._click(user, surface, block, el, channel)
        raise AssertionError(f"no button {label!r}")

    async def _click(self, user: str, surface: dict[str, Any], block: dict[str, Any],
                     el: dict[str, Any], channel: str) -> tuple[Sent, str]:
        n = next(self._n)
        key = f"action-{n}"
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": self.fake.team_id, "domain": "test"},
            "user": self._user(user), "api_app_id": "A1", "token": "legacy",
            "trigger_id": f"trigger-{n}",
            "actions": [{"type": "button", "action_id": el["action_id"], "block_id": block.get("block_id", "b"),
                         "text": el["text"], "value": el.get("value", ""), "action_ts": "1700000000.1"}]}
        if surface.get("type") == "home":
            payload |= {"container": {"type": "view", "view_id": "VHOME"}, "view": surface}
        else:
            channel = channel or surface.get("channel", "")
            payload |= {"container": {"type": "message", "message_ts": surface.get("ts", ""),
                                      "channel_id": channel, "is_ephemeral": False},
                        "channel": {"id": channel, "name": "x"}, "message": surface,
                        "response_url": self.fake.response_url(key)}
        return await self.send(urlencode({"payload": json.dumps(payload)})), key

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> Sent:
        """Submit a modal that was opened with ``views.open``."""
        n = next(self._n)
        submitted = {**view, "state": {"values": _state(view, values)}, "team_id": self.fake.team_id,
                     "app_installed_team_id": self.fake.team_id}
        payload = {"type": "view_submission", "team": {"id": self.fake.team_id, "domain": "test"},
                   "user": self._user(user), "api_app_id": "A1", "token": "legacy",
                   "trigger_id": f"trigger-{n}", "view": submitted, "response_urls": []}
        return await self.send(urlencode({"payload": json.dumps(payload)}))

    def event_body(self, event: dict[str, Any]) -> str:
        return json.dumps({"token": "legacy", "team_id": self.fake.team_id, "api_app_id": "A1",
                           "event": event, "type": "event_callback",
                           "event_id": f"Ev{next(self._n)}", "event_time": int(time.time())})

    async def home_opened(self, user: str) -> Sent:
        event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                 "event_ts": "1700000000.1"}
        return await self.send(self.event_body(event), "application/json")
