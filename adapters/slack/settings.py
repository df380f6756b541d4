"""How the Slack adapter connects: tokens, Socket Mode or HTTP, the Web API base URL.

bot/config.py maps the ``[slack]`` section of config.toml and the environment
(``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``, ``SLACK_SIGNING_SECRET``) into ``SlackSettings``.
Secrets are kept out of ``repr`` so a settings object can be logged safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("socket", "http")


@dataclass(frozen=True)
class SlackSettings:
    """Connection settings of one Slack workspace installation.

    ``mode``: ``socket`` (needs ``app_token``, no public URL) or ``http`` (needs
    ``signing_secret``; Slack posts to ``http://<host>:<port><path>``).
    ``api_base_url``: the Web API root (GovSlack uses ``https://slack-gov.com/api/``; tests
    point it at a local fake). ``moderator_usergroups``: usergroup ids whose members are
    reported to the core as having those roles (the core decides who moderates).
    """

    bot_token: str = field(repr=False)
    app_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    mode: str = "socket"
    port: int = 3000
    path: str = "/slack/events"
    api_base_url: str = "https://slack.com/api/"
    moderator_usergroups: tuple[str, ...] = ()
    host: str = "0.0.0.0"  # noqa: S104 - HTTP mode listens behind the operator's proxy

    def __post_init__(self) -> None:
        # Fail at start, naming the setting, rather than on the first request.
        if not self.bot_token:
            raise ValueError("slack.bot_token (SLACK_BOT_TOKEN) is required.")
        if self.mode not in MODES:
            raise ValueError(f"slack.mode must be one of {', '.join(MODES)}, not '{self.mode}'.")
        if self.mode == "socket" and not self.app_token:
            raise ValueError(
                "slack.app_token (SLACK_APP_TOKEN, xapp-...) is required in socket mode."
            )
        if self.mode == "http" and not self.signing_secret:
            raise ValueError(
                "slack.signing_secret (SLACK_SIGNING_SECRET) is required in http mode."
            )
        if not self.path.startswith("/"):
            raise ValueError(f"slack.path must start with '/', not '{self.path}'.")
        if not self.api_base_url.endswith("/"):
            # slack_sdk joins method names onto the base URL: a missing slash breaks every call.
            object.__setattr__(self, "api_base_url", self.api_base_url + "/")
