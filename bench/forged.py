"""1,000 hostile requests against the served Slack app (issue 11, "Done when").

    .venv/bin/python bench/forged.py            # 1,000 requests, 20 at a time
    .venv/bin/python bench/forged.py -n 5000 --concurrency 50 --seed 3

The real HTTP-mode app (adapters/slack/runner.py → gate.py → Bolt) is served on a free
port, on SQLite in a temporary directory, with its Web API pointed at the fake Slack of the
tests. One legitimate ``/peer status`` first (so the community exists and Bolt has said
``auth.test``), then a seeded mix of forged, stale, tampered, unsigned, oversized and
signed-but-malformed requests. Printed: counts per status, requests the gate let through,
row changes in every table, Web API and response_url calls to the fake Slack, tracebacks
and the marker planted in every hostile body found in the log, and the log's growth.
Target: 0 accepted, 0 row changes, 0 calls, 0 tracebacks, 0 5xx, log growth < 100 kB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.slack import gate  # noqa: E402
from adapters.slack.app import build_app, drain  # noqa: E402
from adapters.slack.runner import start_http  # noqa: E402
from adapters.slack.settings import SlackSettings  # noqa: E402
from adapters.sql import migrate  # noqa: E402
from adapters.sql.uow import SqlStorage  # noqa: E402
from bot.app import SystemClock  # noqa: E402
from core.services.context import Services  # noqa: E402
from core.settings import CommunitySettings  # noqa: E402
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MARK = "FORGED-MARK-91c2"
Request = tuple[bytes, dict[str, str]]


def sign(body: bytes, *, secret: str = SECRET, timestamp: int | None = None,
         content_type: str = FORM) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (hmac directly: the bytes may not be UTF-8)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"content-type": content_type, "x-slack-request-timestamp": ts,
            "x-slack-signature": "v0=" + digest.hexdigest()}


def slash(rng: random.Random, **overrides: Any) -> bytes:
    fields = {"team_id": "T1", "channel_id": "C0GENERAL", "user_id": rng.choice(["U1", "U2"]),
              "user_name": "ada", "command": "/peer",
              "text": rng.choice(["join study-buddy", "admin ban U2", "forget", "status"])
              + f" {MARK}", "response_url": "http://127.0.0.1:1/nowhere", "trigger_id": "t"}
    fields.update(overrides)
    return urlencode({k: v for k, v in fields.items() if v is not None}).encode()


def payload(kind: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": kind, "team": {"id": "T1"}, "user": {"id": "U1"},
                            "trigger_id": "t", "api_app_id": "A1"}
    if kind == "block_actions":
        base["actions"] = [{"action_id": "pm:join:0", "value": json.dumps({"c": "forget"})}]
    else:
        base["view"] = {"type": "modal", "callback_id": "pmform:join", "blocks": [],
                        "state": {"values": {}}, "private_metadata": MARK}
    return {**base, **overrides}


def form(value: Any) -> bytes:
    return urlencode({"payload": json.dumps(value)}).encode()


def malformed(rng: random.Random) -> bytes:
    """A payload Slack's signature would cover but our listeners cannot use."""
    return rng.choice([
        lambda: slash(rng, user_id=None), lambda: slash(rng, user_id="None"),
        lambda: slash(rng, team_id=None), lambda: slash(rng, channel_id=""),
        lambda: slash(rng, command="/other"),
        lambda: urlencode({"payload": '{"type": "block_actions", ' + MARK}).encode(),
        lambda: form([MARK]), lambda: form(payload(MARK)),
        lambda: form(payload("block_actions", user=MARK)),
        lambda: form(payload("block_actions", actions=[{"action_id": MARK}])),
        lambda: form(payload("block_actions", channel=[MARK])),
        lambda: form(payload("view_submission", view={"callback_id": MARK, "type": "modal"})),
        lambda: form(payload("view_submission", view={"type": "modal", "callback_id": "x",
                                                      "state": {"values": [MARK]}})),
        lambda: json.dumps({"type": "event_callback", "team_id": "T1",
                            "event": {"type": "app_home_opened", "note": MARK}}).encode(),
        lambda: ("[" * 20_000).encode(),
    ])()


def kinds(rng: random.Random) -> dict[str, Callable[[], Request]]:
    now = int(time.time())

    def tampered() -> Request:
        body = slash(rng)
        return body.replace(b"user_id=U", b"user_id=UADMIN"), sign(body)

    def oversized_actual() -> Request:
        body = slash(rng, text=MARK * 20_000)
        return body, sign(body)

    def malformed_signed() -> Request:
        body = malformed(rng)
        return body, sign(body, content_type=JSON if body[:1] in b"{[" else FORM)

    return {
        "forged signature": lambda: (slash(rng), {"content-type": FORM,
                                                  "x-slack-request-timestamp": str(now),
                                                  "x-slack-signature": "v0=" + "0" * 64}),
        "stale (6 min)": lambda: (b := slash(rng), sign(b, timestamp=now - 360)),
        "wrong secret": lambda: (b := slash(rng), sign(b, secret="guess")),
        "tampered body": tampered,
        "unsigned truncated json": lambda: (b'{"type": "' + MARK.encode(), {"content-type": JSON}),
        "timestamp abc": lambda: (slash(rng), {"content-type": FORM,
                                               "x-slack-request-timestamp": "abc",
                                               "x-slack-signature": "v0=" + "1" * 64}),
        "unsigned junk bytes": lambda: (rng.randbytes(200) + MARK.encode(),
                                        {"content-type": FORM}),
        "oversized (300 KB)": oversized_actual,
        "signed, not utf-8": lambda: (b := slash(rng) + b"\xff\xfe", sign(b)),
        "signed, malformed": malformed_signed,
    }


