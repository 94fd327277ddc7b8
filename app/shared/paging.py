"""One page of a list, as services return it and the generic views show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    exact: bool = True  # False: "total" is a lower bound (a capped count)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
