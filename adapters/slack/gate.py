"""The door of Slack's HTTP mode: nothing reaches the Bolt app before it is proven to be
Slack's, small enough and well formed.

Bolt's own server parses the body before checking the signature (junk JSON became a 500
with a traceback), calls ``int()`` on the timestamp header unguarded, and logs the whole
body of every rejected request. ``SlackGate.handle`` answers in this order, reading
nothing it does not need:

1. a declared ``Content-Length`` over the limit: 413 at once, the body unread;
2. the body, read in chunks up to the limit (more: 413; a broken or slow upload: 400/408);
3. the signature (slack_sdk ``SignatureVerifier``: HMAC-SHA256, constant-time compare,
   5-minute window) on the raw bytes; no, malformed or non-numeric timestamp, bad
   signature, non-UTF-8 body: 401;
4. only then the body is parsed (Bolt's own parser, so both read it the same way) and its
   shape checked (shape.py): malformed or a type we do not handle: 400;
5. ``app.async_dispatch``; Bolt's "unhandled" 404 is reported as 400.

Rejections are counted (``tally``) and logged without the request: one line per reason at
most every ``SUMMARY_SECONDS``. ``quiet_libraries`` keeps Bolt's, slack_sdk's and aiohttp's
log records free of bodies, tracebacks and tokens.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock, SignatureVerifier

from adapters.slack import shape

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024
READ_TIMEOUT_SECONDS = 10.0
SUMMARY_SECONDS = 60.0
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class _Now(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def _answer(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


def _bolt_request(body: str, request: web.Request) -> AsyncBoltRequest:
    """The request as Bolt reads it, except one Bolt quirk: it takes any form body that
    merely contains the word "payload" (``/peer join ... payload``) for an interaction and
    reads it as empty; such a body is read as the plain form it is."""
    bolt_request = AsyncBoltRequest(body=body, query=request.query_string,
                                    headers=dict(request.headers))
    if not bolt_request.body and "payload" in body and not body.lstrip().startswith("{"):
        form = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in form:
            bolt_request.body = form
            bolt_request.context = build_async_context(AsyncBoltContext(), form)
    return bolt_request


class SlackGate:
    """The aiohttp handler in front of ``app.async_dispatch``."""

    def __init__(self, app: AsyncApp, signing_secret: str, *,
                 max_body_bytes: int = MAX_BODY_BYTES,
                 read_timeout: float = READ_TIMEOUT_SECONDS,
                 now: Callable[[], float] = time.time) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.verifier = SignatureVerifier(signing_secret, clock=_Now(now))
        self.tally: Counter[str] = Counter()  # outcome -> count, for operators and benches
        self._since_summary: Counter[str] = Counter()
        self._last_summary = -SUMMARY_SECONDS

    async def handle(self, request: web.Request) -> web.StreamResponse:
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            return self._refuse("too-large", _answer(413, "request too large"), close=True)
        try:
            raw = await asyncio.wait_for(self._read(request), self.read_timeout)
        except TimeoutError:
            return await self._hang_up(request, self._refuse(
                "slow", _answer(408, "request timeout"), close=True))
        except Exception:  # a broken chunked encoding, a dropped connection
            return await self._hang_up(request, self._refuse(
                "unreadable", _answer(400, "unreadable request"), close=True))
        if raw is None:
            return self._refuse("too-large", _answer(413, "request too large"), close=True)
        body = self._verified(raw, request)
        if body is None:
            return self._refuse("unsigned", _answer(401, "invalid request"))
        bolt_request: AsyncBoltRequest | None = None
        try:
            bolt_request = _bolt_request(body, request)
            found = shape.problem(bolt_request.body)
        except Exception:  # bad JSON, bad form encoding, fields Bolt cannot read
            found = "unparsable"
        if found is not None or bolt_request is None:
            return self._refuse("malformed", _answer(400, "malformed payload"),
                                detail=found or "unparsable")
        return await self._dispatch(bolt_request)

    @staticmethod
    async def _hang_up(request: web.Request, response: web.Response) -> web.Response:
        """Send the answer and close at once: waiting for the rest of a body that is slow
        or broken (aiohttp's lingering close) would only hold the connection open."""
        await response.prepare(request)
        await response.write_eof()
        request.protocol.force_close()
        return response

    async def _read(self, request: web.Request) -> bytes | None:
        """The body, or None as soon as it grows past the limit."""
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _verified(self, raw: bytes, request: web.Request) -> str | None:
        """The body as text when Slack signed it within the window, else None."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "").strip()
        signature = request.headers.get("X-Slack-Signature", "").strip()
        # Checked before the verifier sees them: it calls int() on the timestamp, and
        # hmac.compare_digest refuses non-ASCII text.
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return None
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None  # Slack sends UTF-8; anything else was not signed by Slack
        return body if self.verifier.is_valid(body, timestamp, signature) else None

    async def _dispatch(self, bolt_request: AsyncBoltRequest) -> web.StreamResponse:
        try:
            response = await self.app.async_dispatch(bolt_request)
        except Exception as exc:  # Bolt answers listener errors itself; this is a last resort
            self.tally["failed"] += 1
            log.error("Slack request failed in dispatch (%s)", type(exc).__name__)
            return _answer(500, "internal error")
        if response.status == 404:  # nothing of ours handles it (Bolt's "unhandled request")
            return self._refuse("unhandled", _answer(400, "unhandled payload"))
        self.tally["accepted"] += 1
        headers = response.first_headers_without_set_cookie()
        content_type = headers.pop("content-type", None) or (
            "application/json" if response.body.startswith("{") else "text/plain")
        return web.Response(status=response.status, body=response.body.encode(),
                            headers=headers, content_type=content_type.split(";")[0])

    def _refuse(self, reason: str, response: web.Response, *, close: bool = False,
                detail: str = "") -> web.Response:
        self.tally[reason] += 1
        self._since_summary[reason] += 1
        log.debug("Slack request refused: %s %s", reason, detail)
        now = time.monotonic()
        if now - self._last_summary >= SUMMARY_SECONDS:
            counts = ", ".join(f"{n} {r}" for r, n in sorted(self._since_summary.items()))
            log.warning("Slack HTTP: refused requests since the last report: %s", counts)
            self._since_summary.clear()
            self._last_summary = now
        if close:  # the rest of an oversized or broken body is not worth reading
            response.force_close()
        return response


# ---- log hygiene -----------------------------------------------------------------------
_SECRETS = re.compile(r"(xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|v0=[0-9a-f]{16,})")
_MESSAGE_LIMIT = 300
_BODY_MARKERS = ("body", "Unhandled request", "Invalid request signature", "payload")


class QuietRecords(logging.Filter):
    """Rewrites a library's log record: tokens and signatures masked, no traceback (the
    exception's type and innermost place instead), no request body, bounded length."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string must not break logging
            message = str(record.msg)
        if any(marker in message for marker in _BODY_MARKERS):
            message = message.split("(", 1)[0].split(":", 1)[0].strip() + " (details withheld)"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else ""
            message = f"{message} [{type(exc).__name__}{where}]"
        record.msg = _SECRETS.sub("[redacted]", message)[:_MESSAGE_LIMIT]
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


QUIET = QuietRecords()
GATE = web.AppKey("gate", SlackGate)
LIBRARY_LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.client",
                   "slack_bolt", "slack_sdk", "slack_sdk.web.async_base_client",
                   "slack_sdk.web.base_client", "slack_sdk.socket_mode.aiohttp",
                   "slack_sdk.socket_mode.async_client", "slack_sdk.webhook.async_client")


def quiet_libraries(*extra: logging.Logger) -> None:
    """Put ``QUIET`` on the library loggers that see requests (idempotent). Logger filters
    do not apply to child loggers, so each logger that logs is named."""
    for logger in (*(logging.getLogger(n) for n in LIBRARY_LOGGERS), *extra):
        if QUIET not in logger.filters:
            logger.addFilter(QUIET)


def bolt_logger() -> logging.Logger:
    """The logger to give ``AsyncApp(logger=...)``: Bolt copies its filters onto every
    logger it makes for the app, its middleware and its listeners."""
    logger = logging.getLogger("adapters.slack.bolt")
    quiet_libraries(logger)
    return logger


def web_app(app: AsyncApp, signing_secret: str, path: str, **gate_options: Any) -> web.Application:
    """An aiohttp application serving ``path`` through a ``SlackGate``."""
    quiet_libraries()
    gate = SlackGate(app, signing_secret, **gate_options)
    served = web.Application(client_max_size=MAX_BODY_BYTES)
    served[GATE] = gate
    served.router.add_post(path, gate.handle)
    return served
