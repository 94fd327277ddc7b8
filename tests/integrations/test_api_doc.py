"""docs/api.md and /schema/openapi.json say the same: the operations, their statuses and parameters,
the fields of every body, and the error keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.server import ROOT

DOC = (ROOT / "docs" / "api.md").read_text()
METHODS = ("get", "put", "post", "delete", "patch")
OPERATION = re.compile(r"^### (GET|POST|PUT|DELETE|PATCH) (/\S+)$", re.MULTILINE)
HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)
ERROR_KEY = re.compile(r"\b((?:common|auth)\.[a-z_]+)\b")
REF = re.compile(r"#/components/schemas/(\w+)")
# The field tables of docs/api.md: first header cell -> column -> the schemas whose properties the column lists.
TABLES = {
    "customer field": {"POST": ("CustomerCreate",), "PUT": ("CustomerUpdate",), "response": ("CustomerV10", "CustomerV9")},
    "address field": {"request": ("AddressIn",), "response": ("AddressOut",)},
    "phone entry field": {"request": ("PhoneNumberIn",), "response": ("PhoneNumber",)},
}
# Bodies whose fields the sections of the operations name: all but those of the tables and the error envelope.
ELSEWHERE = {name for columns in TABLES.values() for names in columns.values() for name in names} | {"ErrorEnvelope"}


def _normalised(path: str) -> str:
    return path.rstrip("/") or "/"


def _sections() -> dict[tuple[str, str], str]:
    """(method, path without trailing slash) -> the text of its section in docs/api.md."""
    sections = {}
    for match in OPERATION.finditer(DOC):
        following = HEADING.search(DOC, match.end())
        sections[match.group(1).lower(), _normalised(match.group(2))] = DOC[match.end() : following.start() if following else len(DOC)]
    return sections


def _operations(schema: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, _normalised(path)): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _table(first_header: str) -> dict[str, dict[str, bool]]:
    """The table of docs/api.md whose first header cell is ``first_header``: for each row's field,
    each column's header -> whether the row has a ✓ there."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        field = cells[0].strip("`")
        assert field not in rows, f"{field} twice in the table of {first_header}"
        rows[field] = {header: cell == "✓" for header, cell in zip(headers, cells, strict=True)}
    return rows


def _column(table: dict[str, dict[str, bool]], header: str) -> set[str]:
    return {field for field, marks in table.items() if marks[header]}


def _properties(schema: dict, *names: str) -> set[str]:
    return {field for name in names for field in schema["components"]["schemas"][name]["properties"]}


def test_every_operation_of_the_schema_is_documented_and_nothing_else(schema):
    assert set(_sections()) == set(_operations(schema))


def test_each_operation_lists_the_statuses_the_schema_gives_it(schema):
    sections = _sections()
    for key, operation in _operations(schema).items():
        line = re.search(r"^Statuses: (.+)$", sections[key], re.MULTILINE)
        assert line, f"{key}: no Statuses line"
        assert {int(code) for code in line.group(1).split(", ")} == {int(code) for code in operation["responses"]}, key


def test_each_operation_names_its_parameters_and_form_fields(schema):
    sections = _sections()
    for key, operation in _operations(schema).items():
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        for content in operation.get("requestBody", {}).get("content", {}).values():
            names |= set(content["schema"].get("properties", {}))  # an inline body (the token endpoint's form)
        referred = set(REF.findall(repr(operation.get("requestBody", {})) + repr(operation["responses"])))
        names |= _properties(schema, *(referred - ELSEWHERE))
        missing = sorted(name for name in names if f"`{name}`" not in sections[key])
        assert not missing, f"{key} does not name {missing}"


@pytest.mark.parametrize("first_header", TABLES)
def test_the_field_tables_are_the_schemas_bodies(schema, first_header):
    table, columns = _table(first_header), TABLES[first_header]
    for header, names in columns.items():
        assert _column(table, header) == _properties(schema, *names), f"{first_header}: the {header} column"
    assert set(table) == _properties(schema, *(name for names in columns.values() for name in names))


def test_every_error_key_is_documented_and_every_documented_key_is_the_servers(schema):
    documented = set(_table("key"))
    in_schema = set(ERROR_KEY.findall(repr(schema)))
    assert in_schema - documented == set()
    in_code = {key for path in Path(ROOT, "app").rglob("*.py") for key in ERROR_KEY.findall(path.read_text())}
    assert documented - in_code == set()
