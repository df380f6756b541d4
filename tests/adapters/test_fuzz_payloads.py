"""Fuzzing the platform edges (issue 11.10) with hypothesis, a bounded number of examples.

- Slack: raw requests over real HTTP to the served app (runner.start_http → gate → Bolt):
  slash commands, block actions, view submissions, events and plain junk, signed with the
  right secret or not. Never a 5xx; whatever is refused (any 4xx) changes no row and makes
  no Web API call beyond Bolt's own ``auth.test``.
- Discord: INTERACTION_CREATE payloads built from well-formed ones with fields dropped or
  replaced by junk, pushed through the fake gateway to the real client. The client keeps
  serving, nothing is logged as an error or traceback, and a payload ``shape.problem``
  refuses changes no row.

Both servers run on an event loop in a helper thread, so hypothesis (synchronous) can
drive them example by example.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord import shape as discord_shape
from adapters.slack.app import build_app, drain
from adapters.slack.runner import HttpServer, start_http
from adapters.slack.settings import SlackSettings
from core.services.context import Services
from core.settings import CommunitySettings
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes import FakeClock, InMemoryStorage

T = TypeVar("T")
SECRET = "fuzz-signing-secret"
MISSING = object()  # a drawn "value" meaning: leave the field out
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


class LoopThread:
    """An event loop in a daemon thread; ``run`` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float = 20.0) -> T:
        async def wrap() -> T:
            return await coro
        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def snapshot(storage: InMemoryStorage) -> str:
    return repr(storage.tables)


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)


def maybe(valid: Any) -> st.SearchStrategy[Any]:
    """The valid value (or one drawn from a strategy) most of the time, else junk or
    nothing at all."""
    good = valid if isinstance(valid, st.SearchStrategy) else st.just(valid)
    # Mostly valid, so that one broken field at a time reaches the code behind the checks.
    return st.one_of(good, good, good, good, good, good, junk, st.just(MISSING))


