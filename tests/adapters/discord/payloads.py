"""Discord API objects as the fake server sends them (the shapes discord.py 2.7 parses)."""

from __future__ import annotations

import itertools
from typing import Any

NOW = "2026-03-02T09:00:00.000000+00:00"
_ids = itertools.count(1)


def snowflake() -> str:
    """A fresh id, big like Discord's, always a string."""
    return str(1_300_000_000_000_000_000 + next(_ids))


def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "global_name": name.capitalize(),
            "avatar": None, "bot": bot, "public_flags": 0}


def role(rid: str, name: str, permissions: int = 0, position: int = 1) -> dict[str, Any]:
    return {"id": rid, "name": name, "color": 0, "colors": {"primary_color": 0}, "hoist": False,
            "position": position, "permissions": str(permissions), "managed": False,
            "mentionable": False, "flags": 0, "icon": None, "unicode_emoji": None}


def member(u: dict[str, Any], roles: list[str], permissions: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"user": u, "roles": roles, "joined_at": NOW, "nick": None,
                            "deaf": False, "mute": False, "flags": 0, "pending": False,
                            "premium_since": None, "avatar": None}
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def channel(cid: str, name: str, guild_id: str, *, kind: int = 0, parent_id: str | None = None,
            overwrites: list[dict[str, Any]] | None = None, position: int = 0) -> dict[str, Any]:
    data = {"id": cid, "type": kind, "name": name, "guild_id": guild_id, "position": position,
            "permission_overwrites": overwrites or [], "parent_id": parent_id, "nsfw": False,
            "topic": None, "rate_limit_per_user": 0, "last_message_id": None, "flags": 0}
    if kind == 2:  # a voice channel: Discord sends these with it
        data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
    return data


def thread(tid: str, name: str, guild_id: str, parent_id: str, owner_id: str) -> dict[str, Any]:
    return {"id": tid, "type": 12, "name": name, "guild_id": guild_id, "parent_id": parent_id,
            "owner_id": owner_id, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
            "last_message_id": None, "flags": 0, "total_message_sent": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 10080,
                                "archive_timestamp": NOW, "locked": False, "invitable": False}}


def dm_channel(cid: str, recipient: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "type": 1, "recipients": [recipient], "last_message_id": None, "flags": 0}


def message(mid: str, channel_id: str, author: dict[str, Any], body: dict[str, Any],
            attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": mid, "channel_id": channel_id, "author": author,
            "content": body.get("content") or "", "timestamp": NOW, "edited_timestamp": None,
            "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "attachments": attachments,
            "embeds": body.get("embeds") or [],
            "pinned": False, "type": 0, "flags": int(body.get("flags") or 0),
            "components": body.get("components") or []}


def application(app_id: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {"id": app_id, "name": "PeerMatch", "icon": None, "description": "", "rpc_origins": [],
            "bot_public": True, "bot_require_code_grant": False, "owner": owner, "summary": "",
            "verify_key": "0" * 64, "flags": 0, "team": None}


def guild(gid: str, name: str, owner_id: str, roles: list[dict[str, Any]],
          channels: list[dict[str, Any]], members: list[dict[str, Any]],
          system_channel_id: str | None) -> dict[str, Any]:
    return {"id": gid, "name": name, "icon": None, "splash": None, "discovery_splash": None,
            "owner_id": owner_id, "afk_channel_id": None, "afk_timeout": 300,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "roles": roles, "emojis": [], "stickers": [],
            "features": [], "mfa_level": 0, "system_channel_id": system_channel_id,
            "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
            "description": None, "banner": None, "premium_tier": 0,
            "premium_subscription_count": 0, "preferred_locale": "en-US",
            "public_updates_channel_id": None, "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "large": False, "unavailable": False, "member_count": len(members), "members": members,
            "channels": channels, "threads": [], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "joined_at": NOW}
