"""Every idempotency key of the outbox, built in one place.

A key names one side effect for good: writing the same message twice (a retried command,
two bot processes, a re-run planner) hits the unique key and is ignored. Keys are also how
later changes find pending rows again: a family shares a prefix (``session:{sid}:``,
``match:{mid}:``, ``pause-end:{learner}:``) that ``drop_matching`` takes. Each prefix ends
with ``:``, so session 1's prefix never matches session 12's rows.

The strings are the ones stored since the first release: changing a format would make
existing rows unreachable (a pending reminder could no longer be dropped), so formats only
ever get added.
"""

from __future__ import annotations

# ---- a match: its intro DMs and check-ins share ``match:{mid}:`` (dropped when it ends) ---


def every_match_prefix() -> str:
    """The rows of every match (what the ghost finder reads, with a sent-since bound)."""
    return "match:"


def match_prefix(match_id: int | None) -> str:
    """Every pending row that only makes sense while the match is on."""
    return f"match:{match_id}:"


def match_made(match_id: int | None) -> str:
    """The one row a new match is stored with (``AnnounceMatch``): the dispatcher expands
    it into the match's DMs, space, check-ins and nudges (core/services/announce.py). Under
    ``match:{mid}:``, and no other key of the match starts with it."""
    return f"{match_prefix(match_id)}made"


def intro_dm(match_id: int | None, learner_id: int) -> str:
    """The "you've been matched" DM of one member."""
    return f"{match_prefix(match_id)}dm:{learner_id}"


def checkin(match_id: int | None, learner_id: int) -> str:
    """The first "did you meet?" DM of one member."""
    return f"{match_prefix(match_id)}checkin:{learner_id}"


def checkin_again_prefix(match_id: int | None, learner_id: int) -> str:
    """The follow-ups of a member's check-in ("not yet" answers)."""
    return f"{checkin(match_id, learner_id)}:again:"


def checkin_again(match_id: int | None, learner_id: int, unix: int) -> str:
    """A later "did you meet?" after a "not yet" answer, due at ``unix``."""
    return f"{checkin_again_prefix(match_id, learner_id)}{unix}"


def is_checkin_of(key: str, match_id: int | None, learner_id: int) -> bool:
    """Whether ``key`` is this member's check-in or one of its follow-ups (a plain prefix
    would also hit learner 12 when asked about learner 1)."""
    return key == checkin(match_id, learner_id) or key.startswith(
        checkin_again_prefix(match_id, learner_id))


def weekly_checkin(match_id: int | None, week: int, learner_id: int) -> str:
    """An accountability pair's check-in number ``week``."""
    return f"{match_prefix(match_id)}weekly:{week}:{learner_id}"


def nudge_prefix(match_id: int | None) -> str:
    """The bumps of a quiet match (dropped once it books a session or meets)."""
    return f"{match_prefix(match_id)}nudge:"


def nudge(match_id: int | None, number: int) -> str:
    """Bump number ``number`` (1, 2, ...) of a match with no booking yet, in its space."""
    return f"{nudge_prefix(match_id)}{number}"


def nudge_dm(match_id: int | None, number: int, learner_id: int) -> str:
    """The same bump as a DM to one member (anonymous matches have no space)."""
    return f"{nudge(match_id, number)}:{learner_id}"


def is_prompt_of(key: str, match_id: int | None, learner_id: int) -> bool:
    """Whether ``key`` asked this member of the match for an answer: the intro DM, a "did
    you meet?" or its follow-ups, a weekly check-in (what core/services/ghosts.py counts)."""
    weekly = f"{match_prefix(match_id)}weekly:"
    return (key == intro_dm(match_id, learner_id) or is_checkin_of(key, match_id, learner_id)
            or (key.startswith(weekly) and key.rsplit(":", 1)[-1] == str(learner_id)))


