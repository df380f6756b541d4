"""The platforms the e2e scenario runs on, behind one small interface.

Each wraps what its adapter's own tests drive it with: the console REPL (typed commands,
prompted forms), the real discord.py client against the fake Discord
(tests/adapters/discord), the real Bolt app against the fake Slack Web API
(tests/adapters/slack). People are ``A`` and ``B`` (learners) and ``mod`` (a moderator);
the texts returned are what the person sees there. ``open_platform`` builds one over the
storage and FakeClock a test gives it.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from adapters.console.repl import Console
from adapters.slack.app import build_app, deliverer_for
from core import catalogue
from core.services.context import Services
from core.services.delivery import dispatch_due
from core.settings import CommunitySettings
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD, FakeDiscord
from tests.adapters.discord.test_discord_flow import join as discord_join
from tests.adapters.slack.conftest import MOD_GROUP, make_settings
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import join as slack_join
from tests.adapters.slack.test_slack_lifecycle import texts
from tests.fakes import FakeClock

SEED = 1234
# The profile both learners give (the Discord and Slack join helpers fill in the same one).
PROFILE = {"topic": "Python", "languages": "English", "timezone": "Europe/London",
           "availability": "Mon-Fri 18:00-21:00", "country": "United Kingdom"}


class Platform(Protocol):
    name: str

    def uid(self, who: str) -> str: ...
    async def join(self, who: str) -> str: ...
    async def match_now(self) -> str: ...
    async def deliver(self) -> None: ...
    async def space(self) -> tuple[set[str], str]: ...  # (members, intro text)
    async def schedule(self, who: str, when: str) -> str: ...
    async def accept(self, who: str, proposal: int) -> str: ...
    def dms(self, who: str) -> list[str]: ...
    def invites(self, who: str) -> list[bytes]: ...  # .ics files received by DM
    async def give_feedback(self, who: str, answers: dict[str, str]) -> str: ...


def services(storage: Any, clock: FakeClock, defaults: CommunitySettings | None = None) -> Services:
    return Services(storage.uow_factory, clock, defaults or CommunitySettings(),
                    seed_source=lambda: SEED)


# ---- console ------------------------------------------------------------------------------
class Lines:
    """The console's stdin: answers queued by the test, EOF when none are left."""

    def __init__(self) -> None:
        self.queue: deque[str] = deque()

    def readline(self) -> str:
        return self.queue.popleft() + "\n" if self.queue else ""


