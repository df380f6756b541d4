"""Configuration: defaults, then config.toml, then PEERMATCH_* environment variables.

Secrets (tokens, signing secret) come only from the environment or ``.env``; a secret found
in config.toml is an error. Any invalid value stops start-up with one line naming the key
(``ConfigError``; the CLI exits with code 2). Every key is declared once, with its bounds and
help, by ``setting(...)`` (core/settings_schema.py) and parsed by that declaration, the same
one ``/peeradmin config`` uses.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from core.settings import (
    COMMUNITY,
    DISPATCH,
    MATCHING,
    CommunitySettings,
    DispatchSettings,
    MatchingWeights,
)
from core.settings_schema import Schema, SettingError, detail, setting, show

SECRET_NAMES = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
PLATFORMS = ("console", "discord", "slack")


class ConfigError(Exception):
    """An invalid setting: ``key`` is the dotted name, the message says what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


def _database_url(url: str) -> str:
    if not url.startswith(_DATABASES):
        raise detail(f"must start with {' or '.join(_DATABASES)}, not {show(url)}")
    return url


def _http_url(url: str) -> str:
    if url and not url.startswith(("http://", "https://")):
        raise detail(f"must be an http:// or https:// URL, not {show(url)}")
    return url


def _ws_url(url: str) -> str:
    if url and not url.startswith(("ws://", "wss://")):
        raise detail(f"must be empty or a ws:// or wss:// URL, not {show(url)}")
    return url


def _url_path(path: str) -> str:
    if not path.startswith("/"):
        raise detail(f"must start with /, not {show(path)}")
    return path


_DATABASES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


# `peermatch demo`'s own SQLite file (started afresh each time); bot/cli.py looks there when
# the default database does not exist yet, and says so.
DEMO_DB = Path("var/demo.db")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = setting("sqlite+aiosqlite:///var/peermatch.db",
                       "SQLite file (embedded default; one bot process) or PostgreSQL (several "
                       "processes), e.g. postgresql+asyncpg://peermatch@127.0.0.1:5432/peermatch",
                       check=_database_url, accepts="a sqlite+aiosqlite:// or "
                       "postgresql+asyncpg:// URL")
    connect_timeout_seconds: float = setting(5.0, "PostgreSQL: how long opening a connection "
                                             "(or waiting for a free one) may take before "
                                             "the bot answers that the database is "
                                             "unavailable", lo=0.5, hi=300.0)
    statement_timeout_seconds: float = setting(10.0, "PostgreSQL: the longest one statement "
                                               "may run (0 = no limit)", lo=0.0, hi=3600.0)


@dataclass(frozen=True)
class DiscordConfig:
    api_base_url: str = setting("https://discord.com/api/v10", "REST base URL: change only "
                                "for a REST proxy (large bots) or tests", check=_http_url,
                                accepts="an http(s) URL")
    gateway_url: str = setting("", 'gateway URL; "" = ask Discord', check=_ws_url,
                               accepts="empty or a ws(s) URL")
    shard_count: int = setting(0, "0 = one shard; set a number for a fixed count", lo=0,
                               hi=10000)
    auto_shard: bool = setting(False, "true = let Discord pick the shard count (big bots)")
    guild_ids: tuple[str, ...] = setting((), "sync commands to these guilds at once (global "
                                         "sync takes up to an hour)")
    sync_commands: bool = setting(True, "register the app commands with Discord at start")


@dataclass(frozen=True)
class SlackConfig:
    mode: str = setting("socket", '"socket" (needs SLACK_APP_TOKEN) or "http" (needs '
                        "SLACK_SIGNING_SECRET)", choices=("socket", "http"))
    port: int = setting(3000, "HTTP mode: where Slack's requests arrive", lo=1, hi=65535)
    path: str = setting("/slack/events", "HTTP mode: the request path", check=_url_path,
                        accepts="a path starting with /")
    api_base_url: str = setting("https://slack.com/api/", 'GovSlack: "https://slack-gov.com/'
                                'api/"', check=_http_url, accepts="an http(s) URL")
    moderator_usergroups: tuple[str, ...] = setting((), "usergroup ids (S...) whose members "
                                                    "are moderators")


def _instance_id(value: str) -> str:
    if len(value) > 64:
        raise detail(f"must be at most 64 characters, not {len(value)}")
    return value


