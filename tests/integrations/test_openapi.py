"""The OpenAPI document and the Swagger UI that shows it, served without any outside host."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _types(node: dict) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return set(kind)
    if kind:
        return {kind}
    return {t for sub in node.get("oneOf", []) + node.get("anyOf", []) for t in _types(sub)}


def _body_schema(schema: dict, path: str, method: str) -> dict:
    operation = schema["paths"][path][method]
    body = operation["requestBody"]
    assert body.get("required") is True
    return _resolve(schema, body["content"]["application/json"]["schema"])


def test_openapi_json_is_served(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]
    paths = {p.rstrip("/") for p in schema["paths"]}
    assert {"/api/customers", "/api/customers/favourites", "/api/customers/{customer_id}"} <= paths


@pytest.mark.parametrize("path, method", [("/api/customers", "post"), ("/api/customers/{customer_id}", "put")])
def test_request_bodies_of_post_and_put_describe_the_customer_fields(schema, path, method):
    body = _body_schema(schema, path, method)
    properties = body["properties"]

    for name in ("first_name", "last_name", "company", "title", "email", "phone_number", "birthday", "note", "tax_number", "country_code"):
        assert "string" in _types(properties[name]), name
    for name in ("is_vip", "is_b2b", "is_favourite", "is_confirmed", "email_marketing_agreed"):
        assert _types(properties[name]) == {"boolean", "null"}, name  # null counts as false
    if method == "post":
        assert _types(properties["channel"]) == {"integer"}
    else:
        assert "channel" not in properties  # set at creation only
    title = properties["title"]["oneOf"][0]
    assert set(title["enum"]) >= {"Mr.", "Mrs.", "Ms."}

    billing = _resolve(schema, properties["billing_address"]["oneOf"][0])
    assert "object" in _types(billing)
    assert _types(properties["billing_address"]["oneOf"][1]) == {"null"}
    assert {"address1", "address2", "zipcode", "city", "state", "country"} <= set(billing["properties"])

    shipping = _resolve(schema, properties["shipping_address"])
    assert _types(shipping) == {"array", "null"}
    entry = _resolve(schema, shipping["items"])
    assert {"address1", "zipcode", "city", "country"} <= set(entry["properties"])

    # The flat address form and the v9 phone list are documented too.
    for name in ("address1", "address2", "zipcode", "city", "state", "country"):
        assert name in properties, name
    phones = _resolve(schema, properties["phone_numbers"])
    assert _types(phones) == {"array", "null"}
    assert {"national_number", "country_code", "type"} <= set(_resolve(schema, phones["items"])["properties"])


def test_error_envelope_is_described(schema):
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    error = _resolve(schema, envelope["properties"]["error"])
    assert set(error["properties"]) == {"fields", "description", "key"}
    assert set(error["required"]) == {"fields", "description", "key"}
    assert "object" in _types(error["properties"]["fields"])
    assert _types(error["properties"]["description"]) == {"string", "null"}
    assert _types(error["properties"]["key"]) == {"string"}


@pytest.mark.parametrize(
    "path, method, statuses",
    [
        ("/api/customers", "get", {"400", "401", "403", "429"}),
        ("/api/customers", "post", {"400", "401", "403", "413"}),
        ("/api/customers/{customer_id}", "get", {"401", "403", "404"}),
        ("/api/customers/{customer_id}", "put", {"400", "401", "403", "404", "413"}),
        ("/api/customers/{customer_id}", "delete", {"401", "403", "404"}),
    ],
)
def test_error_responses_use_the_envelope_and_name_their_keys(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]

    assert statuses <= set(responses)
    for status in statuses | {s for s in responses if s.startswith(("4", "5"))}:
        response = responses[status]
        ref = response["content"]["application/json"]["schema"]
        assert ref == {"$ref": "#/components/schemas/ErrorEnvelope"}, status
        assert re.search(r"`[a-z_]+\.[a-z_]+`", response["description"]), f"{status} names no error key"


def test_customer_response_schemas_show_both_phone_shapes(schema):
    components = schema["components"]["schemas"]
    v10 = components["CustomerV10"]["properties"]
    v9 = components["CustomerV9"]["properties"]

    assert _types(v10["phone_number"]) == {"string"}
    assert "phone_numbers" not in v10
    assert _types(v9["phone_numbers"]) == {"array"}
    entry = _resolve(schema, v9["phone_numbers"]["items"])
    assert set(entry["properties"]) == {"id", "country_code", "type", "national_number"}
    assert _types(components["CustomerV10"]["properties"]["total_sales"]) == {"string"}


def test_api_operations_require_the_bearer_token(schema):
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        if path.startswith("/api/customers"):
            for method, operation in operations.items():
                assert operation.get("security") == [{"BearerToken": []}], (path, method)


class _Assets(HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").lower()
            (self.styles if "stylesheet" in rel else self.other).append(attrs["href"])
        elif tag in ("img", "iframe", "source") and attrs.get("src"):
            self.other.append(attrs["src"])


@pytest.fixture
def swagger(client) -> tuple[str, _Assets]:
    response = client.get("/schema/swagger")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = _Assets()
    assets.feed(response.text)
    return response.text, assets


def test_swagger_ui_loads_its_js_and_css_from_static(swagger):
    _, assets = swagger

    assert assets.scripts and assets.styles
    for url in assets.scripts + assets.styles:
        assert url.startswith("/static/"), url
    assert any(u.endswith("swagger-ui-bundle.js") for u in assets.scripts)
    assert any(u.endswith(".css") for u in assets.styles)


def test_swagger_ui_static_files_are_served(client, swagger):
    _, assets = swagger

    for url in assets.scripts + assets.styles:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content.strip(), url
        if "swagger-ui" in url.rsplit("/", 1)[-1]:
            assert len(response.content) > 10_000, url  # the vendored bundle itself, not a stub
        kind = "javascript" if url.endswith(".js") else "css"
        assert kind in response.headers["content-type"], (url, response.headers["content-type"])


def test_swagger_ui_page_loads_nothing_from_an_outside_host(swagger):
    _, assets = swagger

    external = [u for u in assets.scripts + assets.styles + assets.other if re.match(r"^(https?:)?//", u)]
    assert external == []


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_no_request_body_has_a_default_anywhere(schema):
    """A generated client sends every default (a "note only" update must not also send the flags),
    or makes a field with one required (openapi-typescript): the create body says its defaults in words."""
    bodies = [schema["components"]["schemas"][name] for name in ("CustomerCreate", "CustomerUpdate", "AddressIn", "PhoneNumberIn")]

    assert [n for n in _walk(bodies) if "default" in n] == []
    create = schema["components"]["schemas"]["CustomerCreate"]["properties"]
    assert create["is_vip"]["description"] == "VIP (absent or null: false)" and create["channel"]["description"] == "Channel (absent: 1)"
    assert "required" not in schema["components"]["schemas"]["CustomerCreate"]


def test_the_create_body_states_the_name_rule(schema):
    create = schema["components"]["schemas"]["CustomerCreate"]

    assert create["if"]["not"]["required"] == ["company"]
    assert create["then"]["required"] == ["first_name", "last_name"]


def _parameters(schema, path, method) -> dict[str, dict]:
    return {p["name"]: p for p in schema["paths"][path][method].get("parameters", [])}


@pytest.mark.parametrize("path", ["/api/customers", "/api/customers/favourites"])
def test_list_parameters_and_answers_are_typed_as_the_server_reads_them(schema, path):
    parameters = _parameters(schema, path, "get")
    responses = schema["paths"][path]["get"]["responses"]

    assert parameters["limit"]["schema"] == {**parameters["limit"]["schema"], "type": "integer", "minimum": 1}
    assert parameters["page"]["schema"]["type"] == "integer" and parameters["page"]["schema"]["minimum"] == 1
    assert parameters["after"]["schema"]["type"] == "integer" and parameters["after"]["schema"]["minimum"] == 0
    assert parameters["X-Api-Version"]["in"] == "header"
    assert parameters["X-Api-Version"]["schema"]["enum"] == list(range(3, 13))
    assert parameters["If-None-Match"]["in"] == "header"
    assert set(responses) == {"200", "304", "400", "401", "403", "429", "500", "503"}  # no 404, 412 or 413
    assert responses["200"]["headers"]["ETag"]["required"] is True
    assert responses["200"]["headers"]["Link"]["required"] is False
    assert "content" not in responses["304"] and responses["304"]["headers"]["ETag"]["required"] is True
    assert set(responses["401"]["headers"]) == {"WWW-Authenticate"}
    assert set(responses["429"]["headers"]) == {"Retry-After"} == set(responses["503"]["headers"])


@pytest.mark.parametrize(
    "path, method, headers, statuses",
    [
        ("/api/customers", "post", {"X-Api-Version"}, {"201", "400", "401", "403", "413", "429", "500", "503"}),
        ("/api/customers/{customer_id}", "get", {"X-Api-Version"}, {"200", "400", "401", "403", "404", "429", "500", "503"}),
        ("/api/customers/{customer_id}", "put", {"X-Api-Version", "If-Match"}, {"200", "400", "401", "403", "404", "412", "413", "429", "500", "503"}),
        ("/api/customers/{customer_id}", "delete", {"If-Match"}, {"200", "401", "403", "404", "412", "429", "500", "503"}),
    ],
)
def test_each_operation_declares_the_headers_it_reads_and_the_statuses_it_answers(schema, path, method, headers, statuses):
    operation = schema["paths"][path][method]

    assert {name for name, p in _parameters(schema, path, method).items() if p["in"] == "header"} == headers
    assert set(operation["responses"]) == statuses
    success = next(s for s in statuses if s.startswith("2"))
    if method != "delete":
        assert operation["responses"][success]["headers"]["ETag"]["required"] is True
    if "412" in statuses:
        assert operation["responses"]["412"]["headers"]["ETag"]["required"] is True
    if method == "post":
        location = operation["responses"]["201"]["headers"]["Location"]
        assert location["required"] is True and location["schema"] == {"type": "string", "format": "uri-reference"}


def test_error_examples_are_real_envelopes(schema):
    """No generated random strings: every example is an envelope with a key the API uses."""
    components = schema["components"]["schemas"]
    assert "examples" not in components["ErrorEnvelope"] and "examples" not in components["ErrorBody"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")):
                    continue
                examples = response["content"]["application/json"]["examples"]
                assert examples, (path, method, status)
                for example in examples.values():
                    error = example["value"]["error"]
                    assert re.fullmatch(r"(common|auth)\.[a-z_]+", error["key"]), (path, method, status, error)
                    assert error["key"] in response["description"], (path, method, status, error["key"])


# -- the schema accepts what the server accepts, and nothing else -------------------------------


@pytest.fixture
def api_client(client, monkeypatch):
    """The app's client, with no rate limit: these tests send many requests with one token."""
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "0")
    return client


