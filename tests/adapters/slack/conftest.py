"""Fixtures of the Slack adapter tests: the fake Web API, the real Bolt app, a driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack.app import build_app
from adapters.slack.runner import start_http
from adapters.slack.settings import SlackSettings
from core.services.context import Services
from core.settings import CommunitySettings
from tests.adapters.slack.driver import SECRET, Driver
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes import FakeClock, InMemoryStorage

MOD_GROUP = "S0MODS"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    slack.add_user("U1", "Ada", tz="Europe/London")
    slack.add_user("U2", "Bo", tz="Europe/Paris")
    slack.add_user("U3", "Cy", tz="America/New_York")
    slack.add_user("UADMIN", "Admin", tz="UTC", admin=True)
    slack.add_user("UMOD", "Mo", tz="UTC")
    slack.usergroups[MOD_GROUP] = ["UMOD"]
    yield slack
    await slack.stop()


@pytest.fixture
def services(memory_storage: InMemoryStorage, clock: FakeClock) -> Services:
    # The usergroup is a moderator role for the core too (bot/ maps slack.moderator_usergroups).
    defaults = CommunitySettings(moderator_roles=(MOD_GROUP,), commands_per_minute=0)
    return Services(memory_storage.uow_factory, clock, defaults, seed_source=lambda: 7)


def make_settings(fake: FakeSlack, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {"bot_token": BOT_TOKEN, "signing_secret": SECRET, "mode": "http",
                              "port": 0, "host": "127.0.0.1", "api_base_url": fake.api_url,
                              "moderator_usergroups": (MOD_GROUP,)}
    return SlackSettings(**{**values, **overrides})


@pytest.fixture
def app(fake: FakeSlack, services: Services) -> Any:
    return build_app(services, make_settings(fake))


@pytest.fixture
def driver(app: Any, fake: FakeSlack) -> Driver:
    return Driver(app, fake)


async def _served(app: Any, fake: FakeSlack) -> AsyncIterator[Driver]:
    settings = make_settings(fake)
    server = await start_http(app, settings)
    yield Driver(app, fake, http_url=f"http://127.0.0.1:{server.port}{settings.path}")
    await server.stop()


@pytest.fixture
async def http_driver(app: Any, fake: FakeSlack) -> AsyncIterator[Driver]:
    """Requests over real HTTP to the app served in HTTP mode on a free port."""
    async for served in _served(app, fake):
        yield served


@pytest.fixture(params=["in-process", "http"])
async def any_driver(
    request: pytest.FixtureRequest, app: Any, fake: FakeSlack
) -> AsyncIterator[Driver]:
    """The same scenario dispatched in-process and over real HTTP."""
    if request.param == "in-process":
        yield Driver(app, fake)
        return
    async for served in _served(app, fake):
        yield served
