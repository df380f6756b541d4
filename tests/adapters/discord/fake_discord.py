"""A fake Discord (REST API + gateway) on 127.0.0.1 for driving the real discord.py client.

REST: the calls PeerMatch makes, answered from an in-memory guild; every call is recorded
(``calls``) and every message the bot creates is kept (``sent``). JSON answers carry the
content type exactly ``application/json`` (discord.py checks it); interaction callbacks
return the ``with_response`` body. ``fail()`` queues error answers (429 with Retry-After,
403 50013, 400 30013...) and ``dm_closed`` users answer 403 50007 to DMs. ``after()``
carries a call out and then answers badly (a 500, a dropped connection, no answer); both
live in fake_faults.py, with ``hold()`` (a call that waits, not done yet). Interaction
tokens expire when told (``expired_tokens``), as they do after 15 minutes. Unforgiving
where Discord is: no deduplication but Discord's own (a message ``nonce`` with
``enforce_nonce`` within ``nonce_window`` seconds: the same message is answered again,
nothing new is made); the nonce is echoed only in the create's answer, never in the
history; history pages hold at most 100 messages. Gateway: HELLO, IDENTIFY -> READY +
GUILD_CREATE, heartbeats; ``dispatch()`` pushes events such as INTERACTION_CREATE (see
``interactions.py`` for building them)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.adapters.discord import payloads as p
from tests.adapters.discord.fake_faults import Faults

T = TypeVar("T")
ADMIN, MANAGE_GUILD, VIEW, SEND = 1 << 3, 1 << 5, 1 << 10, 1 << 11
LEARNER_PERMS = VIEW | SEND | (1 << 31)  # + use application commands
# A safety bound, not a timing check: the first matplotlib import on a busy machine alone
# can take 10 s.
WAIT_BOUND_SECONDS = 30.0


@dataclass
class Call:
    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    json: Any
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200


@dataclass
class Sent:
    """Something the bot showed: an interaction callback, a follow-up or a channel message."""

    kind: str  # callback | followup | message
    channel_id: str
    body: dict[str, Any]
    files: list[tuple[str, bytes]]
    message: dict[str, Any] | None
    token: str = ""
    type: int = 0  # interaction callback type (4 message, 5 deferred, 8 choices, 9 modal)
    edits: int = 0  # PATCHes of an interaction's original response (type 5 then reads 4)

    @property
    def content(self) -> str:
        return str(self.body.get("content") or "")

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.body.get("flags") or 0) & 64)

    def buttons(self) -> dict[str, str]:
        """Button label -> custom id."""
        return {c["label"]: c["custom_id"] for row in self.body.get("components") or []
                for c in row.get("components", []) if c.get("type") == 2}


class FakeDiscord(Faults):
    """One guild with roles, channels and members, served over HTTP and a websocket."""

    def __init__(self) -> None:
        self.app_id, self.guild_id = p.snowflake(), p.snowflake()
        self.users: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, str] = {}  # name -> user id
        self.member_roles: dict[str, list[str]] = {}
        self.bot = self._add_user("peermatch", bot=True)
        self.owner = self._add_user("owner")
        for name in ("alice", "bob", "carol", "dave", "mod"):
            self._add_user(name)
        self.mod_role = p.snowflake()
        self.member_roles[self.ids["mod"]] = [self.mod_role]
        self.roles = [p.role(self.guild_id, "@everyone", LEARNER_PERMS, 0),
                      p.role(self.mod_role, "Moderators", LEARNER_PERMS, 2)]
        self.channels: dict[str, dict[str, Any]] = {}
        self.general = self._add_channel(p.channel(p.snowflake(), "general", self.guild_id))
        self.category = self._add_channel(
            p.channel(p.snowflake(), "Matches", self.guild_id, kind=4)
        )
        self.thread_members: dict[str, set[str]] = {}
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> synced
        self.dm_closed: set[str] = set()
        self.left: set[str] = set()  # members who left the server (GET member: 404)
        # Interaction tokens past Discord's 15 minutes: callbacks 404 (10062), follow-ups
        # and edits 401 (50027), as Discord answers them.
        self.expired_tokens: set[str] = set()
        # Called with each call as it arrives, before it is carried out (what the bot had
        # stored by the time Discord heard from it).
        self.on_arrival: list[Callable[[Call], Awaitable[None]]] = []
        Faults.__init__(self)
        self.identified: list[dict[str, Any]] = []
        self.tokens: dict[str, str] = {}  # interaction token -> channel id
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- set-up -------------------------------------------------------------------------
    def _add_user(self, name: str, *, bot: bool = False) -> dict[str, Any]:
        uid = p.snowflake()
        self.users[uid], self.ids[name] = p.user(uid, name, bot=bot), uid
        self.member_roles[uid] = []
        return self.users[uid]

    def _add_channel(self, data: dict[str, Any]) -> dict[str, Any]:
        self.channels[data["id"]] = data
        return data

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._stopping.set()  # hung answers end now
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def member(self, uid: str, permissions: int | None = None) -> dict[str, Any]:
        return p.member(self.users[uid], self.member_roles[uid], permissions)

    # ---- waiting --------------------------------------------------------------------------
    def _touch(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], T]) -> T:
        """Wait until ``predicate()`` is truthy (no timing assertion: a generous bound).

        Wakes on every call the fake receives, and every few ms for the client's own state.
        """
        async with asyncio.timeout(WAIT_BOUND_SECONDS):
            while True:
                value = predicate()
                if value:
                    return value
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.02)

    # ---- gateway ----------------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    def guild_payload(self) -> dict[str, Any]:
        members = [self.member(uid) for uid in self.users]
        channels = [c for c in self.channels.values() if c.get("guild_id") and c["type"] in (0, 4)]
        return p.guild(self.guild_id, "Study Hall", self.owner["id"], self.roles, channels,
                       members, self.general["id"])

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["op"] == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif data["op"] == 2:
                self.identified.append(data["d"])
                ready = {
                    "v": 10,
                    "user": self.bot,
                    "guilds": [{"id": self.guild_id, "unavailable": True}],
                    "session_id": "session-1",
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": self.app_id, "flags": 0},
                }
                if data["d"].get("shard"):
                    ready["shard"] = data["d"]["shard"]
                await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": ready})
                await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq),
                                    "d": self.guild_payload()})
                self._touch()
        self._sockets.remove(ws)
        return ws

    # ---- REST ---------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    files.append((part.filename or "", bytes(await part.read())))  # type: ignore[union-attr]
        elif request.can_read_body:
            body = await request.json()
        call = Call(request.method, path, dict(request.query), body, files)
        self.calls.append(call)
        self._touch()
        for look in list(self.on_arrival):
            await look(call)
        await self._wait_if_held(call)
        status, answer, headers = self._fault(call) or await self._route(call)
        call.status = status
        self._touch()
        bad = self._fault(call, self.after_faults) if 200 <= status < 300 else None
        if bad is not None:  # done; now the answer goes wrong
            return await self._bad_answer(request, call, str(bad[1]["fault"]))
        if answer is None:
            return web.Response(status=status, headers=headers)
        # Exactly application/json: discord.py does not parse "application/json; charset=...".
        return web.Response(status=status, body=json.dumps(answer).encode(),
                            headers={"Content-Type": "application/json", **headers})

    async def _route(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        from tests.adapters.discord import fake_routes  # the handlers, kept in their own module

        for method, pattern, handler in fake_routes.ROUTES:
            m = re.fullmatch(pattern, call.path)
            if m and method == call.method:
                status, answer = handler(self, call, *m.groups())
                return status, answer, {}
        return 404, {"code": 0, "message": f"404: Not Found ({call.method} {call.path})"}, {}

    # ---- what the bot showed -------------------------------------------------------------------
    def record(
        self,
        kind: str,
        channel_id: str,
        body: dict[str, Any],
        files: list[tuple[str, bytes]],
        token: str = "",
        type_: int = 0,
        as_message: bool = True,
    ) -> Sent:
        message = None
        if as_message:
            attachments = [
                {
                    "id": p.snowflake(),
                    "filename": name,
                    "size": len(data),
                    "url": f"{self.api_url}/files/{name}",
                    "proxy_url": "",
                }
                for name, data in files
            ]
            message = p.message(p.snowflake(), channel_id, self.bot, body, attachments)
        sent = Sent(kind, channel_id, body, files, message, token, type_)
        self.sent.append(sent)
        return sent

    def replies(self, token: str) -> list[Sent]:
        return [s for s in self.sent if s.token == token]

    def in_channel(self, channel_id: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == "message" and s.channel_id == channel_id]

    def dm_channel_of(self, uid: str) -> str | None:
        return next((c["id"] for c in self.channels.values()
                     if c["type"] == 1 and c["recipients"][0]["id"] == uid), None)

    def dms_to(self, name: str) -> list[Sent]:
        channel = self.dm_channel_of(self.ids[name])
        return [s for s in self.in_channel(channel)] if channel else []
