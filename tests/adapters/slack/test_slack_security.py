"""Requests Slack did not sign (or signed too long ago) are refused with 401 and change
nothing: no community, no learner, no Web API call."""

from __future__ import annotations

import time

import pytest

from tests.adapters.slack.driver import FORM, Driver, signed_headers
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import InMemoryStorage


async def nothing_stored(storage: InMemoryStorage) -> bool:
    async with storage.uow_factory() as uow:
        return await uow.communities.list() == [] and all(not t for t in storage.tables.values())


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned", "wrong-secret"])
async def test_bad_signatures_are_refused(any_driver: Driver, fake: FakeSlack,
                                          memory_storage: InMemoryStorage, how: str) -> None:
    body, key = any_driver.slash_body("U1", "join study-buddy")
    headers = signed_headers(body, FORM)
    if how == "forged":
        headers["x-slack-signature"] = "v0=" + "0" * 64
    elif how == "stale":  # a replay: correctly signed, but six minutes old
        headers = signed_headers(body, FORM, timestamp=int(time.time()) - 6 * 60)
    elif how == "unsigned":
        headers = {"content-type": FORM}
    else:
        headers = signed_headers(body, FORM, secret="someone-else")
    sent = await any_driver.send(body, headers=headers)
    assert sent.status == 401
    assert await nothing_stored(memory_storage)
    assert fake.calls == [] and fake.responses == []


async def test_a_tampered_body_is_refused(driver: Driver,
                                          memory_storage: InMemoryStorage) -> None:
    body, _ = driver.slash_body("U1", "status")
    headers = signed_headers(body, FORM)
    tampered = body.replace("user_id=U1", "user_id=UADMIN")
    sent = await driver.send(tampered, headers=headers)
    assert sent.status == 401
    assert await nothing_stored(memory_storage)


async def test_a_signed_request_is_served(driver: Driver, fake: FakeSlack) -> None:
    sent, key = await driver.slash("U1", "status")
    assert sent.status == 200
    assert fake.responses and fake.responses[0]["key"] == key
