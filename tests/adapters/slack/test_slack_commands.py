"""Slash commands, buttons, modals and the App Home through the real Bolt app."""

from __future__ import annotations

import csv
import io
import json

from adapters.slack.app import build_app
from core.services.context import Services
from core.settings import CommunitySettings
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import join, texts
from tests.fakes import FakeClock, InMemoryStorage


async def test_bare_peer_and_unknown_subcommands_get_help(driver: Driver, fake: FakeSlack) -> None:
    _, bare = await driver.slash("U1", "")
    _, unknown = await driver.slash("U1", "dance wildly")
    assert "/peer join" in texts(fake, bare)[0]
    answer = texts(fake, unknown)[0]
    assert answer.startswith("I don't know `/peer dance`") and "/peer join" in answer
    # Learners are not shown the moderators' commands.
    assert "/peer admin" not in texts(fake, bare)[0]


async def test_moderators_see_admin_help_in_slack_spelling(driver: Driver, fake: FakeSlack) -> None:
    _, key = await driver.slash("UADMIN", "help")
    text = texts(fake, key)[0]
    assert "`/peer admin match-now" in text and "/peeradmin" not in text


async def test_a_learner_is_refused_admin_commands(driver: Driver, fake: FakeSlack) -> None:
    _, key = await driver.slash("U1", "admin queue")
    assert "for moderators" in texts(fake, key)[0]


async def test_admins_and_usergroup_members_may_use_admin_commands(
    driver: Driver, fake: FakeSlack
) -> None:
    _, by_admin = await driver.slash("UADMIN", "admin queue")
    _, by_group = await driver.slash("UMOD", "admin queue")
    assert texts(fake, by_admin) == ["Nobody is waiting."]
    assert texts(fake, by_group) == ["Nobody is waiting."]


async def test_bad_availability_is_answered_inline(driver: Driver, fake: FakeSlack,
                                                   memory_storage: InMemoryStorage) -> None:
    await driver.slash("U1", "join study-buddy")
    view = fake.opened_views[-1]["view"]
    answer = await driver.submit("U1", view, {"topic": "Python", "languages": "English",
                                              "availability": "Someday 25:00-26:00"})
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"availability"}
    assert not body["errors"]["availability"].startswith("When are you free")  # label not repeated
    async with memory_storage.uow_factory() as uow:
        assert await uow.queue.waiting(1) == []


async def test_missing_options_open_a_modal_from_the_catalogue(
    driver: Driver, fake: FakeSlack
) -> None:
    await driver.slash("U1", "join")  # no mode: the core asks for it, Slack shows a select
    view = fake.opened_views[-1]["view"]
    assert view["callback_id"] == "pmcmd:peer.join"
    mode = next(b for b in view["blocks"] if b.get("block_id") == "mode")
    assert mode["element"]["type"] == "static_select"
    answer = await driver.submit("U1", view, {"mode": "accountability"})
    body = answer.json()
    # The submission runs `peer join mode=accountability`, whose reply is the join form.
    assert body["response_action"] == "update"
    assert body["view"]["callback_id"] == "pmform:join-accountability"


async def test_positional_text_and_keywords(driver: Driver, fake: FakeSlack) -> None:
    _, key = await driver.slash("U1", "unpair we never met")
    assert "active match" in texts(fake, key)[0]  # parsed, validated, refused by the core
    _, key = await driver.slash("U1", "pause weeks:two")
    assert "not a whole number" in texts(fake, key)[0]


async def test_refusal_after_a_submission_is_shown_in_the_modal(
    driver: Driver, fake: FakeSlack
) -> None:
    await join(driver, fake, "U1")
    await driver.slash("U1", "join")
    view = fake.opened_views[-1]["view"]
    body = (await driver.submit("U1", view, {"mode": "study-buddy"})).json()
    assert body["response_action"] == "update"
    assert "already in the queue" in json.dumps(body["view"])


