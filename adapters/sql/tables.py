"""The database schema as SQLAlchemy Core tables (one MetaData, with a naming convention
so that Alembic names every constraint and index the same way on SQLite and PostgreSQL).

Enumerations are stored as plain strings (no database ENUM types: adding a mode must not
need a migration), ids from platforms as strings, datetimes as aware UTC (``UtcDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zone type: values are stored as naive UTC text (so that text order is
    time order) and come back with ``tzinfo=UTC``. PostgreSQL stores ``timestamptz``; values
    are normalised to UTC on the way out. Naive datetimes are refused: they are a bug (rule 4).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    # SQLAlchemy's TypeDecorator signature; reading back is the same on every dialect.
    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _fk(column: str, target: str, *, cascade: bool = False, nullable: bool = False,
        index: bool = True) -> Column[Any]:
    ondelete = "CASCADE" if cascade else None
    return Column(column, Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable,
                  index=index)


communities = Table(
    "communities", metadata,
    _id(),
    Column("platform", String(20), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    UniqueConstraint("platform", "external_id"),
)

learners = Table(
    "learners", metadata,
    _id(),
    _fk("community_id", "communities.id", index=False),  # leads the unique constraint
    Column("platform_user_id", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("is_moderator", Boolean, nullable=False),
    Column("banned", Boolean, nullable=False),
    Column("ban_reason", Text, nullable=False),
    Column("paused_until", UtcDateTime, nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=True),
    Column("pause_reason", Text, nullable=False, server_default=""),  # migration 0006
    UniqueConstraint("community_id", "platform_user_id"),
    # The paused of a community, for the moderators' queue view (migration 0015).
    Index("ix_learners_community_paused", "community_id", "id",
          sqlite_where=text("pause_reason <> ''"), postgresql_where=text("pause_reason <> ''")),
)

# Learner-owned rows cascade when a learner is deleted (/peer forget), so forgetting
# cannot be blocked by a row some use case forgot to clean up.
profiles = Table(
    "profiles", metadata,
    Column("learner_id", Integer, ForeignKey("learners.id", ondelete="CASCADE"),
           primary_key=True),
    Column("mode", String(32), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("languages", JSON, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("availability", Text, nullable=False),
    Column("cohort", String(100), nullable=False),
    Column("country", String(100), nullable=False),
    Column("setup", String(20), nullable=False),
    Column("support_kind", String(100), nullable=False),
    Column("goal", Text, nullable=False),
    Column("group_size", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("contact", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("rotate_partners", Boolean, nullable=False, server_default=false()),  # 0006
    Column("styles", JSON, nullable=False, server_default=text("'[]'")),  # 0009
)

queue_entries = Table(
    "queue_entries", metadata,
    _id(),
    _fk("learner_id", "learners.id", cascade=True),
    _fk("community_id", "communities.id", index=False),
    Column("mode", String(32), nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("unmatched_reason", Text, nullable=False),
    Column("skip_at", UtcDateTime, nullable=True),  # migration 0006: /peer skip
    Index("ix_queue_entries_community_state", "community_id", "state", "joined_at"),
    # Stats group a community's entries by learner (migration 0011): read from the index.
    Index("ix_queue_entries_community_learner_state", "community_id", "learner_id", "state"),
    # One open request per learner, whatever process or race wrote it.
    Index("uq_queue_entries_one_waiting", "learner_id", unique=True,
          sqlite_where=text("state = 'waiting'"), postgresql_where=text("state = 'waiting'")),
)

rounds = Table(
    "rounds", metadata,
    _id(),
    _fk("community_id", "communities.id"),
    Column("seed", BigInteger, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("figures", JSON, nullable=False),
)

matches = Table(
    "matches", metadata,
    _id(),
    _fk("community_id", "communities.id", index=False),
    Column("round_id", Integer, ForeignKey("rounds.id", ondelete="SET NULL"), nullable=True,
           index=True),
    Column("kind", String(32), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("suggested_times", JSON, nullable=False),  # [[iso start, iso end], ...]
    Column("score", Float, nullable=False),
    Column("space_id", String(64), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("ended_reason", Text, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_matches_community_state", "community_id", "state"),
)

match_members = Table(
    "match_members", metadata,
    _fk("match_id", "matches.id", cascade=True, index=False),  # leads the primary key
    _fk("learner_id", "learners.id", cascade=True),
    Column("role", String(16), nullable=False),
    Column("alias", String(100), nullable=False),
    Column("position", Integer, nullable=False),  # keeps Match.members in its given order
    Column("answered_at", UtcDateTime, nullable=True),  # migration 0006
    PrimaryKeyConstraint("match_id", "learner_id"),
)

blocks = Table(
    "blocks", metadata,
    _fk("community_id", "communities.id", index=False),  # leads the primary key
    _fk("learner_a", "learners.id", cascade=True),
    _fk("learner_b", "learners.id", cascade=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("community_id", "learner_a", "learner_b"),
    # A pair is stored once, smaller id first, so the key is unique whichever way round.
    CheckConstraint("learner_a < learner_b", name="ordered"),
)

# Blocks that outlive /peer forget (core/services/tombstones.py): a forgotten side is a keyed
# hash only. ``other_learner_id`` has no ON DELETE: forgetting that learner rewrites the row
# first, so a deletion that skipped it fails loudly instead of losing the block.
tombstones = Table(
    "tombstones", metadata,
    _id(),
    _fk("community_id", "communities.id", cascade=True, index=False),
    Column("subject", String(64), nullable=False),
    _fk("other_learner_id", "learners.id", nullable=True),
    Column("other_subject", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_tombstones_community_subject", "community_id", "subject"),
    Index("ix_tombstones_community_other_subject", "community_id", "other_subject"),
)

# Secrets this installation made for itself (the tombstone key), one row per name.
secrets = Table(
    "secrets", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    _id(),
    _fk("match_id", "matches.id", cascade=True),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    # No foreign key: the session stays for the partner when its booker is forgotten.
    Column("booked_by", Integer, nullable=False),
    Column("ics_uid", String(200), nullable=False, unique=True),
    Column("sequence", Integer, nullable=False),
    Column("state", String(16), nullable=False),
)

# Session times proposed in a match, booked once every member accepts (migration 0007).
session_proposals = Table(
    "session_proposals", metadata,
    _id(),
    _fk("match_id", "matches.id", cascade=True),
    # No foreign keys: a proposal outlives its proposer being forgotten, as a session does.
    Column("proposed_by", Integer, nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("accepted", JSON, nullable=False),  # learner ids who said yes
    Column("session_id", Integer, nullable=True),  # the session it moves, if a reschedule
    Column("state", String(16), nullable=False),
    Column("decided_by", Integer, nullable=True),
)

feedback = Table(
    "feedback", metadata,
    _id(),
    _fk("match_id", "matches.id", cascade=True, index=False),  # leads the unique constraint
    # 0 means "about the match, no session": NULL would defeat the unique constraint
    # (NULLs are all distinct), so there is no foreign key on this column.
    Column("session_id", Integer, nullable=False),
    _fk("from_learner", "learners.id", cascade=True),
    _fk("to_learner", "learners.id", cascade=True),
    Column("scores", JSON, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("match_id", "session_id", "from_learner", "to_learner"),
)

outbox = Table(
    "outbox", metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    _fk("community_id", "communities.id"),
    Column("target", String(64), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    # The delivery journal (migration 0004; core.model.OutboxMessage says what each means).
    Column("claim_token", String(32), nullable=False, server_default=""),
    Column("claimed_by", String(64), nullable=False, server_default=""),
    Column("attempt_started_at", UtcDateTime, nullable=True),
    Column("progress", JSON, nullable=False, server_default="{}"),
    Index("ix_outbox_state_due_at", "state", "due_at"),  # what the dispatcher polls
    # Due rows of one kind in the order ``take_due`` takes them (migration 0012).
    Index("ix_outbox_state_kind_due_at", "state", "kind", "due_at", "id"),
)

# Work accepted before an ack and run from here (core/accepted.py; migration 0006).
accepted_work = Table(
    "accepted_work", metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("community_external_id", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("reply_to", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claim_token", String(32), nullable=False),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("result", JSON, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_accepted_work_state_accepted_at", "state", "accepted_at"),  # what runners poll
)

audit = Table(
    "audit", metadata,
    _id(),
    _fk("community_id", "communities.id"),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# Who attends each *booked* session: one row per member, with the session's times.
# Database triggers keep it in step with ``sessions`` and ``match_members`` (nobody writes
# it from Python), and the no-double-booking rule is enforced on it: an exclusion
# constraint on PostgreSQL, a trigger on SQLite. See migrations/versions/0002 for why.
session_attendees = Table(
    "session_attendees", metadata,
    _fk("session_id", "sessions.id", cascade=True, index=False),  # leads the primary key
    _fk("learner_id", "learners.id", cascade=True),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("session_id", "learner_id"),
)

# One row per seat a learner holds in an ACTIVE match: (learner, mode) is the primary key,
# so nobody is in two active matches of one mode, whatever process or race wrote them. A
# supporter has several seats (capacity) and holds none here. Triggers keep it in step with
# ``matches`` and ``match_members`` (nobody writes it from Python); see migration 0005.
active_memberships = Table(
    "active_memberships", metadata,
    _fk("learner_id", "learners.id", cascade=True, index=False),  # leads the primary key
    Column("kind", String(32), nullable=False),
    _fk("match_id", "matches.id", cascade=True),
    PrimaryKeyConstraint("learner_id", "kind"),
)

# Office hours (core/office_hours.py; migration 0010): a supporter's weekly rule, its
# occurrences computed; the occurrences called off in ``cancelled`` (UTC starts).
office_hours = Table(
    "office_hours", metadata,
    _id(),
    _fk("community_id", "communities.id", cascade=True),
    _fk("supporter_id", "learners.id", cascade=True),
    Column("weekday", Integer, nullable=False),
    Column("start_minute", Integer, nullable=False),
    Column("end_minute", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("every_weeks", Integer, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("topic", String(80), nullable=False),
    Column("first_day", String(10), nullable=False),  # ISO local date of the first occurrence
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    CheckConstraint("seats >= 1", name="seats_positive"),
)

# One row per seat a learner booked in one occurrence. Partial unique indexes keep a booked
# seat number (1..seats, checked by trigger) and a learner once per occurrence; triggers
# refuse a seat overlapping another booked seat or session of the learner (migration 0010).
office_hour_seats = Table(
    "office_hour_seats", metadata,
    _id(),
    _fk("office_hour_id", "office_hours.id", cascade=True, index=False),  # leads the indexes
    _fk("learner_id", "learners.id", cascade=True),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("seat_no", Integer, nullable=False),
    Column("ics_uid", String(200), nullable=False, unique=True),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    CheckConstraint("seat_no >= 1", name="seat_no_positive"),
    Index("uq_office_hour_seats_seat", "office_hour_id", "start", "seat_no", unique=True,
          sqlite_where=text("state = 'booked'"), postgresql_where=text("state = 'booked'")),
    Index("uq_office_hour_seats_learner", "office_hour_id", "start", "learner_id", unique=True,
          sqlite_where=text("state = 'booked'"), postgresql_where=text("state = 'booked'")),
)

# A support match offered to a supporter, OPEN until they accept (the match is made), decline
# or let it expire (migration 0009, core/services/support_offers.py). ``excluded``: the
# supporters who already said no (or stayed silent) to this learner's request.
support_offers = Table(
    "support_offers", metadata,
    _id(),
    _fk("community_id", "communities.id"),
    _fk("learner_id", "learners.id", cascade=True),
    _fk("supporter_id", "learners.id", cascade=True),
    Column("entry_id", Integer, nullable=False),  # the learner's queue entry, held meanwhile
    Column("kind", String(32), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("times", JSON, nullable=False),  # [[start iso, end iso], ...] UTC
    Column("score", Float, nullable=False),
    Column("excluded", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("match_id", Integer, nullable=True),
    Column("round_id", Integer, nullable=True),
    Index("uq_support_offers_open_learner", "learner_id", unique=True,
          sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
)

# Supporters a moderator verified, for every topic (``topics`` empty) or the ones listed.
verified_supporters = Table(
    "verified_supporters", metadata,
    Column("learner_id", Integer, ForeignKey("learners.id", ondelete="CASCADE"),
           primary_key=True),
    _fk("community_id", "communities.id"),
    Column("topics", JSON, nullable=False),
    Column("verified_by", String(64), nullable=False),
    Column("verified_at", UtcDateTime, nullable=False),
)
