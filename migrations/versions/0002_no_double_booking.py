"""No double booking, enforced by the database: ``session_attendees`` and its guards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

The core refuses a session that overlaps another booked session of any member
(core/services/session_rules.py), but two bookings can pass that check at the same moment
in two processes. The database has the last word:

- ``session_attendees`` holds one row per member of every *booked* session, with its times.
  Triggers keep it in step: writing a session (insert, move, cancel) rewrites its rows; a
  member leaving a match removes theirs; a member (re)written into a match gets the match's
  booked sessions (skipping any that would overlap, so a rewrite of a match's members, which
  the repository does on every update, can never fail).
- PostgreSQL: an exclusion constraint forbids two rows of one learner whose
  ``[start, end)`` ranges overlap. It is ``int4range(learner_id, learner_id, '[]') WITH &&``
  rather than ``learner_id WITH =``: the latter needs the btree_gist extension, which needs
  privileges an operator may not have and lives outside our schema; built-in range GiST
  operator classes need neither. Exclusion constraints are safe under concurrency (the
  second writer waits, then fails), which a check in a trigger under READ COMMITTED is not.
- SQLite: a BEFORE INSERT trigger aborts on an overlapping row. SQLite runs one writer at a
  time (``BEGIN IMMEDIATE``), so the check cannot race.

Either way the failed write raises an integrity error, which the repositories turn into
``StorageConflict`` inside a savepoint: the session service answers "pick another time".
Existing booked sessions are copied in (an overlap that slipped in before is kept once).

Future migrations: a SQLite batch operation on ``sessions`` or ``match_members`` rebuilds
the table, and SQLite drops a table's triggers with it: re-create them afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG = [
    """
    CREATE FUNCTION pm_session_attendees_from_session() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM session_attendees WHERE session_id = OLD.id;
        END IF;
        IF NEW.state = 'booked' THEN
            INSERT INTO session_attendees (session_id, learner_id, start, "end")
            SELECT NEW.id, mm.learner_id, NEW.start, NEW."end"
            FROM match_members mm WHERE mm.match_id = NEW.match_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_sessions_attendees AFTER INSERT OR UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION pm_session_attendees_from_session()
    """,
    """
    CREATE FUNCTION pm_session_attendees_from_member() RETURNS trigger
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
        WHERE s.match_id = NEW.match_id AND s.state = 'booked'
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_match_members_attendees AFTER INSERT OR DELETE ON match_members
    FOR EACH ROW EXECUTE FUNCTION pm_session_attendees_from_member()
    """,
    """
    ALTER TABLE session_attendees ADD CONSTRAINT ex_session_attendees_no_overlap
    EXCLUDE USING gist (int4range(learner_id, learner_id, '[]') WITH &&,
                        tstzrange(start, "end") WITH &&)
    """,
    """
    INSERT INTO session_attendees (session_id, learner_id, start, "end")
    SELECT s.id, mm.learner_id, s.start, s."end"
    FROM sessions s JOIN match_members mm ON mm.match_id = s.match_id
    WHERE s.state = 'booked' ORDER BY s.id
    ON CONFLICT DO NOTHING
    """,
]

_SQLITE = [
    # Backfill first: the overlap guard below would refuse legacy overlaps outright.
    """
    INSERT OR IGNORE INTO session_attendees (session_id, learner_id, start, "end")
    SELECT s.id, mm.learner_id, s.start, s."end"
    FROM sessions s JOIN match_members mm ON mm.match_id = s.match_id
    WHERE s.state = 'booked'
    """,
    """
    CREATE TRIGGER trg_session_attendees_no_overlap BEFORE INSERT ON session_attendees
    WHEN EXISTS (SELECT 1 FROM session_attendees o
                 WHERE o.learner_id = NEW.learner_id AND o.session_id != NEW.session_id
                   AND o.start < NEW."end" AND NEW.start < o."end")
    BEGIN
        SELECT RAISE(ABORT, 'double booking: this learner has another session then');
    END
    """,
    """
    CREATE TRIGGER trg_sessions_attendees_insert AFTER INSERT ON sessions
    WHEN NEW.state = 'booked'
    BEGIN
        INSERT INTO session_attendees (session_id, learner_id, start, "end")
        SELECT NEW.id, mm.learner_id, NEW.start, NEW."end"
        FROM match_members mm WHERE mm.match_id = NEW.match_id;
    END
    """,
    """
    CREATE TRIGGER trg_sessions_attendees_update AFTER UPDATE ON sessions
    BEGIN
        DELETE FROM session_attendees WHERE session_id = OLD.id;
        INSERT INTO session_attendees (session_id, learner_id, start, "end")
        SELECT NEW.id, mm.learner_id, NEW.start, NEW."end"
        FROM match_members mm WHERE mm.match_id = NEW.match_id AND NEW.state = 'booked';
    END
    """,
    """
    CREATE TRIGGER trg_match_members_attendees_delete AFTER DELETE ON match_members
    BEGIN
        DELETE FROM session_attendees WHERE learner_id = OLD.learner_id
          AND session_id IN (SELECT id FROM sessions WHERE match_id = OLD.match_id);
    END
    """,
    # A member written into a match gets its booked sessions, minus any that would
    # overlap (never an error: the repository rewrites members on every match update).
    """
    CREATE TRIGGER trg_match_members_attendees_insert AFTER INSERT ON match_members
    BEGIN
        INSERT OR IGNORE INTO session_attendees (session_id, learner_id, start, "end")
        SELECT s.id, NEW.learner_id, s.start, s."end" FROM sessions s
        WHERE s.match_id = NEW.match_id AND s.state = 'booked'
          AND NOT EXISTS (SELECT 1 FROM session_attendees o
                          WHERE o.learner_id = NEW.learner_id AND o.session_id != s.id
                            AND o.start < s."end" AND s.start < o."end");
    END
    """,
]

_SQLITE_TRIGGERS = ("trg_session_attendees_no_overlap", "trg_sessions_attendees_insert",
                    "trg_sessions_attendees_update", "trg_match_members_attendees_delete",
                    "trg_match_members_attendees_insert")


def upgrade() -> None:
    op.create_table('session_attendees',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_session_attendees_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_attendees_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'learner_id', name=op.f('pk_session_attendees'))
    )
    op.create_index(op.f('ix_session_attendees_learner_id'), 'session_attendees', ['learner_id'], unique=False)
    for statement in _PG if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_match_members_attendees ON match_members")
        op.execute("DROP TRIGGER IF EXISTS trg_sessions_attendees ON sessions")
        op.execute("DROP FUNCTION IF EXISTS pm_session_attendees_from_member()")
        op.execute("DROP FUNCTION IF EXISTS pm_session_attendees_from_session()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('session_attendees')
