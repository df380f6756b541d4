"""Every setting, through every entry point: the config file, a PEERMATCH_* variable and
`/peeradmin config` (through the real dispatch) accept and refuse the same values, with
the same message, and a refusal changes nothing.

The cases are generated from the declared specs, so a new setting is covered the day it is
declared: below its lowest value, above its highest, a value of the wrong type, a valid one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import SCHEMAS, ConfigError, env_name, load_config
from core.services.community_config import refusal_text
from core.settings import COMMUNITY, CommunitySettings, DispatchSettings, MatchingWeights
from core.settings_schema import Kind, SettingError, Spec, undeclared
from tests.helpers import Bot

# Values a `check` refuses, and one it accepts, for the settings whose rule is not a bound.
BAD = {"timezone": "Mars/Base", "schedule": "every day", "url": "mysql://x",
       "api_base_url": "ftp://x", "gateway_url": "http://x", "path": "slack/events",
       "video_link_template": "http://meet.example.org/{session_uid}"}
GOOD = {"timezone": "Europe/London", "schedule": "*/30 9-17 * * 1-5",
        "url": "postgresql+asyncpg://pm@127.0.0.1/pm", "api_base_url": "http://127.0.0.1:1/",
        "gateway_url": "ws://127.0.0.1:1", "path": "/events",
        "video_link_template": "https://meet.example.org/room-{session_uid}"}


@dataclass(frozen=True)
class Case:
    section: str
    spec: Spec
    raw: Any  # as TOML gives it
    valid: bool

    @property
    def text(self) -> str:
        """The same value as typed in the environment or in chat."""
        if isinstance(self.raw, list):
            return ", ".join(_text(v) for v in self.raw)
        if isinstance(self.raw, dict):
            return ", ".join(f"{k} = {v}" for k, v in self.raw.items())
        return _text(self.raw)

    def __str__(self) -> str:
        return f"{self.section}.{self.spec.name}={self.text!r}"


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _number(kind: Kind, x: float) -> int | float:
    return int(x) if kind is Kind.INT else x


def _fits(section: str, spec: Spec, value: Any) -> bool:
    """A valid value must also pass the cross-field rule with the other defaults."""
    if section != "community":
        return True
    return replace(CommunitySettings(), **{spec.name: spec.parse(value)}).problem() is None


def _cases_for(section: str, spec: Spec) -> list[Case]:
    kind = spec.kind
    item = spec.item if kind is Kind.LIST else kind
    wrap = (lambda v: [v]) if kind is Kind.LIST else (lambda v: v)
    bad: list[Any] = []
    good: list[Any] = []
    if item in (Kind.INT, Kind.FLOAT):
        step = 1 if item is Kind.INT else 0.5
        if spec.lo is not None:
            bad.append(wrap(_number(item, spec.lo - step)))
            good.append(wrap(_number(item, spec.lo)))
        if spec.hi is not None:
            bad.append(wrap(_number(item, spec.hi + step)))
            good.append(wrap(_number(item, spec.hi)))
        bad.append(wrap("soon"))
    elif kind is Kind.BOOL:
        bad.append("maybe")
        good.append(not spec.default)
    elif kind is Kind.TABLE:
        bad.append("no equals sign")
        good.append({"Calculus I": "calculus"})
    elif spec.choices:
        bad.append(wrap("nonsense"))
        good.append(wrap(spec.choices[-1]))
    elif spec.name in BAD:
        bad.append(BAD[spec.name])
        good.append(GOOD[spec.name])
    else:
        good.append(wrap("Something else"))
    if kind is Kind.LIST and spec.min_items:
        bad.append([])
    fitting = [g for g in good if _fits(section, spec, g)]
    return ([Case(section, spec, b, False) for b in bad]
            + [Case(section, spec, g, True) for g in fitting[:1]])


CASES = [c for section, schema in SCHEMAS.items() for spec in schema
         for c in _cases_for(section, spec)]
CHAT_CASES = [c for c in CASES if c.section == "community" and c.spec.chat and c.text]


def _from_file(tmp_path: Path, case: Case) -> Any:
    file = tmp_path / "config.toml"
    file.write_text(f"[{case.section}]\n{case.spec.name} = {_toml(case.raw)}\n", encoding="utf-8")
    cfg = load_config(file, env={}, dotenv=False)
    return getattr(getattr(cfg, case.section), case.spec.name)


def _from_env(tmp_path: Path, case: Case) -> Any:
    env = {env_name(case.section, case.spec.name): case.text,
           "PEERMATCH_CONFIG": str(tmp_path / "none.toml")}
    cfg = load_config(None, env=env, dotenv=False)
    return getattr(getattr(cfg, case.section), case.spec.name)


def _message(case: Case) -> str:
    with pytest.raises(SettingError) as exc:
        case.spec.parse(case.raw)
    return exc.value.message


def test_every_setting_is_declared_once_with_its_help() -> None:
    for cls in (CommunitySettings, MatchingWeights, DispatchSettings):
        assert undeclared(cls) == []
    assert all(spec.help for schema in SCHEMAS.values() for spec in schema)
    assert {c.spec.name for c in CASES if not c.valid} >= {
        "session_minutes", "min_overlap_hours", "suggested_times", "max_supporter_capacity",
        "checkin_after_days", "group_min", "group_max", "group_default", "timezone",
        "schedule", "space_mode", "modes", "reminder_offsets_minutes", "url", "platforms"}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_file_and_environment_agree(tmp_path: Path, case: Case) -> None:
    if case.valid:
        expected = case.spec.parse(case.raw)
        assert case.spec.parse(case.text) == expected
        assert _from_file(tmp_path, case) == expected
        assert _from_env(tmp_path, case) == expected
        return
    message = _message(case)
    with pytest.raises(SettingError, match="^" + re.escape(message) + "$"):
        case.spec.parse(case.text)  # the text form is refused with the very same words
    with pytest.raises(ConfigError) as from_file:
        _from_file(tmp_path, case)
    assert str(from_file.value) == f"{case.section}.{case.spec.name}: {message}"
    with pytest.raises(ConfigError) as from_env:
        _from_env(tmp_path, case)
    assert str(from_env.value) == f"{env_name(case.section, case.spec.name)}: {message}"


async def _stored(bot: Bot) -> dict[str, Any]:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        entries = await uow.audit.list(community.id)
        return {"settings": dict(community.settings), "audit": len(entries)}


@pytest.mark.parametrize("case", CHAT_CASES, ids=str)
async def test_chat_agrees_with_the_file(memory_storage, case: Case) -> None:
    bot = Bot(memory_storage)
    name = case.spec.name
    assert (await bot.run("mod", "peeradmin config")).ok
    before = await _stored(bot)
    reply = await bot.run("mod", "peeradmin config", key=name, value=case.text)
    if case.valid:
        assert reply.ok, reply.text
        async with bot.storage.uow_factory() as uow:
            community = await uow.communities.by_external("test", bot.community)
        applied = bot.services.defaults.with_overrides(community.settings)
        assert getattr(applied, name) == case.spec.parse(case.raw)
        return
    assert not reply.ok
    assert reply.text == refusal_text(name, _message(case))
    assert await _stored(bot) == before  # nothing saved, nothing audited


async def test_session_minutes_0_is_refused_in_chat_with_the_config_files_message(
        memory_storage, tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text("[community]\nsession_minutes = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(file, env={}, dotenv=False)
    file_message = str(exc.value).removeprefix("community.session_minutes: ")
    assert file_message == 'must be a whole number from 15 to 720, not "0"'
    reply = await Bot(memory_storage).run("mod", "peeradmin config", key="session_minutes",
                                          value="0")
    assert not reply.ok and file_message in reply.text


@pytest.mark.parametrize(("key", "value"), [("group_min", 6), ("group_max", 3),
                                            ("group_default", 2)])
async def test_group_sizes_cross_rule_is_the_same_everywhere(memory_storage, tmp_path: Path,
                                                             key: str, value: int) -> None:
    problem = replace(CommunitySettings(), **{key: value}).problem()
    assert problem is not None and "group_min ≤ group_default ≤ group_max" in problem
    file = tmp_path / "config.toml"
    file.write_text(f"[community]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(file, env={}, dotenv=False)
    with pytest.raises(ConfigError, match=problem):
        load_config(None, env={env_name("community", key): str(value),
                               "PEERMATCH_CONFIG": str(tmp_path / "none.toml")}, dotenv=False)
    bot = Bot(memory_storage)
    assert (await bot.run("mod", "peeradmin config")).ok
    reply = await bot.run("mod", "peeradmin config", key=key, value=str(value))
    assert not reply.ok and problem in reply.text
    assert (await _stored(bot))["settings"] == {}


async def test_file_only_settings_are_not_offered_in_chat(memory_storage) -> None:
    bot = Bot(memory_storage)
    for spec in COMMUNITY:
        if not spec.chat:
            reply = await bot.run("mod", "peeradmin config", key=spec.name, value="1")
            assert not reply.ok and "no setting" in reply.text


async def test_chat_values_survive_the_database(storage) -> None:
    # Stored as JSON (lists, strings), read back through the same specs.
    bot = Bot(storage)
    for key, value in [("modes", "study-buddy, need-support"), ("session_minutes", "45"),
                       ("reminder_offsets_minutes", "120, 15"), ("instant_match", "yes")]:
        assert (await bot.run("mod", "peeradmin config", key=key, value=value)).ok
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
    applied = bot.services.defaults.with_overrides(community.settings)
    assert [m.value for m in applied.modes] == ["study-buddy", "need-support"]
    assert (applied.session_minutes, applied.reminder_offsets_minutes) == (45, (120, 15))
    assert applied.instant_match is True


def test_stored_overrides_are_parsed_and_an_invalid_one_is_refused_or_skipped() -> None:
    defaults = CommunitySettings()
    with pytest.raises(SettingError, match="from 15 to 720"):
        defaults.with_overrides({"session_minutes": 0})
    lenient = defaults.with_overrides({"session_minutes": 0, "suggested_times": 5,
                                       "colour": "blue"}, skip_invalid=True)
    assert (lenient.session_minutes, lenient.suggested_times) == (60, 5)


def test_a_stored_schedule_that_no_longer_parses_turns_automatic_rounds_off() -> None:
    assert CommunitySettings().with_overrides({"schedule": "nope"},
                                              skip_invalid=True).schedule == "off"
