"""The example config, the README table and the chat help say what the specs say."""

from __future__ import annotations

import tomllib

from bot.config import SCHEMAS
from bot.settings_docs import ROOT, example_toml, readme_table
from core.settings import COMMUNITY
from tests.helpers import Bot


def test_config_example_is_the_generated_one() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert text == example_toml(), "run: python -m bot.settings_docs"


def test_config_example_has_every_setting_with_its_default_and_bounds() -> None:
    # Checked on the file itself, not through the generator.
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert set(data) == set(SCHEMAS)
    flat = " ".join(line.lstrip("#").strip() for line in text.splitlines())
    for section, schema in SCHEMAS.items():
        assert set(data[section]) == set(schema.specs), section
        for spec in schema:
            assert data[section][spec.name] == spec.stored(spec.default), f"{section}.{spec.name}"
            assert f"Allowed: {spec.allowed()}." in flat, f"{section}.{spec.name}"


def test_readme_table_lists_every_chat_setting_with_default_and_bounds() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "run: python -m bot.settings_docs"
    rows = {line.split("|")[1].strip().strip("`"): line for line in readme.splitlines()
            if line.startswith("| `")}
    for spec in COMMUNITY:
        if spec.chat:
            assert spec.allowed() in rows[spec.name]
    assert "| 15 " not in rows["session_minutes"] and "from 15 to 720" in rows["session_minutes"]


async def test_chat_help_is_the_spec(memory_storage) -> None:
    bot = Bot(memory_storage)
    listing = (await bot.run("mod", "peeradmin config")).text
    for spec in COMMUNITY:
        assert (f"`{spec.name}` =" in listing) is spec.chat
    one = (await bot.run("mod", "peeradmin config", key="session_minutes")).text
    spec = COMMUNITY.spec("session_minutes")
    assert "`session_minutes` = 60" in one and spec.help in one and spec.allowed() in one