def row_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        # Table names come from sqlite_master, not from a request.
        count = 'SELECT count(*) FROM "{}"'
        return {t: conn.execute(count.format(t)).fetchone()[0] for t in tables}
    finally:
        conn.close()


async def run(n: int, concurrency: int, seed: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="forged-"))
    db, log_path = tmp / "bench.db", tmp / "bot.log"
    url = f"sqlite+aiosqlite:///{db}"
    migrate.upgrade(url)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    fake = await FakeSlack().start()
    for uid, name in (("U1", "Ada"), ("U2", "Bo"), ("UADMIN", "Admin")):
        fake.add_user(uid, name, admin=uid == "UADMIN")
    storage = SqlStorage(url)
    services = Services(storage.uow_factory, SystemClock(),
                        CommunitySettings(commands_per_minute=0))
    settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SECRET, mode="http", port=0,
                             host="127.0.0.1", api_base_url=fake.api_url)
    app = build_app(services, settings)
    server = await start_http(app, settings)
    endpoint = f"http://127.0.0.1:{server.port}{settings.path}"
    rng = random.Random(seed)
    makers = kinds(rng)
    statuses: Counter[tuple[str, int]] = Counter()
    try:
        async with aiohttp.ClientSession() as session:
            legit = slash(rng, text="status", response_url=fake.response_url("legit"))
            async with session.post(endpoint, data=legit, headers=sign(legit)) as resp:
                assert resp.status == 200, resp.status
            await drain(app)
            before_rows, before_calls = row_counts(db), len(fake.calls) + len(fake.responses)
            served = server.runner.app[gate.GATE]
            before_accepted = served.tally["accepted"]
            log_before = log_path.stat().st_size
            plan = [rng.choice(list(makers)) for _ in range(n)]
            limit = asyncio.Semaphore(concurrency)

            async def one(kind: str) -> None:
                body, headers = makers[kind]()
                async with limit:
                    try:
                        async with session.post(endpoint, data=body, headers=headers) as resp:
                            await resp.read()
                            statuses[(kind, resp.status)] += 1
                    except aiohttp.ClientError as exc:
                        statuses[(kind, -1)] += 1
                        print(f"client error on {kind}: {exc!r}", file=sys.stderr)

            started = time.perf_counter()
            await asyncio.gather(*(one(k) for k in plan))
            elapsed = time.perf_counter() - started
            await drain(app)
        log_text = log_path.read_text(errors="replace")
        after_rows = row_counts(db)
        return {
            "requests": n, "seconds": round(elapsed, 2), "by_kind": statuses,
            "accepted": served.tally["accepted"] - before_accepted,
            "row_changes": {t: after_rows[t] - before_rows.get(t, 0) for t in after_rows
                            if after_rows[t] != before_rows.get(t, 0)},
            "api_calls": len(fake.calls) + len(fake.responses) - before_calls,
            "tracebacks": log_text.count("Traceback"), "marker_in_log": log_text.count(MARK),
            "token_in_log": log_text.count(BOT_TOKEN) + log_text.count(SECRET),
            "log_growth_bytes": log_path.stat().st_size - log_before,
            "gate_tally": dict(served.tally),
        }
    finally:
        await server.stop()
        await storage.dispose()
        await fake.stop()


def report(result: dict[str, Any]) -> bool:
    by_status: Counter[int] = Counter()
    print(f"{result['requests']} hostile requests in {result['seconds']} s")
    print(f"{'kind':<26} status  count")
    for (kind, status), count in sorted(result["by_kind"].items()):
        by_status[status] += count
        print(f"{kind:<26} {status:>6}  {count:>5}")
    print("per status:", dict(sorted(by_status.items())))
    fivexx = sum(c for s, c in by_status.items() if s >= 500 or s < 0)
    for name in ("accepted", "row_changes", "api_calls", "tracebacks", "marker_in_log",
                 "token_in_log", "log_growth_bytes", "gate_tally"):
        print(f"{name}: {result[name]}")
    print(f"5xx or dropped: {fivexx}")
    ok = (result["accepted"] == 0 and not result["row_changes"] and result["api_calls"] == 0
          and result["tracebacks"] == 0 and fivexx == 0 and result["marker_in_log"] == 0
          and result["token_in_log"] == 0 and result["log_growth_bytes"] < 100_000)
    print("target met" if ok else "TARGET MISSED")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sys.exit(0 if report(asyncio.run(run(args.n, args.concurrency, args.seed))) else 1)


if __name__ == "__main__":
    main()
