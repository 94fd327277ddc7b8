"""Every kind of list column escapes what it reads from the item: the row template writes its cells as they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from app.admin.cells import CELLS, RowCells
from app.admin.resource import Column, ColumnKind

PAYLOAD = "<i>x</i>\"'&"


@dataclass
class Item:
    id: int
    value: str
    flag: str


def test_every_column_kind_has_a_cell() -> None:
    assert set(CELLS) == set(get_args(ColumnKind))


def test_every_column_kind_escapes_the_value_and_its_label() -> None:
    for kind in get_args(ColumnKind):
        column = Column("value", f"Label {PAYLOAD}", kind=kind, badges=(("flag", f"Badge {PAYLOAD}"),))
        html = str(RowCells("/things", (column,))(Item(7, f"value {PAYLOAD}", "yes"), f"name {PAYLOAD}", f"token{PAYLOAD}"))
        assert "<i>" not in html and "x</i>" not in html, kind
        assert "\"'" not in html, kind
        assert html.startswith(f'<td class="col-{kind}" data-label="Label &lt;i&gt;x&lt;/i&gt;&#34;&#39;&amp;">'), kind
