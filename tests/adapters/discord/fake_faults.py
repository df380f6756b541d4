"""Faults and deduplication of the fake Discord (fake_discord.py), as Discord has them.

``fail()`` answers matching calls with an error before doing anything (429 with Retry-
After, 403 50013, 400 30013...); ``hold()`` keeps matching calls waiting, not carried out,
until ``release()`` (a slow Discord, a process killed meanwhile); ``after()`` carries a
call out and then answers badly (a 500, a dropped connection, no answer at all), which is
when a client that retries blindly sends twice. Deduplication is exactly Discord's: a
message ``nonce`` sent with ``enforce_nonce`` is answered with the message it already made,
within ``nonce_window`` seconds ("a few minutes"), and nothing else is ever deduplicated."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.adapters.discord.fake_discord import Call

NONCE_WINDOW_SECONDS = 180.0  # "a few minutes" (Discord does not say exactly)
AFTER_FAULTS = ("500", "drop", "hang")


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


class Faults:
    """The fault controls and nonce memory FakeDiscord is built on."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.after_faults: list[Fault] = []
        self.holds: list[Fault] = []
        self.held: list[Call] = []  # calls waiting in a hold now
        self._released = asyncio.Event()
        self.nonce_window = NONCE_WINDOW_SECONDS
        self._nonces: dict[str, tuple[float, dict[str, Any]]] = {}
        self._stopping = asyncio.Event()

    def fail(self, method: str, pattern: str, status: int, body: dict[str, Any],
             headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` matching calls with this error."""
        self.faults.append(Fault(method, pattern, status, body, headers or {}, times))

    def hold(self, method: str, pattern: str, times: int = 1) -> None:
        """Keep the next ``times`` matching calls waiting before doing anything."""
        self._released.clear()
        self.holds.append(Fault(method, pattern, 0, {}, {}, times))

    def release(self) -> None:
        """Let held calls go on (a client that gave up on them meanwhile gets nothing)."""
        self.holds.clear()
        self._released.set()

    async def _wait_if_held(self, call: Call) -> None:
        if self._fault(call, self.holds) is None:
            return
        self.held.append(call)
        try:
            stop = asyncio.ensure_future(self._stopping.wait())
            go = asyncio.ensure_future(self._released.wait())
            await asyncio.wait([stop, go], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            go.cancel()
        finally:
            self.held.remove(call)

    def after(self, method: str, pattern: str, fault: str, times: int = 1) -> None:
        """Carry out the next ``times`` matching calls, then answer badly: ``"500"``,
        ``"drop"`` (close the connection, no answer) or ``"hang"`` (never answer)."""
        if fault not in AFTER_FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {AFTER_FAULTS}")
        self.after_faults.append(Fault(method, pattern, 0, {"fault": fault}, {}, times))

    def nonce_seen(self, nonce: str) -> dict[str, Any] | None:
        """The bot's message created with ``nonce`` within the window, if any."""
        seen = self._nonces.get(nonce)
        if seen is None or time.monotonic() - seen[0] > self.nonce_window:
            return None
        return seen[1]

    def remember_nonce(self, nonce: str, message: dict[str, Any]) -> None:
        self._nonces[nonce] = (time.monotonic(), message)

    def expire_nonces(self) -> None:
        """As if Discord's dedupe window had passed for every nonce seen so far."""
        self._nonces.clear()

    async def _bad_answer(self, request: web.Request, call: Call, fault: str) -> web.Response:
        call.status = 500
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()  # the client sees the server disconnect
        elif fault == "hang":
            await self._stopping.wait()
        return web.Response(status=500, body=b'{"message": "500: Internal Server Error"}',
                            headers={"Content-Type": "application/json"})

    def _fault(self, call: Call,
               faults: list[Fault] | None = None) -> tuple[int, Any, dict[str, str]] | None:
        for fault in self.faults if faults is None else faults:
            if (
                fault.times > 0
                and fault.method == call.method
                and re.fullmatch(fault.pattern, call.path)
            ):
                fault.times -= 1
                return fault.status, fault.body, fault.headers
        return None
