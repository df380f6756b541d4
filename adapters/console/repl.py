"""The console adapter: the same commands as Discord/Slack, typed in a terminal.

Act as anyone with ``as <name>``; ``moderator`` is the community's owner. Forms are asked
field by field (Enter keeps the value in brackets). After each command the outbox is
delivered, so DMs and match spaces print right away.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from adapters.console.deliver import ConsoleDeliverer
from adapters.console.render import render_reply
from core import catalogue
from core.ports import Deliverer
from core.replies import FormRequest, Reply
from core.services.context import Actor, CommandRequest, Services
from core.services.delivery import drain
from core.services.dispatch import handle
from core.services.lookup import people
from core.textcommand import GrammarError, parse
from core.timezones import TimeZoneError, resolve_timezone

PLATFORM = "console"
MODERATOR = "moderator"
META_HELP = ("Console: `as <name>` act as someone (created on first command; `as moderator` "
             "is the owner), `who` lists learners, `deliver` sends what is due, `quit` leaves.")


def local_zone() -> str:
    """The terminal's IANA zone (``TZ``, else where /etc/localtime points), or '' if unknown:
    the console's stand-in for the zone Slack tells us, used to pre-fill the join form."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            return ""
        name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    if name in ("Etc/UTC", "Etc/UCT", "UCT", "Zulu"):
        return "UTC"
    try:
        return resolve_timezone(name) if name else ""
    except TimeZoneError:  # e.g. a POSIX rule like TZ=CET-1CEST: not a name to offer
        return ""


