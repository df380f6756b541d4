"""The console's Deliverer: DMs and match spaces are printed; files are written to disk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from adapters.console.render import render_text
from core import outbox
from core.model import OutboxMessage
from core.ports import Clock

People = Callable[[], Awaitable[dict[str, tuple[str, str]]]]


class ConsoleDeliverer:
    """Prints what a platform would send. ``people`` gives user id -> (name, zone)."""

    def __init__(self, out: TextIO, people: People, files_dir: Path, clock: Clock) -> None:
        self.out = out
        self.people = people
        self.files_dir = files_dir
        self.clock = clock  # relative times ("in 2 hours") follow the bot's clock

    async def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        people = await self.people()
        names = {uid: name for uid, (name, _) in people.items()}
        p = message.payload
        if message.kind == "dm":
            name, zone = people.get(message.target, (message.target, "UTC"))
            self._print(f"📨 DM to @{name}:", render_text(p["text"], zone, names, self.clock.now()),
                        p.get("buttons"))
            for f in outbox.attachments_from_payload(p.get("attachments")):
                self.files_dir.mkdir(parents=True, exist_ok=True)
                # One file per recipient: each member's invite is their own.
                path = self.files_dir / f"{name}-{f.filename}"
                path.write_bytes(f.content)
                self.out.write(f"   📎 {path}\n")
            return {}
        if message.kind == "space_open":
            space = f"console:{p['name']}"
            who = ", ".join("@" + names.get(u, u) for u in p["members"])
            self._print(f"🏠 Private space #{p['name']} opened for {who}:",
                        render_text(p["intro"], "UTC", names, self.clock.now()), p.get("buttons"))
            return {"space_id": space}
        if message.kind == "space_message":
            self._print(f"💬 In {p['space_id']}:", render_text(p["text"], "UTC", names, self.clock.now()),
                        p.get("buttons"))
            return {}
        if message.kind == "space_close":
            self.out.write(f"🗄️  Space {p['space_id']} {p['action']}d.\n")
            return {}
        raise ValueError(f"unknown outbox kind {message.kind}")

    def _print(self, head: str, body: str, buttons: list[dict[str, Any]] | None) -> None:
        self.out.write(head + "\n" + "\n".join("   " + line for line in body.splitlines()) + "\n")
        for b in buttons or []:
            args = " ".join(f"{k}={v}" for k, v in (b.get("args") or {}).items())
            self.out.write(f"   [{b['label']}] → /{b['action']}{(' ' + args) if args else ''}\n")
        self.out.flush()