def _validator(schema: dict, name: str):
    """A validator of the document's component ``name`` (JSON Schema 2020-12, Rust regex dialect)."""
    import jsonschema_rs

    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}", "components": schema["components"]})


def _verdicts(schema: dict, client, bodies: list[dict]) -> list[tuple[dict, bool, int]]:
    """Each create body with the schema's verdict and the server's answer, where they disagree."""
    from tests.conftest import make_shop

    shop = make_shop()
    validator = _validator(schema, "CustomerCreate")
    disagreeing = []
    for body in bodies:
        status = client.post("/api/customers/", json=body, headers=shop.headers).status_code
        assert status in (201, 400), (body, status)
        if validator.is_valid(body) != (status == 201):
            disagreeing.append((body, validator.is_valid(body), status))
    return disagreeing


ONE_LINE_SAMPLES = [
    "Bremen", " Bremen ", "Bre men", "Bre\xa0men", "B", "", " ", "\u3000Bremen\u3000",
    "Bremen\n", "\nBremen", "\r\n", "\tBremen\t", "Bremen\u2028", "\x0bBremen\x0c", "\x85Bremen",
    "Bre\nmen", "Bre\rmen", "Bre\r\nmen", "Bre\tmen", "Bre\x85men", "Bre\u2028men", "Bre\u2029men",
    "Bre\x0bmen", "Bre\x0cmen", "Bre\x1cmen", "Bre\x00men", "Bre\x7fmen",
]


