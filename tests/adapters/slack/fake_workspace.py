"""The state and Web API methods of the fake Slack workspace (see fake_slack.py).

Each ``m_<method>`` answers one Web API method (dots become underscores) with Slack's
response shape and error codes; ``FakeSlack`` serves them over HTTP.

Unforgiving where Slack is: ``chat.postMessage`` never deduplicates (the same text and
metadata posted twice are two messages); message ``metadata`` is kept and shown by
``conversations.history`` only with ``include_all_metadata``; reading a conversation's
history needs its ``*:history`` scope, and the fake holds exactly the scopes of the app
manifest (adapters/slack/manifest.yml), so a scope missing there fails here too.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import adapters.slack
from tests.adapters.slack.blockkit import block_problems, view_problems

MANIFEST = Path(adapters.slack.__file__).parent / "manifest.yml"
HISTORY_MAX = 999  # Slack's largest conversations.history page


def manifest_scopes() -> set[str]:
    """The bot scopes the app manifest asks for (what an installed app holds)."""
    block = MANIFEST.read_text().split("bot:", 1)[1].split("settings:", 1)[0]
    return set(re.findall(r"^\s+- ([a-z:._]+)", block, re.M))


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


class Workspace:
    """Team ``T1``: its users, usergroups, conversations, messages, views and files."""

    def __init__(self, team_id: str = "T1") -> None:
        self.team_id = team_id
        self.bot_user = "UBOT"
        self.url = ""
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.opened_views: list[dict[str, Any]] = []
        self.homes: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.problems: list[str] = []  # Block Kit problems seen (tests assert it stays empty)
        self.expired_triggers: set[str] = set()
        self._uploads: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._names: dict[str, str] = {}  # file id -> file name (from the upload URL call)
        self.scopes = manifest_scopes()

    def add_user(self, user_id: str, name: str, *, tz: str = "Europe/London",
                 admin: bool = False, owner: bool = False) -> None:
        self.users[user_id] = {
            "id": user_id, "team_id": self.team_id, "name": name.lower(), "real_name": name,
            "tz": tz, "is_admin": admin, "is_owner": owner, "is_bot": False,
            "profile": {"display_name": name, "real_name": name}}

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel]

    def _error(self, error: str, **extra: Any) -> dict[str, Any]:
        return {"ok": False, "error": error, **extra}

    def _check(self, problems: list[str], error: str) -> dict[str, Any] | None:
        if problems:
            self.problems.extend(problems)
            return self._error(error, errors=problems)
        return None

    # ---- methods ---------------------------------------------------------------------
    def m_auth_test(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://test.slack.com/", "team": "Test", "team_id": self.team_id,
                "user": "peermatch", "user_id": self.bot_user, "bot_id": "BBOT"}

    def m_apps_connections_open(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://") + "socket"}

    def m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user")))
        return {"user": user} if user else self._error("user_not_found")

    def m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup"))
        return (
            {"users": self.usergroups[group]}
            if group in self.usergroups
            else self._error("no_such_subteam")
        )

    def _new_channel(self, prefix: str, **attrs: Any) -> dict[str, Any]:
        channel = {"id": f"{prefix}{next(self._ids):04d}", "is_archived": False, "is_im": False,
                   "is_mpim": False, "is_private": True, "name": "", **attrs}
        self.channels[channel["id"]] = channel
        return channel

    def m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            channel = self.channels.get(str(p["channel"]))
            return {"channel": channel} if channel else self._error("channel_not_found")
        users = [u for u in str(p.get("users", "")).split(",") if u]
        if not users:
            return self._error("users_list_not_supplied")
        if len(users) > 8:
            return self._error("too_many_users")
        if any(u not in self.users for u in users):
            return self._error("user_not_found")
        members = sorted({*users, self.bot_user})
        for channel in self.channels.values():
            if (channel["is_im"] or channel["is_mpim"]) and channel["members"] == members:
                return {"channel": channel}
        if len(users) == 1:
            return {"channel": self._new_channel("D", is_im=True, members=members, user=users[0])}
        return {"channel": self._new_channel("G", is_mpim=True, members=members)}

    def m_conversations_create(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name", ""))
        if not name or len(name) > 80:
            return self._error("invalid_name_maxlength")
        if name != name.lower() or any(not (c.isalnum() or c in "-_") for c in name):
            return self._error("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            return self._error("name_taken")
        private = str(p.get("is_private", "")).lower() in ("true", "1")
        return {
            "channel": self._new_channel(
                "C", name=name, is_private=private, members=[self.bot_user]
            )
        }

    def m_conversations_invite(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(p.get("channel")))
        if channel is None:
            return self._error("channel_not_found")
        for user in str(p.get("users", "")).split(","):
            if user and user not in channel["members"]:
                channel["members"].append(user)
        return {"channel": channel}

    def m_conversations_list(self, _p: dict[str, Any]) -> dict[str, Any]:
        found = [c for c in self.channels.values() if not c["is_im"] and not c["is_mpim"]
                 and self.bot_user in c["members"] and not c["is_archived"]]
        return {"channels": found, "response_metadata": {"next_cursor": ""}}

    def m_conversations_archive(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(p.get("channel")))
        if channel is None:
            return self._error("channel_not_found")
        if channel["is_mpim"] or channel["is_im"]:
            return self._error("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            return self._error("already_archived")
        channel["is_archived"] = True
        return {}

    def _post(self, p: dict[str, Any], ephemeral: bool) -> dict[str, Any]:
        target = str(p.get("channel", ""))
        if target in self.users:  # a user id: the app's DM with them
            opened = self.m_conversations_open({"users": target})
            target = opened["channel"]["id"]
        channel = self.channels.get(target)
        if channel is None:
            return self._error("channel_not_found")
        if channel["is_archived"]:
            return self._error("is_archived")
        bad = self._check(block_problems(p.get("blocks") or [], "message"), "invalid_blocks")
        if bad:
            return bad
        meta = p.get("metadata")
        if meta is not None and not (isinstance(meta, dict) and isinstance(
                meta.get("event_type"), str) and isinstance(meta.get("event_payload"), dict)):
            return self._error("invalid_metadata_format")
        message = {"channel": target, "text": p.get("text", ""), "blocks": p.get("blocks") or [],
                   "ts": self._new_ts(), "user": p.get("user") or self.bot_user,
                   "ephemeral": ephemeral}
        if meta is not None and not ephemeral:
            message["metadata"] = meta
        self.messages.append(message)
        return {"channel": target, "ts": message["ts"], "message": message}

    def _new_ts(self) -> str:
        return f"1700000000.{next(self._ids):06d}"

    def m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(p.get("channel", "")))
        if channel is None or self.bot_user not in channel.get("members", []):
            return self._error("channel_not_found")
        needed = ("im:history" if channel["is_im"] else "mpim:history" if channel["is_mpim"]
                  else "groups:history" if channel["is_private"] else "channels:history")
        if needed not in self.scopes:
            return self._error("missing_scope", needed=needed,
                               provided=",".join(sorted(self.scopes)))
        shown = [dict(m) for m in self.messages
                 if m["channel"] == channel["id"] and not m["ephemeral"]]
        shown += [{"ts": f["ts"], "user": self.bot_user, "text": "", "upload": True,
                   "files": [{"id": f["id"], "name": f["name"], "title": f["title"]}]}
                  for f in self.files if f["channel"] == channel["id"]]
        shown.sort(key=lambda m: float(m["ts"]), reverse=True)  # newest first, like Slack
        if not _flag(p.get("include_all_metadata")):
            for m in shown:
                m.pop("metadata", None)
        limit = min(int(p.get("limit") or 100), HISTORY_MAX)
        start = int(p.get("cursor") or 0)
        page = shown[start:start + limit]
        more = start + limit < len(shown)
        return {"messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._post(p, ephemeral=False)

    def m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._post(p, ephemeral=True)

    def m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        trigger = str(p.get("trigger_id", ""))
        if not trigger or trigger in self.expired_triggers:
            return self._error("expired_trigger_id")
        view = p.get("view") or {}
        bad = self._check(view_problems(view), "invalid_arguments")
        if bad:
            return bad
        stored = {**view, "id": f"V{next(self._ids):04d}"}
        self.opened_views.append({"trigger_id": trigger, "view": stored})
        return {"view": stored}

    def m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view") or {}
        bad = self._check(view_problems(view), "invalid_arguments")
        if bad:
            return bad
        self.homes[str(p.get("user_id"))] = view
        return {"view": view}

    def m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):04d}"
        self._names[file_id] = str(p.get("filename", ""))
        return {"file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}

    def m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in p.get("files") or []:
            record = {"id": item["id"], "title": item.get("title"), "channel": p.get("channel_id"),
                      "content": self._uploads.get(item["id"], b""),
                      "initial_comment": p.get("initial_comment"),
                      "name": self._names.get(item["id"], item.get("title")),
                      "ts": self._new_ts()}
            self.files.append(record)
            done.append({"id": item["id"], "title": item.get("title")})
        return {"files": done}
