"""The Slack Web API client the adapter uses, and what its errors mean to the outbox.

Rate limits: Slack answers 429 with ``Retry-After``. A short wait is retried in place by
``AsyncRateLimitErrorRetryHandler`` (honouring the header); a long one is not slept through
inside a listener or the dispatcher: it becomes ``DeliveryError(retry_after=...)`` and the
dispatcher reschedules the row for exactly then. Nothing is dropped either way.
"""

from __future__ import annotations

from typing import Any

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


def make_client(settings: SlackSettings, *, max_wait_seconds: float = 10.0) -> AsyncWebClient:
    """The bot's Web API client: settings' base URL (GovSlack, tests) and retry handlers."""
    return AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.api_base_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(),
                        BoundedRateLimitRetryHandler(max_wait_seconds=max_wait_seconds)],
    )


def delivery_error(exc: SlackApiError, doing: str) -> DeliveryError:
    """What a Slack API error means for an outbox row: wait, give up, or retry later."""
    response = exc.response
    error = str(response.get("error") or "unknown_error")
    status = getattr(response, "status_code", 200)
    if status == 429 or error == "ratelimited":
        wait = retry_after_seconds(getattr(response, "headers", None))
        return DeliveryError(f"{doing}: rate limited by Slack", retry_after=wait if wait is not None else 30.0)
    if error == "missing_scope":
        needed = response.get("needed") or "?"
        return DeliveryError(f"{doing}: the Slack app lacks the '{needed}' scope; add it in the app "
                             "settings (see adapters/slack/manifest.yml) and reinstall", permanent=True)
    if error in PERMANENT:
        return DeliveryError(f"{doing}: {error}", permanent=True)
    return DeliveryError(f"{doing}: {error}")