@pytest.mark.parametrize("field, maximum", [("first_name", 100), ("tax_number", 40), ("billing_address.city", 100), ("shipping_address.0.address1", 200)])
def test_one_line_fields_accept_exactly_what_the_server_accepts(schema, api_client, field, maximum):
    """Line breaks (LF, CR, NEL, U+2028, U+2029) and tabs inside a one-line field are refused by the
    server and the schema alike; at either end they are trimmed, as white space is, and the length
    limit counts what is left."""
    lengths = ["x" * maximum, "x" * (maximum + 1), "\x85 " * maximum + "x" * maximum + "\t\n", "x" + " " * (maximum - 2) + "x", "x" + " " * (maximum - 1) + "x"]

    def body(value: str) -> dict:
        if field.startswith("billing_address."):
            return {"company": "C", "billing_address": {field.split(".")[-1]: value}}
        if field.startswith("shipping_address."):
            return {"company": "C", "shipping_address": [{field.split(".")[-1]: value}]}
        return {"company": "C", field: value}

    assert _verdicts(schema, api_client, [body(value) for value in ONE_LINE_SAMPLES + lengths]) == []


def test_every_birthday_the_server_accepts_is_valid_by_the_schema(schema, api_client):
    """Days 29 to 31, leap days, this year's dates, offsets with or without a colon, a space for the
    T, fractions: all are birthdays the server keeps, and the schema says so. What the server refuses
    (a date that does not exist, one in the future) is said in the description."""
    today = datetime.now(UTC).date()
    earlier = today - timedelta(days=1)
    accepted = [
        "1985-04-30", "1985-01-31", "1984-02-29", "2000-02-29", "1985-12-31T23:59:59Z", "1985-04-30T10:49:52+0200",
        "1985-04-30T10:49:52+02:00", "1985-04-30 10:00:00", "1985-04-30T10:49:52.5Z", "1985-04-30T10:49:52.123456+05:30",
        "1985-04-30T10:49", f"{today.year}-01-01" if earlier.year == today.year else "1999-12-31", earlier.isoformat(),
        "1890-06-01", "0001-01-01T00:00:00Z", "", None,
    ]
    refused = ["1985-02-29", "1985-04-31", (today + timedelta(days=2)).isoformat(), "9999-12-31", "30.04.1985", "yesterday"]

    disagreeing = _verdicts(schema, api_client, [{"company": "C", "birthday": value} for value in accepted])
    answers = _verdicts(schema, api_client, [{"company": "C", "birthday": value} for value in refused])

    assert disagreeing == []
    assert [status for _, _, status in answers] == [400] * len(refused)  # valid by the schema, refused as its description says
    description = schema["components"]["schemas"]["CustomerCreate"]["properties"]["birthday"]["description"]
    assert "future" in description and "does not exist" in description


def test_every_country_the_server_accepts_is_valid_by_the_schema(schema, api_client):
    """Codes in any case and names in English or German, as the README says; the schema lists no codes."""
    accepted = ["DE", "de", "Deutschland", "Germany", "germany", "  AT ", "Österreich", "", None]
    bodies = [body for value in accepted for body in (
        {"company": "C", "country": value}, {"company": "C", "billing_address": {"country": value}}, {"company": "C", "shipping_address": [{"country": value}]}
    )]

    assert _verdicts(schema, api_client, bodies) == []
    for name in ("CustomerCreate", "CustomerUpdate", "AddressIn"):
        assert [n for n in _walk(schema["components"]["schemas"][name]) if "enum" in n and "DE" in n["enum"]] == []


def test_the_answer_says_how_birthdays_are_shown(schema):
    for name in ("CustomerV10", "CustomerV9"):
        birthday = schema["components"]["schemas"][name]["properties"]["birthday"]
        assert "whole minutes" in birthday["description"] and "UTC" in birthday["description"], birthday