def proposal_prefix(match_id: int | None, proposal_id: int | None) -> str:
    """Every row of one proposed session time (dropped with the match's rows)."""
    return f"{match_prefix(match_id)}proposal:{proposal_id}:"


def proposal_ask(match_id: int | None, proposal_id: int | None, learner_id: int) -> str:
    """Asking one member to accept or decline a proposed time."""
    return f"{proposal_prefix(match_id, proposal_id)}ask:{learner_id}"


def proposal_asked(key: str, match_id: int | None) -> tuple[str, int] | None:
    """(proposal id, learner asked) of a ``proposal_ask`` key of this match, else None."""
    head = f"{match_prefix(match_id)}proposal:"
    if not key.startswith(head) or ":ask:" not in key:
        return None
    pid, _, learner = key[len(head):].partition(":ask:")
    return (pid, int(learner)) if learner.isdigit() else None


def proposal_declined(match_id: int | None, proposal_id: int | None, learner_id: int) -> str:
    """Telling one member that a proposed time was declined (nothing booked)."""
    return f"{proposal_prefix(match_id, proposal_id)}declined:{learner_id}"


# ---- a match's space ------------------------------------------------------------------


def space_open(match_id: int | None) -> str:
    """Creating the match's private space (one per match)."""
    return f"space-open:{match_id}"


def space_close(match_id: int | None) -> str:
    """Archiving or deleting the match's space."""
    return f"space-close:{match_id}"


def dm_fallback(dm_key: str) -> str:
    """The mention in the match space that replaces a DM the person could not receive."""
    return f"dm-fallback:{dm_key}"


# ---- leaving and ending ---------------------------------------------------------------


def member_left(match_id: int | None, leaver_id: int, other_id: int) -> str:
    """Telling ``other_id`` that ``leaver_id`` left the match."""
    return f"left:{match_id}:{leaver_id}:{other_id}"


def member_left_prefix(match_id: int | None) -> str:
    """Every "someone left" DM of a match."""
    return f"left:{match_id}:"


def is_left_behind(key: str, match_id: int | None, other_id: int) -> bool:
    """Whether ``key`` told ``other_id`` that somebody else left match ``match_id``."""
    return key.startswith(member_left_prefix(match_id)) and key.endswith(f":{other_id}")


def ended_by_moderator(match_id: int | None, learner_id: int) -> str:
    """Telling a member that a moderator ended their match."""
    return f"ended:{match_id}:{learner_id}"


def ghost_prefix() -> str:
    """Every "you've been paused because you went quiet" DM (stats count them)."""
    return "ghost:"


def ghost(match_id: int | None, learner_id: int) -> str:
    """Telling ``learner_id`` they were paused for leaving match ``match_id``'s check-ins
    unanswered (or for not showing up)."""
    return f"{ghost_prefix()}{match_id}:{learner_id}"


def match_of_ghost(key: str) -> str:
    """The match a ``ghost:{mid}:{learner}`` key is about."""
    return key[len(ghost_prefix()):].split(":", 1)[0]


def rotated(match_id: int | None, learner_id: int) -> str:
    """Telling a member who chose to rotate that they moved on to new partners."""
    return f"rotate:{match_id}:{learner_id}"


def relay(match_id: int | None, from_id: int, to_id: int, digest: str) -> str:
    """One ``/peer message`` carried to one member (``digest``: of the time and the text)."""
    return f"relay:{match_id}:{from_id}:{to_id}:{digest}"


# ---- the queue and pauses -------------------------------------------------------------


def queue_update(entry_id: int | None, week: int) -> str:
    """The "still waiting, because ..." DM of week ``week`` in the queue."""
    return f"queue:{entry_id}:update:{week}"


def pause_end_prefix(learner_id: int | None) -> str:
    """Every "your pause is over" row of a learner."""
    return f"pause-end:{learner_id}:"


def pause_end(learner_id: int | None, unix: int) -> str:
    """The "your pause is over" DM due at ``unix``."""
    return f"{pause_end_prefix(learner_id)}{unix}"


