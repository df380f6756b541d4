"""Configuration: defaults, then config.toml, then PEERMATCH_* environment variables.

Secrets (tokens, signing secret) come only from the environment or ``.env``; a secret found
in config.toml is an error. Any invalid value stops start-up with one line naming the key
(``ConfigError``; the CLI exits with code 2).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from core.availability import TimeZoneError, check_timezone
from core.cron import check_schedule
from core.model import Mode
from core.settings import CommunitySettings, DispatchSettings, MatchingWeights

SECRET_NAMES = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
PLATFORMS = ("console", "discord", "slack")


class ConfigError(Exception):
    """An invalid setting: ``key`` is the dotted name, the message says what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///var/peermatch.db"


@dataclass(frozen=True)
class DiscordConfig:
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = ""
    shard_count: int = 0  # 0 = one shard (or auto-sharding with auto_shard)
    auto_shard: bool = False
    guild_ids: tuple[str, ...] = ()
    sync_commands: bool = True


@dataclass(frozen=True)
class SlackConfig:
    mode: str = "socket"  # socket | http
    port: int = 3000
    path: str = "/slack/events"
    api_base_url: str = "https://slack.com/api/"
    moderator_usergroups: tuple[str, ...] = ()


@dataclass(frozen=True)
class BotConfig:
    platforms: tuple[str, ...] = ("console",)
    log_level: str = "INFO"
    dispatch_interval_seconds: float = 5.0
    shutdown_timeout_seconds: float = 10.0  # SIGTERM/SIGINT: how long in-flight work may finish


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
        roles = tuple(dict.fromkeys(self.community.moderator_roles + self.slack.moderator_usergroups))
        return replace(self.community, weights=self.matching, moderator_roles=roles)


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Convert a TOML or environment value to the type of the default, or raise."""
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(key, f"must be true or false, not {value!r}")
    if isinstance(default, int):
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"must be a whole number, not {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"must be a number, not {value!r}") from None
    if isinstance(default, tuple):
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ConfigError(key, f"must be a list, not {value!r}")
        sample = default[0] if default else ""
        return tuple(_coerce(key, v, sample) if not isinstance(sample, Mode) else _mode(key, v)
                     for v in items)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a table")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str | int | float):
        raise ConfigError(key, f"must be text, not {value!r}")
    return str(value)


def _mode(key: str, value: Any) -> Mode:
    try:
        return Mode(str(value))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a mode ({', '.join(m.value for m in Mode)})") from None


def _section(name: str, cls_default: Any, table: dict[str, Any], env: dict[str, str]) -> Any:
    known = {f.name: f for f in fields(cls_default)}
    for key in table:
        if key not in known or is_dataclass(getattr(cls_default, key)):
            raise ConfigError(f"{name}.{key}", "is not a known setting")
    values = {}
    for fname in known:
        default = getattr(cls_default, fname)
        if is_dataclass(default):
            continue
        env_name = f"PEERMATCH_{name.upper()}_{fname.upper()}"
        if env_name in env:
            values[fname] = _coerce(env_name, env[env_name], default)
        elif fname in table:
            values[fname] = _coerce(f"{name}.{fname}", table[fname], default)
    return replace(cls_default, **values)


def _validate(cfg: Config) -> None:
    c = cfg.community
    if not 2 <= c.group_min <= c.group_default <= c.group_max:
        raise ConfigError("community.group_min", "need 2 ≤ group_min ≤ group_default ≤ group_max")
    if c.min_overlap_hours < 0 or c.session_minutes < 15:
        raise ConfigError("community.session_minutes", "must be at least 15 (and min_overlap_hours ≥ 0)")
    if problem := check_schedule(c.schedule):
        raise ConfigError("community.schedule", problem)
    try:
        check_timezone(c.timezone)
    except TimeZoneError as exc:
        raise ConfigError("community.timezone", str(exc)) from None
    if c.space_mode not in ("auto", "channel", "thread", "group_dm"):
        raise ConfigError("community.space_mode", "must be auto, channel, thread or group_dm")
    if c.space_on_end not in ("archive", "delete"):
        raise ConfigError("community.space_on_end", "must be archive or delete")
    for p in cfg.bot.platforms:
        if p not in PLATFORMS:
            raise ConfigError("bot.platforms", f"{p!r} is not one of {', '.join(PLATFORMS)}")
    if cfg.slack.mode not in ("socket", "http"):
        raise ConfigError("slack.mode", "must be socket or http")
    url = cfg.database.url
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError("database.url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")


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
    sections = {"bot": BotConfig(), "database": DatabaseConfig(), "discord": DiscordConfig(),
                "slack": SlackConfig(), "community": CommunitySettings(),
                "matching": MatchingWeights(), "dispatch": DispatchSettings()}
    unknown = set(data) - set(sections)
    if unknown:
        raise ConfigError(sorted(unknown)[0], "is not a known section")
    built = {}
    for name, default in sections.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(name, "must be a table")
        for key in table:
            if key.upper() in SECRET_NAMES or "token" in key.lower() or "secret" in key.lower():
                raise ConfigError(f"{name}.{key}", "secrets belong in the environment or .env")
        built[name] = _section(name, default, table, environ)
    cfg = Config(**built, secrets={k: environ[k] for k in SECRET_NAMES if environ.get(k)})
    _validate(cfg)
    return cfg
