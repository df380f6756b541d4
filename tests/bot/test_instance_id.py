"""``[bot] instance_id``: the name a process gives its outbox claims, so that a restart takes
back its own dead claims at once. Derived by default from the host and the database, stable
across restarts, never carrying the database password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, ConfigError, instance_id, load_config

PG = "postgresql+asyncpg://peermatch:s3cret-pw@db.internal:5432/peermatch"


def _config(tmp_path: Path, **env: str) -> Config:
    return load_config(env={"PEERMATCH_CONFIG": str(tmp_path / "none.toml"), **env},
                       dotenv=False)


def test_the_default_is_stable_per_host_and_database_and_hides_the_password(
        tmp_path: Path) -> None:
    one = instance_id(_config(tmp_path, PEERMATCH_DATABASE_URL=PG))
    again = instance_id(_config(tmp_path, PEERMATCH_DATABASE_URL=PG))
    other_db = instance_id(_config(tmp_path))
    assert one == again and one != other_db  # a restart finds its claims; databases differ
    assert "s3cret" not in one and "peermatch" not in one.split(":")[-1]
    assert 0 < len(one) <= 64  # fits outbox.claimed_by


def test_a_configured_instance_id_wins_and_is_bounded(tmp_path: Path) -> None:
    cfg = _config(tmp_path, PEERMATCH_BOT_INSTANCE_ID="worker-2")
    assert instance_id(cfg) == "worker-2"
    with pytest.raises(ConfigError) as refused:
        _config(tmp_path, PEERMATCH_BOT_INSTANCE_ID="x" * 65)
    assert refused.value.key == "PEERMATCH_BOT_INSTANCE_ID"
