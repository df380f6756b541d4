"""The Slack Web API client the adapter uses, and what its errors mean to the outbox.

Rate limits: Slack answers 429 with ``Retry-After``. A short wait is retried in place by
``AsyncRateLimitErrorRetryHandler`` (honouring the header); a long one is not slept through
inside a listener or the dispatcher: it becomes ``DeliveryError(retry_after=...)`` and the
dispatcher reschedules the row for exactly then. Nothing is dropped either way (a 429 means
Slack did not carry the call out, so retrying it is always safe).

Dropped connections: slack_sdk's ``AsyncConnectionErrorRetryHandler`` re-sends a request
whose connection broke, which for ``chat.postMessage`` means a second copy when the first
was posted before the connection dropped (Slack does not deduplicate). So it only retries
methods that are safe to repeat (reads, and calls idempotent by their arguments); a
non-idempotent call's broken connection, a timeout or a 5xx becomes
``DeliveryError(unclear=True)``, and the deliverer asks Slack (``conversations.history``)
before posting again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from core.ports import DeliveryError

# Errors retrying cannot fix: the dispatcher gives up at once (and says why in last_error).
PERMANENT = frozenset({
    "user_not_found", "users_not_found", "cannot_dm_bot", "user_disabled", "account_inactive",
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission",
    "channel_not_found", "is_archived", "not_in_channel", "restricted_action",
    "invalid_blocks", "invalid_arguments", "msg_too_long", "too_many_users", "not_enough_users",
    "user_not_visible", "invalid_user_combination", "method_not_supported_for_channel_type",
    "ekm_access_denied", "team_access_not_granted", "org_login_required", "not_allowed_token_type",
})


# Calls that create something anew each time they are made: never re-sent blindly.
NOT_IDEMPOTENT = frozenset({
    "chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage",
    "files.completeUploadExternal", "files.upload",
})
# Answers that do not say whether the call was carried out (Slack's own words for a 5xx).
UNCLEAR = frozenset({"internal_error", "fatal_error", "request_timeout", "service_unavailable"})
# What an operator or moderator does about a permanent error (the rest are self-explanatory).
FIX = {
    "channel_not_found": "the conversation is gone or the app cannot see it (a private "
                         "channel the app is not in)",
    "not_in_channel": "invite the PeerMatch app to the channel (/invite @PeerMatch)",
    "is_archived": "the channel is archived: unarchive it or end the match",
    "invalid_auth": "the bot token is wrong: set SLACK_BOT_TOKEN to the app's xoxb- token",
    "not_authed": "no bot token was sent: set SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled or its bot deactivated: reinstall the app "
                        "and set the new SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked: reinstall the app and set the new "
                     "SLACK_BOT_TOKEN",
    "token_expired": "the bot token expired (token rotation is on): turn rotation off or "
                     "refresh the token",
}


def slack_method(url: str) -> str:
    """The Web API method a request URL calls (``.../api/chat.postMessage`` -> its name)."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class SafeConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry after a broken connection, for calls that are safe to repeat only."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        if slack_method(request.url) in NOT_IDEMPOTENT:
            return False
        return await super()._can_retry_async(state=state, request=request,
                                              response=response, error=error)


def retry_after_seconds(headers: Any) -> float | None:
    """The ``Retry-After`` header (seconds) of a response, if any."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


class BoundedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Slack's rate-limit retry, but only for waits short enough to sleep through."""

    def __init__(self, max_retry_count: int = 2, max_wait_seconds: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    # slack_sdk calls this override with these keyword arguments; only `response` matters here.
    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,  # noqa: ARG002
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:  # noqa: ARG002
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        return wait is None or wait <= self.max_wait_seconds


def make_client(settings: SlackSettings, *, max_wait_seconds: float = 10.0,
                timeout: int = 30) -> AsyncWebClient:
    """The bot's Web API client: settings' base URL (GovSlack, tests), a request timeout
    (seconds) and retry handlers that never repeat a non-idempotent call."""
    return AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.api_base_url,
        timeout=timeout,
        retry_handlers=[SafeConnectionErrorRetryHandler(),
                        BoundedRateLimitRetryHandler(max_wait_seconds=max_wait_seconds)],
    )


def transport_error(exc: BaseException, doing: str) -> DeliveryError | None:
    """A broken connection or a timeout as the outbox's error: the call may have been carried
    out (the answer was lost), so the next attempt reconciles. None for anything else."""
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
        name = type(exc).__name__
        return DeliveryError(f"{doing}: no answer from Slack ({name}); it may have been done",
                             unclear=True)
    return None


def delivery_error(exc: SlackApiError, doing: str) -> DeliveryError:
    """What a Slack API error means for an outbox row: wait, give up, or retry later."""
    response = exc.response
    error = str(response.get("error") or "unknown_error")
    status = getattr(response, "status_code", 200)
    if status == 429 or error == "ratelimited":
        wait = retry_after_seconds(getattr(response, "headers", None))
        return DeliveryError(
            f"{doing}: rate limited by Slack", retry_after=wait if wait is not None else 30.0
        )
    if error == "missing_scope":
        needed = response.get("needed") or "?"
        return DeliveryError(
            f"{doing}: the Slack app lacks the '{needed}' scope; add it in the app "
            "settings (see adapters/slack/manifest.yml) and reinstall",
            permanent=True,
        )
    if error in PERMANENT:
        fix = FIX.get(error)
        return DeliveryError(f"{doing}: {error}" + (f" ({fix})" if fix else ""), permanent=True)
    if status >= 500 or error in UNCLEAR:
        return DeliveryError(f"{doing}: Slack answered {status} {error}; it may have been done",
                             unclear=True)
    return DeliveryError(f"{doing}: {error}")