class Console:
    """A REPL bound to one community."""

    def __init__(
        self,
        services: Services,
        community: str,
        inp: TextIO,
        out: TextIO,
        files_dir: Path = Path("exports"),
        extra_deliverers: Mapping[str, Deliverer] | None = None,
        zone: str | None = None,
    ) -> None:
        self.services = services
        self.zone = local_zone() if zone is None else zone
        self.community = community
        self.inp, self.out = inp, out
        self.user = MODERATOR
        self.deliverer = ConsoleDeliverer(out, self._people, files_dir, services.clock)
        self.deliverers: dict[str, Deliverer] = {
            PLATFORM: self.deliverer,
            **(extra_deliverers or {}),
        }

    async def _people(self) -> dict[str, tuple[str, str]]:
        return await people(self.services, PLATFORM, self.community)

    async def _actor(self) -> Actor:
        # Keep the name someone already has (e.g. "Ana" from an import); new people get
        # the name they were introduced with.
        known = (await self._people()).get(self.user)
        name = known[0] if known else self.user
        return Actor(user_id=self.user, display_name=name, platform_admin=self.user == MODERATOR,
                     timezone=self.zone)

    async def _readline(self, prompt: str) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        line = await asyncio.to_thread(self.inp.readline)
        return None if line == "" else line.rstrip("\n")

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def show(self, reply: Reply) -> None:
        pp = await self._people()
        names = {uid: n for uid, (n, _) in pp.items()}
        zone = pp.get(self.user, (self.user, "UTC"))[1]
        self._write(render_reply(reply, zone, names, self.services.clock.now()))
        for f in reply.attachments:
            self.deliverer.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.deliverer.files_dir / f.filename
            path.write_bytes(f.content)
            self._write(f"   📎 saved {path}")

    async def run_command(self, line: str) -> Reply | None:
        """Run one `/peer ...` or `/peeradmin ...` line (forms are prompted)."""
        m = re.match(r"^/(peeradmin|peer)\b\s*(.*)$", line.strip())
        if not m:
            self._write(f"Commands start with /peer or /peeradmin. {META_HELP}")
            return None
        group, rest = m.group(1), m.group(2)
        if group == "peer" and rest.split(" ", 1)[0] == "admin":  # Slack-style `/peer admin ...`
            group, rest = "peeradmin", rest[5:].strip()
        try:
            parsed = parse(group, rest)
        except GrammarError as exc:
            self._write(f"⚠️  {exc}")
            return None
        reply = await self._call(parsed.key, parsed.args)
        form = reply.form
        values: dict[str, str] = {}
        if form is not None and reply.text:
            await self.show(Reply(text=reply.text))
        while form is not None:
            retry = set(reply.field_errors) if reply.field_errors else None
            filled = await self._fill(form, values, only=retry)
            if filled is None:
                self._write("(form cancelled: nothing was changed)")
                return reply
            values = filled
            reply = await self._submit(form, values)
            if reply.form is not None:
                form, values = reply.form, {}
            elif reply.field_errors:
                await self.show(reply)  # same form again, asking only the fields in error
            else:
                form = None
        await self.show(reply)
        await self.deliver()
        return reply

    async def _call(self, key: str, args: dict[str, str]) -> Reply:
        request = CommandRequest(
            PLATFORM, self.community, await self._actor(), key, args, self.community
        )
        return await handle(self.services, request)

    async def _submit(self, form: FormRequest, values: dict[str, str]) -> Reply:
        return await self._call(form.submit_command, {**form.context, **values})

    async def _fill(self, form: FormRequest, previous: dict[str, str],
                    only: set[str] | None = None) -> dict[str, str] | None:
        spec = catalogue.FORMS[form.form]
        values = {**form.values, **previous}
        self._write(f"📝 {spec.title}")
        for field in spec.fields:
            if only is not None and field.name not in only:
                continue
            hint = ""
            choices = field.options(self.services.defaults)
            if choices:
                hint = f" ({', '.join(choices[:12])}{', ...' if len(choices) > 12 else ''})"
            default = values.get(field.name, "")
            optional = "" if field.required else " (optional)"
            answer = await self._readline(f"  {field.label}{optional}{hint} [{default}]: ")
            if answer is None:
                return None
            if answer.strip():
                values[field.name] = answer.strip()
        return values

    async def deliver(self) -> None:
        """Deliver every outbox row due now."""
        await drain(self.services.uow_factory, self.services.clock, self.deliverers)

    async def repl(self) -> None:
        """Read commands until EOF or `quit`."""
        self._write(f"PeerMatch console: community '{self.community}'. {META_HELP}")
        while True:
            line = await self._readline(f"{self.user}> ")
            if line is None or line.strip() in ("quit", "exit"):
                self._write("Bye.")
                return
            await self.meta_or_command(line.strip())

    async def _become(self, typed: str) -> None:
        """``as <who>``: a user id, or a display name in any case ("as Ana" as the round
        printed it); someone new only when nobody has that id or name."""
        if not typed:
            self.user = MODERATOR
            self._write(f"You are now @{self.user}.")
            return
        pp = await self._people()
        folded = typed.casefold()
        found = ([typed] if typed in pp else
                 [uid for uid, (n, _) in pp.items() if n.casefold() == folded]
                 or [uid for uid in pp if uid.casefold() == folded])
        if len(found) > 1:
            shown = ", ".join(f"{pp[u][0]} (`as {u}`)" for u in sorted(found))
            self._write(f"Several people are called {typed}: {shown}. Use the id.")
            return
        if found:
            self.user = found[0]
            self._write(f"You are now @{pp[self.user][0]} (id {self.user}).")
        else:
            self.user = typed
            self._write(f"You are now @{typed}: someone new (created on your first command; "
                        "`who` lists who is who).")

    async def meta_or_command(self, line: str) -> None:
        if not line or line.startswith("#"):
            return
        if line.startswith("as "):
            await self._become(line[3:].strip().lstrip("@"))
        elif line == "who":
            pp = await self._people()
            self._write(
                "; ".join(f"{n} (`as {uid}`)" for uid, (n, _) in sorted(pp.items()))
                or "(nobody yet)"
            )
        elif line == "deliver":
            await self.deliver()
        elif line == "help":
            await self.run_command("/peer help")
            self._write(META_HELP)
        else:
            await self.run_command(line)
