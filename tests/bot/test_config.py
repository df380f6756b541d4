"""Configuration: defaults run, file and environment override, bad values named, secrets
kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config


def test_defaults_run_without_a_file(tmp_path: Path) -> None:
    cfg = load_config(env={"PEERMATCH_CONFIG": str(tmp_path / "none.toml")}, dotenv=False)
    assert cfg.community.group_max == 5 and cfg.database.url.startswith("sqlite+aiosqlite")


def test_example_config_is_valid_and_equals_the_defaults() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    cfg = load_config(example, env={}, dotenv=False)
    assert cfg == load_config(env={"PEERMATCH_CONFIG": "/nonexistent.toml"}, dotenv=False)


def test_file_then_environment(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('[community]\ngroup_max = 4\ntopics = ["Rust"]\n[matching]\nbase = 20\n')
    cfg = load_config(file, env={"PEERMATCH_COMMUNITY_GROUP_MAX": "3",
                                 "PEERMATCH_COMMUNITY_GROUP_DEFAULT": "3",
                                 "SLACK_BOT_TOKEN": "xoxb-1"}, dotenv=False)
    assert cfg.community.group_max == 3 and cfg.community.topics == ("Rust",)
    assert cfg.community_defaults.weights.base == 20
    assert cfg.secrets == {"SLACK_BOT_TOKEN": "xoxb-1"}


@pytest.mark.parametrize(("toml", "key"), [
    ("[community]\ngroup_max = 'many'", "community.group_max"),
    ("[community]\ntimezone = 'Mars/Base'", "community.timezone"),
    ("[community]\ncolour = 'blue'", "community.colour"),
    ("[community]\ngroup_min = 6", "community.group_min"),
    ("[bot]\nplatforms = ['irc']", "bot.platforms"),
    ("[database]\nurl = 'mysql://x'", "database.url"),
    ("[discord]\ntoken = 'abc'", "discord.token"),
    ("[community\n", "config.toml"),
])
def test_invalid_values_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    file = tmp_path / "config.toml"
    file.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_config(file, env={}, dotenv=False)
    assert key in str(exc.value)


def test_cli_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "config.toml"
    file.write_text("[community]\ngroup_max = 'many'\n")
    assert main(["--config", str(file), "round", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "community.group_max" in err[0]


def test_environment_value_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PEERMATCH_COMMUNITY_SESSION_MINUTES"):
        load_config(None,
                    env={"PEERMATCH_COMMUNITY_SESSION_MINUTES": "soon",
                         "PEERMATCH_CONFIG": str(tmp_path / "none.toml")}, dotenv=False)
