"""A place to meet and office hours on Slack, through the real Bolt app and the fake Slack:
the intro in the group DM and the session invite carry the community's video link (the
.ics with LOCATION and a VALARM); a supporter publishes office hours with the text grammar,
a learner lists them and books a seat with the button, and gets the calendar file by DM."""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar

from adapters.slack.app import deliverer_for
from core.services.context import Services
from core.services.delivery import dispatch_due
from core.settings import CommunitySettings
from tests.adapters.slack.conftest import MOD_GROUP
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import join
from tests.adapters.slack.test_slack_sessions import matched
from tests.fakes import FakeClock, InMemoryStorage

JITSI = "https://meet.jit.si/peermatch-{session_uid}"


@pytest.fixture
def services(memory_storage: InMemoryStorage, clock: FakeClock) -> Services:
    defaults = CommunitySettings(moderator_roles=(MOD_GROUP,), commands_per_minute=0,
                                 video_link_template=JITSI)
    return Services(memory_storage.uow_factory, clock, defaults, seed_source=lambda: 7)


async def _deliver(storage: InMemoryStorage, clock: FakeClock, app: Any) -> None:
    while (await dispatch_due(storage.uow_factory, clock, {"slack": deliverer_for(app)})).sent:
        pass


async def test_the_intro_and_the_invite_show_the_link(
        driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage, clock: FakeClock,
        app: Any) -> None:
    intro = await matched(driver, fake, memory_storage, clock, app)
    assert "https://meet.jit.si/peermatch-match-1-" in intro["text"]
    await driver.click("U2", intro, "Schedule")
    await driver.submit("U2", fake.opened_views[-1]["view"], {"when": "1"})
    await _deliver(memory_storage, clock, app)
    ask = next(m for m in fake.messages if "proposes a session" in m["text"])
    await driver.click("U1", ask, "Accept")
    await _deliver(memory_storage, clock, app)
    booked = [m for m in fake.messages if "Session booked" in m["text"]]
    assert len(booked) == 2
    assert all("https://meet.jit.si/peermatch-session-1-" in m["text"] for m in booked)
    [invite, *_] = [f for f in fake.files if str(f["title"]).endswith(".ics")]
    [event] = Calendar.from_ical(invite["content"]).events
    assert str(event["LOCATION"]).startswith("https://meet.jit.si/peermatch-session-1-")
    assert event.walk("VALARM")


async def test_office_hours_published_listed_and_booked_on_slack(
        driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage, clock: FakeClock,
        app: Any) -> None:
    opened = len(fake.opened_views)
    await driver.slash("U1", "join offer-support")
    view = fake.opened_views[opened]["view"]
    await driver.submit("U1", view, {"topic": "Python", "languages": "English",
                                     "availability": "Mon-Fri 18:00-21:00",
                                     "support_kind": "Concepts", "capacity": "2"})
    _, key = await driver.slash("U1", "office-hours add Tue 18:00-20:00 every week, 2 seats, "
                                      "topic Python")
    await fake.wait_for(lambda: any(r["key"] == key for r in fake.responses))
    [added] = [r["text"] for r in fake.responses if r["key"] == key]
    assert "Published office hours #1" in added and "2 seats" in added
    await join(driver, fake, "U2")
    _, key = await driver.slash("U2", "office-hours list Python")
    await fake.wait_for(lambda: any(r["key"] == key for r in fake.responses))
    listing = next(r for r in fake.responses if r["key"] == key)
    assert "`1-1` Python with <@U1>" in listing["text"] and "2 of 2 seats left" in listing["text"]
    assert "<!date^" in listing["text"]  # Slack renders the time in the reader's zone
    await driver.click("U2", listing, "Book 1-1", channel="C0GENERAL")
    await fake.wait_for(lambda: any("Booked seat 1 of 2" in r["text"] for r in fake.responses))
    await _deliver(memory_storage, clock, app)
    seat_dm = next(m for m in fake.messages if "Seat booked" in m["text"])
    assert "https://meet.jit.si/peermatch-office-hour-1-0-" in seat_dm["text"]
    [ics] = [f for f in fake.files if "office-hour" in str(f["title"])]
    calendar = Calendar.from_ical(ics["content"])
    assert calendar.get("method") == "PUBLISH" and calendar.events[0].walk("VALARM")
    assert any("booked seat 1 of 2" in m["text"] for m in fake.messages)  # the supporter


