"""Feedback and the "did you meet?" check-in. (Being written for the scheduler issue.)"""

from __future__ import annotations

from typing import Any

from core.replies import Reply
from core.services.context import Ctx
from core.services.errors import Refusal


async def met(ctx: Ctx, args: dict[str, Any]) -> Reply:
    raise Refusal("Check-ins are not available yet.")


async def feedback(ctx: Ctx, args: dict[str, Any]) -> Reply:
    raise Refusal("Feedback is not available yet.")
