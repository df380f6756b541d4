"""Office hours: ``office_hours``, ``office_hour_seats`` and their guards.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A supporter publishes a weekly rule (core/office_hours.py); learners book a seat in one
occurrence. The core checks everything first (core/services/office_hours.py); the database
has the last word for the races, on both backends:

- seats never oversold: a booked seat has a number 1..seats, unique per occurrence
  (``uq_office_hour_seats_seat``, a partial unique index), and a trigger refuses a number
  above the series' seats; two learners booking the last seat at once write the same
  number, and the second write fails;
- one seat per learner per occurrence (``uq_office_hour_seats_learner``);
- no double booking: a seat may not overlap another booked seat of the learner, nor a
  booked session they attend (``session_attendees`` of migration 0002); a new session
  attendee row may not overlap a booked seat either. PostgreSQL checks this in triggers
  under a per-learner advisory transaction lock (taken by both sides), so the second of
  two concurrent writers waits for the first to commit and then sees its row: a check in a
  trigger without the lock could race under READ COMMITTED. SQLite runs one writer at a
  time, so its triggers cannot race.
- the 0002 trigger that copies a match's booked sessions to a member (re)written into it
  skips a session overlapping one of their seats, as it already skips overlapping sessions
  (a member rewrite must never fail).

Errors are raised as integrity errors (PostgreSQL ``exclusion_violation`` /
``check_violation``; SQLite ``RAISE(ABORT)``), which the repositories turn into
``StorageConflict``. It follows 0009 (support offers).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEAT_OVERLAP = """
    SELECT 1 FROM office_hour_seats o
    WHERE o.learner_id = {who} AND o.state = 'booked'
      AND o.start < {end} AND {start} < o."end"
"""

_MEMBER_SEAT = _SEAT_OVERLAP.format(who="NEW.learner_id", start="s.start", end='s."end"')

_PG_LOCK = "PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '/pm-busy'), {who});"

_PG = [
    f"""
    CREATE FUNCTION pm_office_hour_seat_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state <> 'booked' THEN
            RETURN NEW;
        END IF;
        {_PG_LOCK.format(who='NEW.learner_id')}
        IF NEW.seat_no > (SELECT seats FROM office_hours WHERE id = NEW.office_hour_id) THEN
            RAISE EXCEPTION 'office hour full' USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS ({_SEAT_OVERLAP.format(who='NEW.learner_id', start='NEW.start',
                                         end='NEW."end"')} AND o.id <> NEW.id)
           OR EXISTS (SELECT 1 FROM session_attendees a
                      WHERE a.learner_id = NEW.learner_id
                        AND a.start < NEW."end" AND NEW.start < a."end") THEN
            RAISE EXCEPTION 'double booking: this learner has another session then'
                USING ERRCODE = 'exclusion_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER trg_office_hour_seats_guard BEFORE INSERT ON office_hour_seats
    FOR EACH ROW EXECUTE FUNCTION pm_office_hour_seat_guard()
    """,
    f"""
    CREATE FUNCTION pm_session_attendee_vs_seats() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {_PG_LOCK.format(who='NEW.learner_id')}
        IF EXISTS ({_SEAT_OVERLAP.format(who='NEW.learner_id', start='NEW.start',
                                         end='NEW."end"')}) THEN
            RAISE EXCEPTION 'double booking: this learner has an office-hour seat then'
                USING ERRCODE = 'exclusion_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER trg_session_attendees_vs_seats BEFORE INSERT ON session_attendees
    FOR EACH ROW EXECUTE FUNCTION pm_session_attendee_vs_seats()
    """,
    # A booked session locks every member at once, in ascending id order, before 0002's
    # trigger writes their attendee rows (each of which locks its learner again, a no-op
    # then): two bookings for two matches that share two learners would otherwise take
    # those locks in opposite orders and deadlock.
    """
    CREATE FUNCTION pm_session_lock_members() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        member integer;
    BEGIN
        FOR member IN SELECT mm.learner_id FROM match_members mm
                      WHERE mm.match_id = NEW.match_id ORDER BY mm.learner_id LOOP
            PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '/pm-busy'), member);
        END LOOP;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER trg_sessions_lock_members BEFORE INSERT OR UPDATE ON sessions
    FOR EACH ROW WHEN (NEW.state = 'booked') EXECUTE FUNCTION pm_session_lock_members()
    """,
]


def _pg_member_function(skip_seats: bool) -> str:
    """0002's member trigger function; with ``skip_seats`` it leaves out a session that
    overlaps one of the member's seats (the new guard would otherwise fail the rewrite)."""
    extra = f"AND NOT EXISTS ({_MEMBER_SEAT})" if skip_seats else ""
    return f"""
    CREATE OR REPLACE FUNCTION pm_session_attendees_from_member() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM session_attendees sa USING sessions s
            WHERE sa.session_id = s.id AND s.match_id = OLD.match_id
              AND sa.learner_id = OLD.learner_id;
            RETURN NULL;
        END IF;
        INSERT INTO session_attendees (session_id, learner_id, start, "end")
        SELECT s.id, NEW.learner_id, s.start, s."end" FROM sessions s
        WHERE s.match_id = NEW.match_id AND s.state = 'booked' {extra}
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """


