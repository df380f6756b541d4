"""The REST endpoints of the fake Discord: ``(method, path regex, handler)``.

Each handler takes the FakeDiscord, the recorded call and the path groups, and returns
(status, JSON body or None). Only what PeerMatch (through discord.py) calls is here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.adapters.discord import payloads as p

if TYPE_CHECKING:
    from tests.adapters.discord.fake_discord import Call, FakeDiscord

Answer = tuple[int, Any]


def me(f: FakeDiscord, _call: Call) -> Answer:
    return 200, f.bot


def application(f: FakeDiscord, _call: Call) -> Answer:
    return 200, p.application(f.app_id, f.owner)


def gateway_bot(f: FakeDiscord, _call: Call) -> Answer:
    return 200, {"url": f.gateway_url, "shards": 1,
                 "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0,
                                         "max_concurrency": 1}}


def sync(f: FakeDiscord, call: Call, app_id: str, guild_id: str | None = None) -> Answer:
    stored = [{**c, "id": p.snowflake(), "application_id": app_id, "version": "1",
               **({"guild_id": guild_id} if guild_id else {})} for c in call.json]
    f.commands[guild_id or "global"] = stored
    return 200, stored


UNKNOWN_INTERACTION = 404, {"code": 10062, "message": "Unknown interaction"}
INVALID_TOKEN = 401, {"code": 50027, "message": "Invalid Webhook Token"}


def callback(f: FakeDiscord, call: Call, interaction_id: str, token: str) -> Answer:
    if token in f.expired_tokens:
        return UNKNOWN_INTERACTION
    kind, data = call.json["type"], call.json.get("data") or {}
    channel = f.tokens.get(token, "")
    as_message = kind in (4, 5)
    sent = f.record("callback", channel, data, call.files, token, kind, as_message)
    body: dict[str, Any] = {
        "interaction": {
            "id": interaction_id,
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
        },
        "resource": {"type": kind},
    }
    if sent.message is not None:
        body["interaction"]["response_message_id"] = sent.message["id"]
        body["resource"]["message"] = sent.message
    return 200, body


def followup(f: FakeDiscord, call: Call, _app_id: str, token: str) -> Answer:
    if token in f.expired_tokens:
        return INVALID_TOKEN
    sent = f.record("followup", f.tokens.get(token, ""), call.json or {}, call.files, token)
    return 200, sent.message


def original(f: FakeDiscord, call: Call, _app_id: str, token: str, _message_id: str) -> Answer:
    if token in f.expired_tokens:
        return INVALID_TOKEN
    if call.method == "DELETE":
        for s in f.replies(token):
            if s.kind == "callback":
                s.body["deleted"] = True
        return 204, None
    first = next((s for s in f.replies(token) if s.message), None)
    if first is None or first.message is None:
        return 404, {"code": 10008, "message": "Unknown Message"}
    if call.method == "PATCH":  # the same message, edited: a deferral becomes the answer
        if first.type == 5:
            first.type = 4
        flags = first.body.get("flags")  # an edit keeps the response's privacy
        first.body = {**first.body, **(call.json or {}), "flags": flags}
        first.body.pop("attachments", None)
        first.files = list(call.files) or first.files
        first.edits += 1
        first.message = p.message(first.message["id"], first.channel_id, f.bot, first.body,
                                  first.message["attachments"])
    return 200, first.message


def create_dm(f: FakeDiscord, call: Call) -> Answer:
    uid = call.json["recipient_id"]
    existing = f.dm_channel_of(str(uid))
    if existing:
        return 200, f.channels[existing]
    data = p.dm_channel(p.snowflake(), f.users[str(uid)])
    f.channels[data["id"]] = data
    return 200, data


def get_user(f: FakeDiscord, _call: Call, uid: str) -> Answer:
    return (
        (200, f.users[uid]) if uid in f.users else (404, {"code": 10013, "message": "Unknown User"})
    )


def post_message(f: FakeDiscord, call: Call, channel_id: str) -> Answer:
    channel = f.channels.get(channel_id)
    if channel is None:
        return 404, {"code": 10003, "message": "Unknown Channel"}
    if channel["type"] == 1 and channel["recipients"][0]["id"] in f.dm_closed:
        return 403, {"code": 50007, "message": "Cannot send messages to this user"}
    body = call.json or {}
    nonce = body.get("nonce")
    if len(str(nonce or "")) > 25:
        return 400, {"code": 50035, "message": "Invalid Form Body",
                     "errors": {"nonce": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}}
    if nonce and body.get("enforce_nonce"):
        earlier = f.nonce_seen(str(nonce))
        if earlier is not None:  # Discord: the same author and nonce within minutes
            return 200, {**earlier, "nonce": nonce}
    sent = f.record("message", channel_id, body, call.files).message
    assert sent is not None
    if nonce:
        f.remember_nonce(str(nonce), sent)
    # The nonce is echoed in the answer to the create only, never in the history.
    return 200, {**sent, "nonce": nonce} if nonce else sent


def history(f: FakeDiscord, call: Call, channel_id: str) -> Answer:
    if channel_id not in f.channels:
        return 404, {"code": 10003, "message": "Unknown Channel"}
    newest_first = [s.message for s in reversed(f.in_channel(channel_id))]
    before = call.query.get("before")
    if before:
        newest_first = [m for m in newest_first if m and int(m["id"]) < int(before)]
    limit = max(1, min(int(call.query.get("limit") or 50), 100))  # Discord's page: 1..100
    return 200, newest_first[:limit]


def channel(f: FakeDiscord, call: Call, channel_id: str) -> Answer:
    data = f.channels.get(channel_id)
    if data is None:
        return 404, {"code": 10003, "message": "Unknown Channel"}
    if call.method == "PATCH":
        data.update({k: v for k, v in call.json.items() if k != "archived" and k != "locked"})
        if "archived" in call.json or "locked" in call.json:
            meta = data.setdefault("thread_metadata", {})
            meta.update({k: call.json[k] for k in ("archived", "locked") if k in call.json})
    elif call.method == "DELETE":
        del f.channels[channel_id]
    return 200, data


def create_thread(f: FakeDiscord, call: Call, parent_id: str) -> Answer:
    data = p.thread(p.snowflake(), call.json["name"], f.guild_id, parent_id, f.bot["id"])
    f.channels[data["id"]] = data
    f.thread_members[data["id"]] = {f.bot["id"]}
    return 201, data


def add_thread_member(f: FakeDiscord, _call: Call, thread_id: str, uid: str) -> Answer:
    f.thread_members.setdefault(thread_id, set()).add(uid)
    return 204, None


def guild(f: FakeDiscord, _call: Call, _guild_id: str) -> Answer:
    data = f.guild_payload()
    return 200, {k: v for k, v in data.items() if k not in ("channels", "members", "threads")}


def guild_member(f: FakeDiscord, _call: Call, _guild_id: str, uid: str) -> Answer:
    if uid not in f.users or uid in f.left:
        return 404, {"code": 10007, "message": "Unknown Member"}
    return 200, f.member(uid)


def guild_channels(f: FakeDiscord, call: Call, guild_id: str) -> Answer:
    if call.method == "POST":
        data = p.channel(p.snowflake(), call.json["name"], guild_id, kind=call.json.get("type", 0),
                         parent_id=call.json.get("parent_id"),
                         overwrites=call.json.get("permission_overwrites"))
        f.channels[data["id"]] = data
        return 201, data
    return 200, [
        c for c in f.channels.values() if c.get("guild_id") == guild_id and c["type"] in (0, 2, 4)
    ]


def active_threads(f: FakeDiscord, _call: Call, _guild_id: str) -> Answer:
    threads = [c for c in f.channels.values()
               if c["type"] == 12 and not c["thread_metadata"]["archived"]]
    return 200, {"threads": threads, "members": []}


ROUTES = [
    ("GET", r"/users/@me", me),
    ("GET", r"/oauth2/applications/@me", application),
    ("GET", r"/gateway/bot", gateway_bot),
    ("PUT", r"/applications/(\d+)/commands", sync),
    ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", sync),
    ("POST", r"/interactions/(\d+)/([^/]+)/callback", callback),
    ("POST", r"/webhooks/(\d+)/([^/]+)", followup),
    ("GET", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", original),
    ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", original),
    ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/([^/]+)", original),
    ("POST", r"/users/@me/channels", create_dm),
    ("GET", r"/users/(\d+)", get_user),
    ("POST", r"/channels/(\d+)/messages", post_message),
    ("GET", r"/channels/(\d+)/messages", history),
    ("GET", r"/channels/(\d+)", channel),
    ("PATCH", r"/channels/(\d+)", channel),
    ("DELETE", r"/channels/(\d+)", channel),
    ("POST", r"/channels/(\d+)/threads", create_thread),
    ("PUT", r"/channels/(\d+)/thread-members/(\d+)", add_thread_member),
    ("GET", r"/guilds/(\d+)", guild),
    ("GET", r"/guilds/(\d+)/members/(\d+)", guild_member),
    ("GET", r"/guilds/(\d+)/channels", guild_channels),
    ("POST", r"/guilds/(\d+)/channels", guild_channels),
    ("GET", r"/guilds/(\d+)/threads/active", active_threads),
]
