"""The console's Deliverer: DMs and match spaces are printed; files are written to disk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from adapters.console.render import render_text
from core.messages import CloseSpace, DirectMessage, OpenSpace, SpaceMessage, deliverable
from core.model import OutboxMessage
from core.ports import Clock, StepJournal
from core.replies import Attachment, Button

People = Callable[[], Awaitable[dict[str, tuple[str, str]]]]


class ConsoleDeliverer:
    """Prints what a platform would send. ``people`` gives user id -> (name, zone)."""

    def __init__(self, out: TextIO, people: People, files_dir: Path, clock: Clock) -> None:
        self.out = out
        self.people = people
        self.files_dir = files_dir
        self.clock = clock  # relative times ("in 2 hours") follow the bot's clock

    async def deliver(self, message: OutboxMessage,
                      community_external_id: str = "",  # noqa: ARG002 (Deliverer port)
                      *, journal: StepJournal | None = None,  # noqa: ARG002 (one step only)
                      ) -> dict[str, Any]:
        people = await self.people()
        names = {uid: name for uid, (name, _) in people.items()}
        now = self.clock.now()
        match deliverable(message.message):
            case DirectMessage() as dm:
                name, zone = people.get(dm.user_id, (dm.user_id, "UTC"))
                self._print(f"📨 DM to @{name}:", render_text(dm.text, zone, names, now),
                            dm.buttons)
                self._save(name, dm.attachments)
                return {}
            case OpenSpace() as space:
                who = ", ".join("@" + names.get(u, u) for u in space.members)
                self._print(f"🏠 Private space #{space.name} opened for {who}:",
                            render_text(space.intro, "UTC", names, now), space.buttons)
                return {"space_id": f"console:{space.name}"}
            case SpaceMessage() as post:
                self._print(f"💬 In {post.space_id}:", render_text(post.text, "UTC", names, now),
                            post.buttons)
                self._save(post.space_id.removeprefix("console:"), post.attachments)
                return {}
            case CloseSpace() as close:
                self.out.write(f"🗄️  Space {close.space_id} {close.action}d.\n")
                return {}

    def _save(self, owner: str, files: tuple[Attachment, ...]) -> None:
        """Write attached files to disk, one per recipient: each member's invite is theirs."""
        for f in files:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / f"{owner}-{f.filename}"
            path.write_bytes(f.content)
            self.out.write(f"   📎 {path}\n")

    def _print(self, head: str, body: str, buttons: tuple[Button, ...]) -> None:
        self.out.write(head + "\n" + "\n".join("   " + line for line in body.splitlines()) + "\n")
        for b in buttons:
            args = " ".join(f"{k}={v}" for k, v in b.args.items())
            self.out.write(f"   [{b.label}] → /{b.action}{(' ' + args) if args else ''}\n")
        self.out.flush()
