"""Who does something: the vocabulary every change, history entry and permission check speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Who:
    """Who makes a change: a back-office user, an API token, or the system."""

    kind: str  # user | token | system
    id: int | None
    label: str


SYSTEM = Who("system", None, "system")


@dataclass(frozen=True)
class Actor:
    """Who acts in the back office."""

    user_id: int
    account_id: int
    account_name: str
    timezone: str
    role: str
    email: str
    # The signed-in session's data, for a store that changes what the session may do (app/web/store.py's ask_new_id).
    session: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def who(self) -> Who:
        return Who("user", self.user_id, self.email)
