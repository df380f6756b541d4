"""The console's `as <name>` (issue 14.9): the name printed by a round (any case) is the
person, not a new empty learner; `who` lists who is who."""

from __future__ import annotations

import io

from adapters.console.repl import Console
from core.services.context import Services
from core.settings import CommunitySettings
from tests.fakes import FakeClock
from tests.helpers import JOIN

JOIN_LINE = ("/peer join study-buddy topic=Python languages=English timezone=Europe/London "
             'availability="Mon-Fri 18:00-21:00"')


async def _console(storage) -> tuple[Console, io.StringIO]:  # type: ignore[no-untyped-def]
    services = Services(storage.uow_factory, FakeClock(), CommunitySettings(),
                        seed_source=lambda: 1)
    out = io.StringIO()
    return Console(services, "c1", io.StringIO(""), out, zone="UTC"), out


async def _named(storage, user: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Give a learner the display name an import gives (the demo's "Ana 2" is ``ana1``)."""
    async with storage.uow_factory() as uow:
        [community] = await uow.communities.list()
        learner = await uow.learners.by_platform_id(community.id, user)
        learner.display_name = name
        await uow.learners.update(learner)
        await uow.commit()


async def test_as_a_display_name_in_any_case_is_that_person(memory_storage) -> None:
    assert JOIN["topic"] == "Python"
    console, out = await _console(memory_storage)
    await console.meta_or_command("as ana1")
    await console.meta_or_command(JOIN_LINE)
    await _named(memory_storage, "ana1", "Ana 2")
    await console.meta_or_command("as moderator")
    await console.meta_or_command("as Ana 2")
    assert console.user == "ana1" and "You are now @Ana 2 (id ana1)" in out.getvalue()
    await console.meta_or_command("as ANA 2")
    assert console.user == "ana1"
    await console.meta_or_command("as ANA1")  # the id in another case
    assert console.user == "ana1"
    await console.meta_or_command("/peer status")
    assert "In the queue for" in out.getvalue()  # the same learner, not a new empty one


async def test_who_lists_names_and_what_to_type(memory_storage) -> None:
    console, out = await _console(memory_storage)
    await console.meta_or_command("as ana")
    await console.meta_or_command(JOIN_LINE)
    await _named(memory_storage, "ana", "Ana")
    await console.meta_or_command("who")
    assert "Ana (`as ana`)" in out.getvalue()
    await console.meta_or_command("as Zed")
    assert console.user == "Zed" and "someone new" in out.getvalue()