class ConsolePlatform:
    name = "console"
    _names = {"A": "ana", "B": "ben", "mod": "moderator"}

    def __init__(self, storage: Any, clock: FakeClock, files: Path) -> None:
        self.inp, self.out = Lines(), io.StringIO()
        self.console = Console(services(storage, clock), "study-hall",
                               self.inp, self.out, files)  # type: ignore[arg-type]

    def uid(self, who: str) -> str:
        return self._names[who]

    async def _as(self, who: str, line: str, answers: list[str] | None = None) -> str:
        await self.console.meta_or_command(f"as {self.uid(who)}")
        self.inp.queue.extend(answers or [])
        start = len(self.out.getvalue())
        await self.console.meta_or_command(line)
        assert not self.inp.queue, f"prompts left unanswered: {list(self.inp.queue)}"
        return self.out.getvalue()[start:]

    async def join(self, who: str) -> str:
        if who == "A":  # field by field, as prompted
            fields = catalogue.FORMS["join-study-buddy"].fields
            answers = [PROFILE.get(f.name, "") for f in fields]
            return await self._as(who, "/peer join study-buddy", answers)
        inline = " ".join(f'{k}="{v}"' for k, v in PROFILE.items())  # everything on one line
        text = await self._as(who, f"/peer join study-buddy {inline}")
        assert "📝" not in text  # no form was needed
        return text

    async def match_now(self) -> str:
        return await self._as("mod", "/peeradmin match-now")

    async def deliver(self) -> None:
        await self.console.meta_or_command("deliver")

    def _blocks(self, head: str) -> list[tuple[str, list[str]]]:
        """(header rest, indented body lines) of every printed block starting with ``head``."""
        found: list[tuple[str, list[str]]] = []
        body: list[str] | None = None
        for line in self.out.getvalue().splitlines():
            if line.startswith(head):
                body = []
                found.append((line[len(head):], body))
            elif body is not None and line.startswith("   "):
                body.append(line[3:])
            else:
                body = None  # the block ended
        return found

    async def space(self) -> tuple[set[str], str]:
        [(head, body)] = self._blocks("🏠 Private space #")
        members = set(re.findall(r"@(\w+)", head.split(" opened for ", 1)[1]))
        return members, "\n".join(body)

    async def schedule(self, who: str, when: str) -> str:
        return await self._as(who, f"/peer schedule {when}")

    async def accept(self, who: str, proposal: int) -> str:
        return await self._as(who, f"/peer accept {proposal}")

    def _dm_blocks(self, who: str) -> list[list[str]]:
        return [body for head, body in self._blocks("📨 DM to @") if head == f"{self.uid(who)}:"]

    def dms(self, who: str) -> list[str]:
        return ["\n".join(body) for body in self._dm_blocks(who)]

    def invites(self, who: str) -> list[bytes]:
        return [Path(line[2:].strip()).read_bytes() for body in self._dm_blocks(who)
                for line in body if line.startswith("📎") and line.endswith(".ics")]

    async def give_feedback(self, who: str, answers: dict[str, str]) -> str:
        fields = catalogue.FORMS["feedback-peer"].fields
        return await self._as(who, "/peer feedback", [answers.get(f.name, "") for f in fields])


# ---- Discord ------------------------------------------------------------------------------
class DiscordPlatform:
    name = "discord"
    _names = {"A": "alice", "B": "bob", "mod": "mod"}

    def __init__(self, bot: Bot) -> None:
        self.bot, self.fake, self.users = bot, bot.fake, bot.users

    def uid(self, who: str) -> str:
        return self.fake.ids[self._names[who]]

    async def join(self, who: str) -> str:
        return await discord_join(self.bot, self._names[who])  # both pages of the modal

    async def match_now(self) -> str:
        return await self.users.text(await self.users.slash(
            "mod", "peeradmin match-now", permissions=LEARNER_PERMS | MANAGE_GUILD))

    async def deliver(self) -> None:
        await self.bot.deliver()

    async def space(self) -> tuple[set[str], str]:
        [channel] = [c for c in self.fake.channels.values()  # the text one, not its voice twin
                     if c.get("name", "").startswith("peer-") and c.get("type") != 2]
        members = {str(o["id"]) for o in channel["permission_overwrites"] if o["type"] == 1}
        return members - {self.fake.bot["id"]}, self.fake.in_channel(channel["id"])[0].content

    async def schedule(self, who: str, when: str) -> str:
        token = await self.users.slash(self._names[who], "peer schedule", when=when)
        return await self.users.text(token)

    async def accept(self, who: str, proposal: int) -> str:
        token = await self.users.slash(self._names[who], "peer accept", proposal=proposal)
        return await self.users.text(token)

    def dms(self, who: str) -> list[str]:
        return [s.content for s in self.fake.dms_to(self._names[who])]

    def invites(self, who: str) -> list[bytes]:
        return [data for s in self.fake.dms_to(self._names[who]) for name, data in s.files
                if name.endswith(".ics")]

    async def give_feedback(self, who: str, answers: dict[str, str]) -> str:
        name = self._names[who]
        prompt = [s for s in self.fake.dms_to(name) if "Give feedback" in s.buttons()][-1]
        sent = await self.users.answer(
            await self.users.click(name, prompt, "Give feedback", dm=True))
        while sent.type == 9:  # a modal page: fill it in, then open the next one if any
            sent = await self.users.answer(await self.users.submit(name, sent, answers))
            if "Next" in sent.buttons():
                sent = await self.users.answer(await self.users.click(name, sent, "Next", dm=True))
        return sent.content