async def test_export_uploads_a_csv(driver: Driver, fake: FakeSlack) -> None:
    await join(driver, fake, "U1")
    _, key = await driver.slash("UADMIN", "admin export learners")
    assert "learners export" in texts(fake, key)[0]
    assert len(fake.files) == 1
    upload = fake.files[0]
    assert upload["channel"].startswith("D")  # private: into the admin's DM with the app
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode("utf-8-sig"))))
    assert any("U1" in json.dumps(row) for row in rows)


async def test_stats_upload_a_png(driver: Driver, fake: FakeSlack) -> None:
    await driver.slash("UADMIN", "admin stats")
    assert fake.files and fake.files[0]["content"].startswith(b"\x89PNG")


async def test_app_home_is_published_and_kept_current(driver: Driver, fake: FakeSlack) -> None:
    await driver.home_opened("U1")
    home = await fake.wait_for(lambda: fake.homes.get("U1"))
    assert home["type"] == "home"
    assert "not in the queue" in json.dumps(home)
    await join(driver, fake, "U1")
    await fake.wait_for(lambda: "In the queue for" in json.dumps(fake.homes["U1"]))
    # A button on the Home tab works too; with no response_url the answer is a DM.
    home = fake.homes["U1"]
    await driver.click("U1", home, "Leave queue")
    assert any("left the" in m["text"] for m in fake.messages)
    await fake.wait_for(lambda: "not in the queue" in json.dumps(fake.homes["U1"]))
    assert fake.problems == []


async def test_people_who_never_opened_home_are_not_published(
    driver: Driver, fake: FakeSlack
) -> None:
    await driver.slash("U2", "status")
    assert "U2" not in fake.homes


async def test_an_expired_trigger_offers_a_button_instead(driver: Driver, fake: FakeSlack) -> None:
    body, key = driver.slash_body("U1", "join study-buddy")
    fake.expired_triggers.add(
        next(p for p in body.split("&") if p.startswith("trigger_id=")).split("=")[1]
    )
    await driver.send(body)
    answer = next(r for r in fake.responses if r["key"] == key)
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Open the form"]
    # Clicking it (a fresh trigger) opens the form.
    await driver.click("U1", {"blocks": answer["blocks"]}, "Open the form", channel="C0GENERAL")
    assert fake.opened_views[-1]["view"]["callback_id"] == "pmform:join-study-buddy"


async def test_a_button_of_a_removed_command_still_gets_an_answer(
    driver: Driver, fake: FakeSlack
) -> None:
    old = {"blocks": [{"type": "actions", "elements": [{
        "type": "button", "text": {"type": "plain_text", "text": "Dance"},
        "action_id": "pm:peer.dance:0", "value": json.dumps({"c": "peer dance", "a": {}})}]}]}
    _, key = await driver.click("U1", old, "Dance", channel="C0GENERAL")
    assert "don't know the command" in texts(fake, key)[0]


async def test_a_usergroup_made_moderator_in_chat_counts_at_once(
    driver: Driver, fake: FakeSlack
) -> None:
    fake.usergroups["S0OTHER"] = ["U3"]
    _, before = await driver.slash("U3", "admin queue")
    assert "for moderators" in texts(fake, before)[0]
    await driver.slash("UADMIN", "admin config moderator_roles S0OTHER")
    _, after = await driver.slash("U3", "admin queue")
    assert texts(fake, after) == ["Nobody is waiting."]


async def test_home_refreshes_do_not_eat_the_command_budget(
    fake: FakeSlack, memory_storage: InMemoryStorage, clock: FakeClock
) -> None:
    services = Services(memory_storage.uow_factory, clock, CommunitySettings(commands_per_minute=3))
    driver = Driver(build_app(services, make_settings(fake)), fake)
    await driver.home_opened("U1")
    keys = [(await driver.slash("U1", "status"))[1] for _ in range(3)]
    assert all("quickly" not in texts(fake, k)[0] for k in keys)
    assert len([c for c in fake.calls if c.method == "views.publish"]) == 4  # opened + 3 refreshes
    _, fourth = await driver.slash("U1", "status")
    assert "quickly" in texts(fake, fourth)[0]  # the person's own budget still applies
