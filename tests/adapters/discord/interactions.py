"""Acting as Discord users: INTERACTION_CREATE events for slash commands, autocomplete,
button clicks and modal submits, pushed through the fake gateway to the real client."""

from __future__ import annotations

from typing import Any

from tests.adapters.discord import payloads as p
from tests.adapters.discord.fake_discord import LEARNER_PERMS, FakeDiscord, Sent

SLASH, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
DEFERRED = 5


class Users:
    """Sends interactions as the fake guild's members and waits for the bot's answers."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def _send(
        self,
        name: str,
        kind: int,
        data: dict[str, Any],
        *,
        permissions: int = LEARNER_PERMS,
        message: dict[str, Any] | None = None,
        dm: bool = False,
    ) -> str:
        f = self.fake
        uid = f.ids[name]
        iid = p.snowflake()
        token = f"tok{iid}"
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": f.app_id,
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 << 20,
            "app_permissions": str((1 << 41) - 1),
            "authorizing_integration_owners": {"0": f.guild_id},
        }
        if dm:
            channel = f.channels[f.dm_channel_of(uid) or ""]
            payload.update(user=f.users[uid], channel=channel, channel_id=channel["id"], context=1)
        else:
            channel = f.general
            payload.update(guild_id=f.guild_id, guild_locale="en-US", channel=channel,
                           channel_id=channel["id"], member=f.member(uid, permissions), context=0)
        if message is not None:
            payload["message"] = message
        f.tokens[token] = channel["id"]
        await f.dispatch("INTERACTION_CREATE", payload)
        return token

    def _command(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        group, name = key.split()
        synced = self.fake.commands.get(self.fake.guild_id) or self.fake.commands["global"]
        top = next(c for c in synced if c["name"] == group)
        return top, next(o for o in top["options"] if o["name"] == name)

    def _options(self, sub: dict[str, Any], values: dict[str, Any],
                 focused: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
        types = {o["name"]: o["type"] for o in sub.get("options", [])}
        options, resolved = [], {"users": {}, "members": {}}
        for name, value in values.items():
            kind = types[name]
            if kind == 6:  # a user: its id, with the resolved user/member
                value = self.fake.ids[value]
                resolved["users"][value] = self.fake.users[value]
                member = self.fake.member(value)
                member.pop("user")
                resolved["members"][value] = member
            elif kind == 4 and name != focused:
                value = int(value)
            option = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            options.append(option)
        return options, resolved

    async def slash(
        self, name: str, key: str, *, permissions: int = LEARNER_PERMS, **values: Any
    ) -> str:
        """``/peer join mode:study-buddy`` typed by alice.

        Written ``slash("alice", "peer join", mode="study-buddy")``.
        """
        top, sub = self._command(key)
        options, resolved = self._options(sub, values)
        data = {
            "id": top["id"],
            "name": top["name"],
            "type": 1,
            "guild_id": self.fake.guild_id,
            "options": [{"name": sub["name"], "type": 1, "options": options}],
            "resolved": resolved,
        }
        return await self._send(name, SLASH, data, permissions=permissions)

    async def autocomplete(self, name: str, key: str, focused: str, **values: Any) -> str:
        top, sub = self._command(key)
        options, _ = self._options(sub, values, focused)
        data = {"id": top["id"], "name": top["name"], "type": 1, "guild_id": self.fake.guild_id,
                "options": [{"name": sub["name"], "type": 1, "options": options}]}
        return await self._send(name, AUTOCOMPLETE, data)

    async def click(self, name: str, sent: Sent, label: str, *, dm: bool = False) -> str:
        custom_id = sent.buttons()[label]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._send(name, COMPONENT, data, message=sent.message, dm=dm)

    async def submit(self, name: str, modal: Sent, answers: dict[str, Any] | None = None) -> str:
        """Submit a modal: given answers, else what it was pre-filled with."""
        answers = answers or {}
        components = []
        for comp in modal.body["components"]:
            inner = comp["component"] if comp["type"] == 18 else comp["components"][0]
            cid = inner["custom_id"]
            if inner["type"] == 4:
                value = answers.get(cid, inner.get("value") or "")
                filled = {"type": 4, "custom_id": cid, "value": value}
            else:
                chosen = answers.get(cid)
                if chosen is None:
                    chosen = [o["value"] for o in inner["options"] if o.get("default")]
                filled = {"type": inner["type"], "custom_id": cid,
                          "values": [chosen] if isinstance(chosen, str) else list(chosen)}
            components.append({"type": 18, "id": comp.get("id", 0), "component": filled})
        return await self._send(name, MODAL_SUBMIT, {"custom_id": modal.body["custom_id"],
                                                     "components": components})

    async def answer(self, token: str) -> Sent:
        """The first visible answer to an interaction (a deferral is followed to its follow-up)."""
        def visible() -> Sent | None:
            return next((s for s in self.fake.replies(token)
                         if not (s.kind == "callback" and s.type == DEFERRED)), None)
        return await self.fake.wait_for(visible)

    async def answer_with(self, token: str, label: str) -> Sent:
        """The part of an answer that carries the button ``label`` (a long answer comes in
        several messages, its buttons with the last one)."""
        return await self.fake.wait_for(lambda: next(
            (s for s in self.fake.replies(token) if label in s.buttons()), None))

    async def text(self, token: str) -> str:
        """All the text an interaction was answered with (long replies come in several)."""
        await self.answer(token)
        return "\n".join(s.content for s in self.fake.replies(token))
