"""A fake Slack Web API served by aiohttp on 127.0.0.1, for the Slack adapter's tests.

It answers the methods the adapter uses with Slack's shapes, keeps the workspace's state
(users, usergroups, conversations, messages, views, files), merges query, form and JSON
params like Slack does, checks Block Kit limits (blockkit.py), and can be told to fail a
method (an error, or 429 with ``Retry-After``) before doing it, or to do it and then answer
badly (``after``: a 500, a dropped connection, no answer at all), which is when a client
that retries blindly posts twice. It also serves response_urls, the file upload URLs of
``files_upload_v2`` and a Socket Mode websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.slack.fake_workspace import Workspace

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
_JSON_PARAMS = ("blocks", "view", "files", "metadata", "attachments")
RESPONSE_URL_USES = 5
WAIT_BOUND_SECONDS = 5.0  # how long wait_for polls before failing the test
AFTER_FAULTS = ("500", "drop", "hang")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str


@dataclass
class Failure:
    error: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. missing_scope's "needed"


class FakeSlack(Workspace):
    """One workspace (team ``T1``) and its Web API on 127.0.0.1."""

    def __init__(self, team_id: str = "T1") -> None:
        super().__init__(team_id)
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # what was posted to response_urls
        self._uses: Counter[str] = Counter()  # posts per response_url (a bench makes thousands)
        self.response_peers: list[tuple[str, int]] = []  # the client end of each post
        self._expired: set[str] = set()
        self.socket_acks: list[dict[str, Any]] = []
        self._failures: dict[str, list[Failure]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._after: dict[str, list[str]] = defaultdict(list)
        self._stopping = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def stop(self) -> None:
        self._stopping.set()  # slow calls still waiting answer now
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}response/{key}"

    # ---- test controls ---------------------------------------------------------------
    def fail(self, method: str, error: str = "ratelimited", *, status: int = 200,
             retry_after: int | None = None, times: int = 1, **extra: Any) -> None:
        """Make the next ``times`` calls of ``method`` fail."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._failures[method].extend(Failure(error, status, headers, extra) for _ in range(times))

    def after(self, method: str, fault: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, then answer badly: ``"500"``
        (an internal error status), ``"drop"`` (close the connection, no answer) or
        ``"hang"`` (no answer until the fake stops; the client times out)."""
        if fault not in AFTER_FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {AFTER_FAULTS}")
        self._after[method].extend([fault] * times)

    # The names bench/chaos.py looks for.
    def fail_after_posting(self, method: str, *, status: int = 500, times: int = 1) -> None:
        """Carry the call out, then answer ``status`` (a 5xx: Slack's ``internal_error``)."""
        if status != 500:
            raise ValueError("only a 500 after acting is supported")
        self.after(method, "500", times=times)

    def drop_after_posting(self, method: str, *, times: int = 1) -> None:
        """Carry the call out, then close the connection without an answer."""
        self.after(method, "drop", times=times)

    def after_faults_clear(self) -> None:
        """Answer well again (faults queued by ``after`` and not used yet are dropped)."""
        self._after.clear()

    def slow(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds`` (a slow or hung platform); 0 restores."""
        self._delays[method] = seconds

    def expire(self, key: str) -> None:
        """The response_url ``key`` has expired (Slack keeps them 30 minutes)."""
        self._expired.add(key)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, condition: Callable[[], Any]) -> Any:
        """Poll until ``condition()`` is truthy (work the app does after its ack)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_BOUND_SECONDS
        while True:
            result = condition()
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out waiting; calls so far: {[c.method for c in self.calls]}"
                )
            await asyncio.sleep(0.01)

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send a Socket Mode envelope to the connected app; returns its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    # ---- HTTP plumbing ---------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_PARAMS:
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else str(params.pop("token", ""))
        self.calls.append(Call(method, params, token))
        if self._delays.get(method):
            # The call is seen, its effect comes late (or when the fake stops).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delays[method])
        if self._failures[method]:
            failure = self._failures[method].pop(0)
            return web.json_response({"ok": False, "error": failure.error, **failure.extra},
                                     status=failure.status, headers=failure.headers)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        result = handler(params) if handler else {}
        if self._after[method]:  # done; now the answer goes wrong
            return await self._bad_answer(request, self._after[method].pop(0))
        if result.get("ok") is False:
            return web.json_response(result)
        return web.json_response({"ok": True, **result})

    async def _bad_answer(self, request: web.Request, fault: str) -> web.Response:
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()  # the client sees the server disconnect
        elif fault == "hang":
            await self._stopping.wait()
        return web.json_response({"ok": False, "error": "internal_error"}, status=500)

    async def _upload(self, request: web.Request) -> web.Response:
        self._uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    async def _response(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        # Like Slack: a response_url lives 30 minutes and takes at most 5 posts.
        if key in self._expired:
            return web.Response(status=404, text="expired_url")
        if self._uses[key] >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        self._uses[key] += 1
        self.responses.append({"key": key, **await request.json()})
        self.response_peers.append(request.transport.get_extra_info("peername")
                                   if request.transport else ("", 0))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
        return ws