@dataclass(frozen=True)
class BotConfig:
    platforms: tuple[str, ...] = setting(("console",), "where the bot listens",
                                         choices=PLATFORMS, min_items=1)
    log_level: str = setting("INFO", "how much the bot logs",
                             choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    dispatch_interval_seconds: float = setting(5.0, "how often the outbox (DMs, private "
                                               "spaces, reminders) is checked for due messages",
                                               lo=0.1, hi=3600.0)
    shutdown_timeout_seconds: float = setting(10.0, "on SIGTERM/SIGINT: how long running "
                                              "deliveries may finish before the bot exits",
                                              lo=0.0, hi=600.0)
    instance_id: str = setting("", "names this process in its outbox claims, so a restart "
                               "takes back its own at once; empty = host name + database. "
                               "Give each process on one host and database its own",
                               check=_instance_id, accepts="at most 64 characters")
    event_loop: str = setting("uvloop", '`peermatch run`\'s event loop: "uvloop" (libuv; '
                              "about a tenth less CPU per Slack request than asyncio's own) or "
                              '"asyncio"', choices=("uvloop", "asyncio"))


@dataclass(frozen=True)
class Config:
    bot: BotConfig = field(default_factory=BotConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    community: CommunitySettings = field(default_factory=CommunitySettings)
    matching: MatchingWeights = field(default_factory=MatchingWeights)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def community_defaults(self) -> CommunitySettings:
        """Community defaults with the configured matching weights; members of the Slack
        moderator usergroups count as moderators (the core checks roles)."""
        roles = tuple(
            dict.fromkeys(self.community.moderator_roles + self.slack.moderator_usergroups)
        )
        return replace(self.community, weights=self.matching, moderator_roles=roles)


def instance_id(cfg: Config) -> str:
    """This process's name in outbox claims: ``[bot] instance_id``, else one derived from
    the host name and the database (stable across restarts; the URL is hashed, so no
    password ends up in the database)."""
    if cfg.bot.instance_id:
        return cfg.bot.instance_id
    database = hashlib.sha256(cfg.database.url.encode()).hexdigest()[:12]
    return f"{socket.gethostname()[:48]}:{database}"


SCHEMAS: dict[str, Schema] = {
    "bot": Schema(BotConfig, "bot"), "database": Schema(DatabaseConfig, "database"),
    "discord": Schema(DiscordConfig, "discord"), "slack": Schema(SlackConfig, "slack"),
    "community": COMMUNITY, "matching": MATCHING, "dispatch": DISPATCH,
}


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides ``[section] key``."""
    return f"PEERMATCH_{section.upper()}_{key.upper()}"


def _section(name: str, table: dict[str, Any], env: dict[str, str]) -> Any:
    """One section from its TOML table and the environment (which wins), each value parsed
    by its Spec; the error names the key where the value came from."""
    schema = SCHEMAS[name]
    for key in table:
        if key not in schema:
            raise ConfigError(f"{name}.{key}", "is not a known setting")
    values = {}
    for spec in schema:
        source, raw = ((env_name(name, spec.name), env[env_name(name, spec.name)])
                       if env_name(name, spec.name) in env
                       else (f"{name}.{spec.name}", table[spec.name]) if spec.name in table
                       else (None, None))
        if source is None:
            continue
        try:
            values[spec.name] = spec.parse(raw)
        except SettingError as exc:
            raise ConfigError(source, exc.message) from None
    return schema.cls(**values)


def _validate(cfg: Config) -> None:
    if problem := cfg.community.problem():
        raise ConfigError("community.group_min", problem)


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None,
                dotenv: bool = True) -> Config:
    """Load config.toml (optional) and the environment into a validated Config."""
    if dotenv:
        load_dotenv(override=False)  # .env fills the environment; real variables win
    environ = dict(os.environ if env is None else env)
    file = Path(path) if path else Path(environ.get("PEERMATCH_CONFIG", "config.toml"))
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(file), f"is not valid TOML ({exc})") from None
    elif path:
        raise ConfigError(str(file), "does not exist")
    for key in data:
        if key.upper() in SECRET_NAMES or "token" in key.lower():
            raise ConfigError(key, "secrets belong in the environment or .env, not config.toml")
    unknown = set(data) - set(SCHEMAS)
    if unknown:
        raise ConfigError(sorted(unknown)[0], "is not a known section")
    built = {}
    for name in SCHEMAS:
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(name, "must be a table")
        for key in table:
            if key.upper() in SECRET_NAMES or "token" in key.lower() or "secret" in key.lower():
                raise ConfigError(f"{name}.{key}", "secrets belong in the environment or .env")
        built[name] = _section(name, table, environ)
    cfg = Config(**built, secrets={k: environ[k] for k in SECRET_NAMES if environ.get(k)})
    _validate(cfg)
    return cfg