def fields(**template: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({k: maybe(v) for k, v in template.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not MISSING})


# ---- Slack ------------------------------------------------------------------------------
def slack_payloads() -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, content type) of the kinds Slack sends, mutated."""
    text = st.one_of(st.text(max_size=30), st.just("status"), st.just("join study-buddy"))
    slash = st.fixed_dictionaries({
        "team_id": st.one_of(st.just("T1"), st.text(max_size=8), st.just(MISSING)),
        "user_id": st.one_of(st.just("U1"), st.text(max_size=8), st.just(MISSING)),
        "channel_id": st.one_of(st.just("C1"), st.text(max_size=8), st.just(MISSING)),
        "command": st.sampled_from(["/peer", "/other", ""]), "text": text,
        "trigger_id": st.text(max_size=8)}).map(
        lambda d: (urlencode({k: v for k, v in d.items() if v is not MISSING}).encode(), "form"))
    user, team = fields(id="U1", name="ada"), fields(id="T1")
    action = fields(action_id="pm:peer.status:0", value='{"c":"peer status"}', block_id="b")
    click = fields(type="block_actions", user=user, team=team,
                   actions=st.lists(action, max_size=2), channel=fields(id="C1"),
                   trigger_id="t")
    view = fields(type="modal", callback_id="pmform:join", private_metadata='{"c":"peer join"}',
                  state=fields(values=st.dictionaries(st.text(max_size=5), st.dictionaries(
                      st.just("v"), fields(type="plain_text_input", value="x")), max_size=2)),
                  blocks=st.lists(fields(type="input", block_id="goal"), max_size=2))
    submit = fields(type="view_submission", user=user, team=team, view=view, trigger_id="t")
    event = fields(type="event_callback", team_id="T1", event_id="Ev1",
                   event=fields(type="app_home_opened", user="U1", tab="home"))
    as_payload = st.one_of(click, submit, junk).map(
        lambda p: (urlencode({"payload": json.dumps(p)}).encode(), "form"))
    as_json = st.one_of(event, junk).map(lambda p: (json.dumps(p).encode(), "json"))
    raw = st.tuples(st.binary(max_size=200), st.sampled_from(["form", "json", "other"]))
    return st.one_of(slash, as_payload, as_json, raw)


CONTENT_TYPES = {"form": "application/x-www-form-urlencoded", "json": "application/json",
                 "other": "text/plain"}


def headers_for(body: bytes, content: str, how: str) -> dict[str, str]:
    headers = {"content-type": CONTENT_TYPES[content]}
    if how == "unsigned":
        return headers
    ts = str(int(time.time()) - (400 if how == "stale" else 0))
    secret = "guess" if how == "forged" else SECRET
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {**headers, "x-slack-request-timestamp": ts if how != "bad-ts" else "1e9",
            "x-slack-signature": "v0=" + digest.hexdigest()}


class SlackRig:
    def __init__(self, loop: LoopThread) -> None:
        self.loop = loop
        self.storage = InMemoryStorage()
        self.fake = FakeSlack()
        self.server: HttpServer | None = None

    async def start(self) -> None:
        await self.fake.start()
        self.fake.add_user("U1", "Ada")
        services = Services(self.storage.uow_factory, FakeClock(),
                            CommunitySettings(commands_per_minute=0), seed_source=lambda: 1)
        cfg = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SECRET, mode="http", port=0,
                            host="127.0.0.1", api_base_url=self.fake.api_url)
        self.app = build_app(services, cfg)
        self.server = await start_http(self.app, cfg)
        self.url = f"http://127.0.0.1:{self.server.port}{cfg.path}"
        self.session = aiohttp.ClientSession()

    async def send(self, body: bytes, headers: dict[str, str]) -> int:
        async with self.session.post(self.url, data=body, headers=headers) as resp:
            await resp.read()
        await drain(self.app)
        return resp.status

    async def stop(self) -> None:
        await self.session.close()
        if self.server is not None:
            await self.server.stop()
        await self.fake.stop()


@pytest.fixture
def slack_rig() -> Iterator[SlackRig]:
    loop = LoopThread()
    rig = SlackRig(loop)
    loop.run(rig.start())
    yield rig
    loop.run(rig.stop())
    loop.close()


@FUZZ
@given(payload=slack_payloads(),
       how=st.sampled_from(["signed", "signed", "signed", "unsigned", "stale", "forged",
                            "bad-ts"]))
def test_fuzzed_slack_requests(slack_rig: SlackRig, caplog: pytest.LogCaptureFixture,
                               payload: tuple[bytes, str], how: str) -> None:
    body, content = payload
    before, calls = snapshot(slack_rig.storage), len(slack_rig.fake.calls)
    responses = len(slack_rig.fake.responses)
    status = slack_rig.loop.run(slack_rig.send(body, headers_for(body, content, how)))
    assert status < 500
    if how != "signed":
        assert status == 401
    if status != 200:  # refused: nothing changed, nobody was called
        assert snapshot(slack_rig.storage) == before
        assert {c.method for c in slack_rig.fake.calls[calls:]} <= {"auth.test"}
        assert len(slack_rig.fake.responses) == responses
    assert "Traceback" not in caplog.text


# ---- Discord ----------------------------------------------------------------------------
def discord_payloads(fake: FakeDiscord) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed interactions (as the fake gateway sends them) with fields broken."""
    uid = fake.ids["alice"]
    real_member = fake.member(uid)
    member = fields(**{**real_member, "user": fields(**real_member["user"])})
    custom_id = st.one_of(st.sampled_from(["pm:0:peer.status:", "pmf:o:0:join", "pmf:m:0:0:join",
                                           "pm:x", "other"]), st.text(max_size=20))
    component = fields(custom_id=custom_id, component_type=2, values=st.lists(junk, max_size=2))
    modal = fields(custom_id=custom_id, components=st.lists(
        fields(type=18, component=fields(type=4, custom_id="goal", value="x")), max_size=2))
    option = fields(name="status", type=1, options=st.lists(
        fields(name="x", type=3, value="y"), max_size=2))
    top = fake.commands[fake.guild_id][0]
    command = fields(name=top["name"], type=1, id=top["id"], guild_id=fake.guild_id,
                     options=st.lists(option, max_size=2), resolved=st.just({}))
    data = st.one_of(command.map(lambda d: (2, d)), component.map(lambda d: (3, d)),
                     modal.map(lambda d: (5, d)), command.map(lambda d: (4, d)))

    def build(kind_data: tuple[int, dict[str, Any]], rest: dict[str, Any],
              kind_junk: Any) -> dict[str, Any]:
        kind, body = kind_data
        return {"type": kind if kind_junk is MISSING else kind_junk, "data": body, **rest}

    return st.builds(build, data, fields(
        id="1300000000000999999", application_id=fake.app_id, token="tokfuzz", version=1,
        attachment_size_limit=1 << 20, guild_id=fake.guild_id, member=member, context=0,
        channel=st.just(fake.general), channel_id=fake.general["id"], locale="en-US",
        entitlements=st.just([]), app_permissions="0"),
        st.one_of(st.just(MISSING), st.just(MISSING), st.just(MISSING), junk))


class DiscordRig:
    def __init__(self) -> None:
        self.storage = InMemoryStorage()
        self.fake = FakeDiscord()
        self._running: AbstractAsyncContextManager[Bot] | None = None

    async def start(self) -> None:
        await self.fake.start()
        self._running = running(self.fake, self.storage, FakeClock(),
                                community_settings(self.fake), discord_settings(self.fake))
        self.bot = await self._running.__aenter__()

    async def send(self, payload: dict[str, Any]) -> None:
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        # A click on a button that is not ours after it (answered without touching the
        # storage): once it is answered, the gateway has read the fuzzed payload; a moment
        # more lets that payload's handler finish.
        token = await self.bot.users._send("bob", 3, {"custom_id": "sentinel",
                                                      "component_type": 2})
        await self.bot.users.answer(token)
        await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.__aexit__(None, None, None)
        await self.fake.close()


@pytest.fixture
def discord_rig() -> Iterator[DiscordRig]:
    loop = LoopThread()
    rig = DiscordRig()
    loop.run(rig.start())
    rig.loop = loop  # type: ignore[attr-defined]
    yield rig
    loop.run(rig.stop())
    loop.close()


def test_fuzzed_discord_interactions(discord_rig: DiscordRig,
                                     caplog: pytest.LogCaptureFixture) -> None:
    loop: LoopThread = discord_rig.loop  # type: ignore[attr-defined]
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(payload=discord_payloads(discord_rig.fake))
    def one(payload: dict[str, Any]) -> None:
        before = snapshot(discord_rig.storage)
        loop.run(discord_rig.send(payload))
        assert discord_rig.bot.client.is_ready() and not discord_rig.bot.client.is_closed()
        if discord_shape.problem(payload) is not None:
            assert snapshot(discord_rig.storage) == before

    one()
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad[:3]]
    assert "Traceback" not in caplog.text and "never retrieved" not in caplog.text