# ---- a session: every row shares ``session:{sid}:`` (dropped when it moves or ends) -------


def session_prefix(session_id: int | None) -> str:
    """The key prefix of every row of a session."""
    return f"session:{session_id}:"


def session_invite(session_id: int | None, sequence: int, learner_id: int) -> str:
    """The DM with the .ics invite (METHOD:PUBLISH) of one version of the session."""
    return f"{session_prefix(session_id)}seq{sequence}:invite:{learner_id}"


def reminder(session_id: int | None, sequence: int, offset_minutes: int, learner_id: int) -> str:
    """The reminder ``offset_minutes`` before the session starts."""
    return f"{session_prefix(session_id)}seq{sequence}:remind:{offset_minutes}:{learner_id}"


def feedback_prompt(session_id: int | None, sequence: int, learner_id: int) -> str:
    """The "how did it go?" DM when the session ends."""
    return f"{session_prefix(session_id)}seq{sequence}:feedback:{learner_id}"


def session_cancel(session_id: int | None, learner_id: int) -> str:
    """The cancellation DM with the cancelled .ics (STATUS:CANCELLED)."""
    return f"{session_prefix(session_id)}cancel:{learner_id}"


# ---- accepted work ----------------------------------------------------------------------


def accepted_reply(work_id: int | None) -> str:
    """The reply to an accepted command, by DM: its platform's own way back (an interaction
    token, a response_url) had expired by the time it was done."""
    return f"accepted:{work_id}:reply"


# ---- delivery problems ------------------------------------------------------------------


def delivery_problem_prefix(community_id: int | None) -> str:
    """Every report of a delivery problem to the community's moderators."""
    return f"delivery-problem:{community_id}:"


def delivery_problem(community_id: int | None, problem: str, moderator_user_id: str) -> str:
    """Telling one moderator, once, that deliveries fail for good for this kind of problem
    (``problem``: a short slug such as ``missing_permission``)."""
    return f"{delivery_problem_prefix(community_id)}{problem}:{moderator_user_id}"


# ---- office-hour seats: ``seat:{sid}:`` (dropped when the seat is given up or called off) --


def seat_prefix(seat_id: int | None) -> str:
    """Every pending row of one office-hour seat."""
    return f"seat:{seat_id}:"


def seat_invite(seat_id: int | None) -> str:
    """The learner's DM with the seat's calendar file."""
    return f"{seat_prefix(seat_id)}invite"


def seat_reminder(seat_id: int | None, offset_minutes: int) -> str:
    """The learner's reminder ``offset_minutes`` before the office hour."""
    return f"{seat_prefix(seat_id)}remind:{offset_minutes}"


def seat_booked_to_supporter(seat_id: int | None) -> str:
    """Telling the supporter a seat was booked."""
    return f"{seat_prefix(seat_id)}supporter"


def seat_cancel(seat_id: int | None) -> str:
    """The learner's cancellation DM with the cancelled calendar file."""
    return f"seat-cancel:{seat_id}"


def seat_left_to_supporter(seat_id: int | None) -> str:
    """Telling the supporter a learner gave their seat up."""
    return f"seat-cancel:{seat_id}:supporter"
# ---- support offers (a supporter accepts or declines a learner) ---------------------------


def offer_prefix(offer_id: int | None) -> str:
    """Every row of one ask to a supporter (dropped when it is answered or expires)."""
    return f"support-offer:{offer_id}:"


def offer_ask(offer_id: int | None, supporter_id: int) -> str:
    """Asking the supporter to accept or decline."""
    return f"{offer_prefix(offer_id)}ask:{supporter_id}"


def offer_step(offer_id: int | None, step: str, learner_id: int) -> str:
    """Telling the learner where their request is (``step``: asked, declined, expired,
    accepted, nobody)."""
    return f"support-offer:{offer_id}:learner:{step}:{learner_id}"
