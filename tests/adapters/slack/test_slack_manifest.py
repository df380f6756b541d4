"""The app manifest a workspace admin pastes grants what the adapter calls.

Each Web API method the adapter uses needs one bot scope; if a method is added to the
adapter, add it here and the scope to manifest.yml (a missing scope only shows in
production, as a ``missing_scope`` error)."""

from __future__ import annotations

import re
from pathlib import Path

import adapters.slack

MANIFEST = Path(adapters.slack.__file__).parent / "manifest.yml"
SOURCES = Path(adapters.slack.__file__).parent
SCOPE_OF = {
    "chat_postMessage": "chat:write",
    "conversations_open": "mpim:write",  # im:write too, for 1:1 DMs (file uploads)
    "conversations_create": "groups:write",
    "conversations_invite": "groups:write",
    "conversations_archive": "groups:write",
    "conversations_list": "groups:read",
    # Reconciling an unclear delivery reads the DM, group DM or private channel it went to.
    "conversations_history": "im:history",
    "auth_test": "",  # the bot's own user id: no scope
    "users_info": "users:read",
    "usergroups_users_list": "usergroups:read",
    "files_upload_v2": "files:write",
    "views_open": "commands",  # opening modals needs no scope beyond the app's command
    "views_publish": "",  # the Home tab: no scope
}


def bot_scopes() -> set[str]:
    text = MANIFEST.read_text()
    block = text.split("bot:", 1)[1].split("settings:", 1)[0]
    return set(re.findall(r"^\s+- ([a-z:._]+)", block, re.M))


def test_every_method_the_adapter_calls_has_its_scope() -> None:
    used = set()
    for source in SOURCES.glob("*.py"):
        used |= set(re.findall(r"client\.([a-z]+_[A-Za-z_0-9]+)\(", source.read_text()))
        used |= set(re.findall(r"self\.client\.([a-z]+_[A-Za-z_0-9]+)\b", source.read_text()))
    unknown = used - set(SCOPE_OF)
    assert not unknown, f"add these methods and their scopes to SCOPE_OF: {unknown}"
    missing = {SCOPE_OF[m] for m in used if SCOPE_OF[m]} - bot_scopes()
    assert not missing
    assert {"im:write", "commands"} <= bot_scopes()


def test_every_kind_of_match_conversation_can_be_read_back() -> None:
    # DMs, group DMs and private channels: where deliveries go and are looked for again.
    assert {"im:history", "mpim:history", "groups:history"} <= bot_scopes()
    setup = (SOURCES / "SETUP.md").read_text()
    assert all(f"`{scope}`" in setup for scope in ("im:history", "mpim:history",
                                                   "groups:history"))


def test_the_manifest_declares_the_command_home_events_and_socket_mode() -> None:
    text = MANIFEST.read_text()
    assert "command: /peer" in text and "should_escape: true" in text
    assert "home_tab_enabled: true" in text and "messages_tab_enabled: true" in text
    assert "- app_home_opened" in text
    assert re.search(r"interactivity:\s+is_enabled: true", text)
    assert "socket_mode_enabled: true" in text