# ---- Slack --------------------------------------------------------------------------------
class SlackPlatform:
    name = "slack"
    _names = {"A": "U1", "B": "U2", "mod": "UADMIN"}

    def __init__(self, fake: FakeSlack, storage: Any, clock: FakeClock) -> None:
        self.fake, self.storage, self.clock = fake, storage, clock
        self.app = build_app(services(storage, clock), make_settings(fake))
        self.driver = Driver(self.app, fake)
        self.deliverer = deliverer_for(self.app)

    def uid(self, who: str) -> str:
        return self._names[who]

    def _dm(self, who: str) -> str:
        return str(self.fake.m_conversations_open({"users": self.uid(who)})["channel"]["id"])

    async def join(self, who: str) -> str:
        await slack_join(self.driver, self.fake, self.uid(who), timezone=PROFILE["timezone"],
                         country=PROFILE["country"])  # slash, then the modal's view_submission
        return str(self.fake.responses[-1]["text"])

    async def match_now(self) -> str:
        _, key = await self.driver.slash("UADMIN", "admin match-now")
        return "\n".join(texts(self.fake, key))

    async def deliver(self) -> None:
        await dispatch_due(self.storage.uow_factory, self.clock, {"slack": self.deliverer})

    async def space(self) -> tuple[set[str], str]:
        [group] = [c for c in self.fake.channels.values() if c["is_mpim"]]
        intro = self.fake.messages_in(group["id"])[0]["text"]
        return set(group["members"]) - {self.fake.bot_user}, intro

    async def schedule(self, who: str, when: str) -> str:
        _, key = await self.driver.slash(self.uid(who), f"schedule {when}")
        return "\n".join(texts(self.fake, key))

    async def accept(self, who: str, proposal: int) -> str:
        _, key = await self.driver.slash(self.uid(who), f"accept {proposal}")
        return "\n".join(texts(self.fake, key))

    def dms(self, who: str) -> list[str]:
        return [m["text"] for m in self.fake.messages_in(self._dm(who))]

    def invites(self, who: str) -> list[bytes]:
        return [f["content"] for f in self.fake.files
                if f["channel"] == self._dm(who) and str(f["title"]).endswith(".ics")]

    async def give_feedback(self, who: str, answers: dict[str, str]) -> str:
        prompt = [m for m in self.fake.messages_in(self._dm(who))
                  if "Give feedback" in str(m["blocks"])][-1]
        _, key = await self.driver.click(self.uid(who), prompt, "Give feedback")
        form = self.fake.opened_views[-1]["view"]
        submitted = await self.driver.submit(self.uid(who), form, answers)
        assert submitted.status == 200 and submitted.body == ""  # the modal closed: saved
        return "\n".join(texts(self.fake, key))


@contextlib.asynccontextmanager
async def open_platform(name: str, storage: Any, clock: FakeClock,
                        tmp: Path) -> AsyncIterator[Platform]:
    """The named platform, running over ``storage`` and ``clock``, with its fake started."""
    if name == "console":
        yield ConsolePlatform(storage, clock, tmp / "files")
    elif name == "discord":
        fake = FakeDiscord()
        await fake.start()
        try:
            settings = community_settings(fake), discord_settings(fake)
            async with running(fake, storage, clock, *settings) as bot:
                yield DiscordPlatform(bot)
        finally:
            await fake.close()
    elif name == "slack":
        slack = await FakeSlack().start()
        for uid, person in (("U1", "Ada"), ("U2", "Bo")):
            slack.add_user(uid, person, tz=PROFILE["timezone"])
        slack.add_user("UADMIN", "Admin", tz="UTC", admin=True)
        slack.usergroups[MOD_GROUP] = []  # the moderators' usergroup the settings name
        try:
            yield SlackPlatform(slack, storage, clock)
            assert slack.problems == []  # no Block Kit payload Slack would have refused
        finally:
            await slack.stop()
    else:
        raise ValueError(name)