_SQLITE = [
    f"""
    CREATE TRIGGER trg_office_hour_seats_guard BEFORE INSERT ON office_hour_seats
    WHEN NEW.state = 'booked' AND (
        NEW.seat_no > (SELECT seats FROM office_hours WHERE id = NEW.office_hour_id)
        OR EXISTS ({_SEAT_OVERLAP.format(who='NEW.learner_id', start='NEW.start',
                                         end='NEW."end"')})
        OR EXISTS (SELECT 1 FROM session_attendees a
                   WHERE a.learner_id = NEW.learner_id
                     AND a.start < NEW."end" AND NEW.start < a."end"))
    BEGIN
        SELECT RAISE(ABORT, 'office hour seat refused: full, or a double booking');
    END
    """,
    f"""
    CREATE TRIGGER trg_session_attendees_vs_seats BEFORE INSERT ON session_attendees
    WHEN EXISTS ({_SEAT_OVERLAP.format(who='NEW.learner_id', start='NEW.start',
                                       end='NEW."end"')})
    BEGIN
        SELECT RAISE(ABORT, 'double booking: this learner has an office-hour seat then');
    END
    """,
]


def _sqlite_member_trigger(skip_seats: bool) -> str:
    """0002's trigger giving a member (re)written into a match its booked sessions."""
    extra = f"AND NOT EXISTS ({_MEMBER_SEAT})" if skip_seats else ""
    return f"""
    CREATE TRIGGER trg_match_members_attendees_insert AFTER INSERT ON match_members
    BEGIN
        INSERT OR IGNORE INTO session_attendees (session_id, learner_id, start, "end")
        SELECT s.id, NEW.learner_id, s.start, s."end" FROM sessions s
        WHERE s.match_id = NEW.match_id AND s.state = 'booked'
          AND NOT EXISTS (SELECT 1 FROM session_attendees o
                          WHERE o.learner_id = NEW.learner_id AND o.session_id != s.id
                            AND o.start < s."end" AND s.start < o."end") {extra};
    END
    """


def upgrade() -> None:
    op.create_table(
        'office_hours',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('supporter_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('start_minute', sa.Integer(), nullable=False),
        sa.Column('end_minute', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('every_weeks', sa.Integer(), nullable=False),
        sa.Column('seats', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=80), nullable=False),
        sa.Column('first_day', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cancelled', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.CheckConstraint('seats >= 1', name=op.f('ck_office_hours_seats_positive')),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_office_hours_community_id_communities')),
        sa.ForeignKeyConstraint(['supporter_id'], ['learners.id'], ondelete='CASCADE',
                                name=op.f('fk_office_hours_supporter_id_learners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_office_hours')),
    )
    op.create_index(op.f('ix_office_hours_community_id'), 'office_hours', ['community_id'])
    op.create_index(op.f('ix_office_hours_supporter_id'), 'office_hours', ['supporter_id'])
    op.create_table(
        'office_hour_seats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('office_hour_id', sa.Integer(), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seat_no', sa.Integer(), nullable=False),
        sa.Column('ics_uid', sa.String(length=200), nullable=False),
        sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.CheckConstraint('seat_no >= 1', name=op.f('ck_office_hour_seats_seat_no_positive')),
        sa.ForeignKeyConstraint(['office_hour_id'], ['office_hours.id'], ondelete='CASCADE',
                                name=op.f('fk_office_hour_seats_office_hour_id_office_hours')),
        sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], ondelete='CASCADE',
                                name=op.f('fk_office_hour_seats_learner_id_learners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_office_hour_seats')),
        sa.UniqueConstraint('ics_uid', name=op.f('uq_office_hour_seats_ics_uid')),
    )
    op.create_index(op.f('ix_office_hour_seats_learner_id'), 'office_hour_seats',
                    ['learner_id'])
    booked = sa.text("state = 'booked'")
    op.create_index('uq_office_hour_seats_seat', 'office_hour_seats',
                    ['office_hour_id', 'start', 'seat_no'], unique=True,
                    sqlite_where=booked, postgresql_where=booked)
    op.create_index('uq_office_hour_seats_learner', 'office_hour_seats',
                    ['office_hour_id', 'start', 'learner_id'], unique=True,
                    sqlite_where=booked, postgresql_where=booked)
    if op.get_bind().dialect.name == "postgresql":
        for statement in [*_PG, _pg_member_function(skip_seats=True)]:
            op.execute(statement)
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_match_members_attendees_insert")
        for statement in [*_SQLITE, _sqlite_member_trigger(skip_seats=True)]:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_member_function(skip_seats=False))
        op.execute("DROP TRIGGER IF EXISTS trg_sessions_lock_members ON sessions")
        op.execute("DROP FUNCTION IF EXISTS pm_session_lock_members()")
        op.execute("DROP TRIGGER IF EXISTS trg_session_attendees_vs_seats ON session_attendees")
        op.execute("DROP FUNCTION IF EXISTS pm_session_attendee_vs_seats()")
        op.execute("DROP TRIGGER IF EXISTS trg_office_hour_seats_guard ON office_hour_seats")
        op.execute("DROP FUNCTION IF EXISTS pm_office_hour_seat_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_match_members_attendees_insert")
        op.execute(_sqlite_member_trigger(skip_seats=False))
        op.execute("DROP TRIGGER IF EXISTS trg_session_attendees_vs_seats")
        op.execute("DROP TRIGGER IF EXISTS trg_office_hour_seats_guard")
    op.drop_index('uq_office_hour_seats_learner', table_name='office_hour_seats')
    op.drop_index('uq_office_hour_seats_seat', table_name='office_hour_seats')
    op.drop_index(op.f('ix_office_hour_seats_learner_id'), table_name='office_hour_seats')
    op.drop_table('office_hour_seats')
    op.drop_index(op.f('ix_office_hours_supporter_id'), table_name='office_hours')
    op.drop_index(op.f('ix_office_hours_community_id'), table_name='office_hours')
    op.drop_table('office_hours')
