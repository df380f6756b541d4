"""Socket Mode: the app connects out (apps.connections.open through the configured base
URL, then a websocket), acknowledges each envelope, and serves it like HTTP mode."""

from __future__ import annotations

import asyncio
import json

from adapters.slack.app import build_app, drain
from adapters.slack.runner import start_socket
from core.services.context import Services
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.fake_slack import APP_TOKEN, FakeSlack
from tests.fakes import InMemoryStorage


async def test_socket_mode_serves_commands_and_events(fake: FakeSlack, services: Services,
                                                      memory_storage: InMemoryStorage) -> None:
    settings = make_settings(fake, mode="socket", app_token=APP_TOKEN, signing_secret="")
    app = build_app(services, settings)
    handler = await start_socket(app, settings)
    try:
        assert [c.token for c in fake.calls if c.method == "apps.connections.open"] == [APP_TOKEN]
        envelope = await fake.push("slash_commands", {
            "team_id": "T1", "user_id": "U1", "user_name": "ada", "command": "/peer",
            "text": "join study-buddy", "channel_id": "C0GENERAL", "trigger_id": "trigger-s1",
            "response_url": fake.response_url("s1"), "api_app_id": "A1"})
        await fake.wait_for(lambda: any(a.get("envelope_id") == envelope for a in fake.socket_acks))
        view = (await fake.wait_for(lambda: fake.opened_views))[0]["view"]
        assert view["callback_id"] == "pmform:join-study-buddy"

        submission = await fake.push("interactive", {
            "type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1", "name": "ada"},
            "trigger_id": "trigger-s2", "api_app_id": "A1",
            "view": {**view, "state": {"values": {
                "topic": {"v": {"type": "static_select", "selected_option": {"value": "Python"}}},
                "languages": {"v": {"type": "multi_static_select",
                                    "selected_options": [{"value": "English"}]}},
                "timezone": {"v": {"type": "plain_text_input", "value": "Europe/London"}},
                "availability": {"v": {"type": "plain_text_input", "value": "Flexible"}}}}}})
        ack = await fake.wait_for(lambda: next((a for a in fake.socket_acks
                                                if a.get("envelope_id") == submission), None))
        assert not ack.get("payload")  # an empty ack closes the modal
        await fake.wait_for(lambda: any("in the queue" in r["text"] for r in fake.responses))

        await fake.push("events_api", json.loads(json.dumps({
            "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
            "event": {"type": "app_home_opened", "user": "U1", "tab": "home"}})))
        home = await fake.wait_for(lambda: fake.homes.get("U1"))
        assert "In the queue" in json.dumps(home)
        async with asyncio.timeout(10):
            await drain(app)
    finally:
        await handler.close_async()
    async with memory_storage.uow_factory() as uow:
        assert len(await uow.queue.waiting(1)) == 1
