"""The Customers API, compatible with Inventorum's (docs/api.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIResponse, OpenAPIType, Schema
from litestar.params import FromPath, FromQuery
from litestar.serialization import encode_json
from sqlalchemy.orm import Session

from app.accounts.tokens import Principal
from app.api.auth import API_RESPONSES, provide_principal, provide_version
from app.api.body import provide_json_body
from app.api.cache import ResponseCache, header_lists
from app.api.docs import ETAG, LINK, LOCATION, documented, request_header, responses
from app.api.errors import ApiError, error_response, not_found, serializer_error
from app.api.versions import CURRENT_VERSION, MIN_VERSION
from app.customers import feed, service
from app.customers.forms import NAME_MESSAGE, CustomerForm
from app.customers.models import Customer, CustomerRecord
from app.customers.payload import PHONE_LIST_MAX_VERSION, client_paths, flatten, to_json
from app.customers.schemas import ChangeList, CustomerList, CustomerV9, CustomerV10
from app.database.engine import reads_only, released_on_error, session_factory
from app.shared.inputs import MAX_ID, search_text, whole_number

CustomerOut = CustomerV10 | CustomerV9


# What the OpenAPI document says beyond what Litestar infers (app/api/docs.py): the headers read
# and answered, the statuses each operation really returns, and the query parameters parsed here.
X_API_VERSION = request_header(
    "X-Api-Version",
    f"The response shape: {PHONE_LIST_MAX_VERSION} and below show `phone_numbers`, later ones `phone_number`. "
    f"Absent: {CURRENT_VERSION}.",
    Schema(type=OpenAPIType.INTEGER, enum=list(range(MIN_VERSION, CURRENT_VERSION + 1))),
)
IF_MATCH = request_header(
    "If-Match", "ETags (or `*`) of the versions this request may change; another version answers 412.", Schema(type=OpenAPIType.STRING)
)
IF_NONE_MATCH = request_header(
    "If-None-Match", "The list's ETag from an earlier answer: 304 without a body while nothing changed.", Schema(type=OpenAPIType.STRING)
)
LIST_QUERY = {
    "limit": Schema(type=OpenAPIType.INTEGER, minimum=1, description=f"Customers a page, at most {service.PAGE_SIZE} (more counts as {service.PAGE_SIZE})."),
    "page": Schema(type=OpenAPIType.INTEGER, minimum=1, description="The page, from 1. Not with `after`."),
    "after": Schema(type=OpenAPIType.INTEGER, minimum=0, description="The id of the last customer received (0 to start): the customers after it, oldest first. Not with `page`."),
}
ListOperation = documented(
    query=LIST_QUERY,
    headers=[X_API_VERSION, IF_NONE_MATCH],
    response_headers={200: {"ETag": ETAG, "Link": LINK}},
    extra_responses={304: OpenAPIResponse(description="Not modified: the list is the one that ETag names. No body.", headers={"ETag": ETAG})},
)
# The API's statuses with the customers' own examples of 400, 404 and 412.
CUSTOMER_RESPONSES = {
    **API_RESPONSES,
    400: error_response(
        "Bad request. Keys: `common.serializer_error` (field errors, every failing field listed), "
        "`common.malformed_json`, `common.invalid_body`, `common.invalid_parameter`, `common.invalid_api_version`.",
        ("common.serializer_error", "Serialization error", {name: [NAME_MESSAGE] for name in ("first_name", "last_name", "company")}),
        ("common.invalid_parameter", "A query parameter is not valid.", {"limit": ["Must be a positive integer."]}),
        ("common.malformed_json", "The request body is not valid JSON: JSON is malformed: invalid character (byte 0)", {}),
        ("common.invalid_body", "The request body must be a JSON object.", {}),
        ("common.invalid_api_version", f"X-Api-Version must be a whole number from {MIN_VERSION} to {CURRENT_VERSION}.", {}),
    ),
    404: error_response(
        "No such customer in this account. Key: `common.unknown`.", ("common.unknown", None, {})),
    412: error_response(
        "If-Match names a version the customer no longer has; `ETag` tells the current one. Key: `common.precondition_failed`.",
        ("common.precondition_failed", "The customer was changed since that version. GET it again, then retry with its new ETag.", {}),
    ),
}
LIST_RESPONSES = responses(CUSTOMER_RESPONSES, 400, 401, 403, 429, 500, 503)
GetOperation = documented(headers=[X_API_VERSION], response_headers={200: {"ETag": ETAG}})
CreateOperation = documented(body="CustomerCreate", headers=[X_API_VERSION], response_headers={201: {"ETag": ETAG, "Location": LOCATION}})
UpdateOperation = documented(body="CustomerUpdate", headers=[X_API_VERSION, IF_MATCH], response_headers={200: {"ETag": ETAG}, 412: {"ETag": ETAG}})
CHANGES_QUERY = {
    "after": Schema(type=OpenAPIType.INTEGER, minimum=0, description="The `id` of the last change received, or the `cursor` of the last answer (0, or absent: from the first change)."),
    "limit": Schema(type=OpenAPIType.INTEGER, minimum=1, description=f"Changes a page, at most {feed.MAX_PAGE_SIZE} (more counts as {feed.MAX_PAGE_SIZE}); {feed.PAGE_SIZE} if absent."),
}
MAX_CURSOR = 2**63 - 1
CURSOR_MESSAGE = "Must be the id of a change (0 or more)."
CHANGES_RESPONSES = {
    **LIST_RESPONSES,
    400: error_response(
        "Bad request. Keys: `common.invalid_parameter`, `common.invalid_api_version`.",
        ("common.invalid_parameter", "A query parameter is not valid.", {"after": [CURSOR_MESSAGE]}),
        ("common.invalid_api_version", f"X-Api-Version must be a whole number from {MIN_VERSION} to {CURRENT_VERSION}.", {}),
    ),
}
ChangesOperation = documented(query=CHANGES_QUERY, headers=[X_API_VERSION], response_headers={200: {"Link": LINK}})
DeleteOperation = documented(headers=[IF_MATCH], response_headers={412: {"ETag": ETAG}}, without=[400])


def etag(customer: Customer | CustomerRecord) -> str:
    return f'"{customer.id}-{customer.version}"'


def _check_if_match(request: Request[Any, Any, Any], customer: Customer) -> None:
    """RFC 9110 If-Match: one listed ETag, by strong comparison (a weak one never matches), or * must match the current one."""
    header = request.headers.get("if-match")
    if header is None:
        return
    current = etag(customer)
    if header_lists(header, current, strong=True):
        return
    raise ApiError(
        412,
        "common.precondition_failed",
        "The customer was changed since that version. GET it again, then retry with its new ETag.",
        headers={"ETag": current},
    )


MAX_PAGE = 10_000_000


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(400, "common.invalid_parameter", "A query parameter is not valid.", {name: [message]})


def _positive(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    number = whole_number(raw)
    if number is None or number < 1:
        raise _invalid(name, "Must be a positive integer.")
    # Any page past the end is empty; beyond MAX_PAGE every list has ended.
    return min(number, MAX_PAGE)


def _validated(body: dict[str, Any], version: int, principal: Principal, customer: Customer | None = None) -> CustomerForm:
    flat = flatten(body, version)
    form = CustomerForm.bind(flat.formdata, timezone=principal.timezone, customer=customer, known_ids_only=True)
    valid = form.validate()
    if not valid or flat.errors:
        raise serializer_error(client_paths(form.errors_by_path(), flat))
    return form


def _after(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    number = whole_number(raw)
    if number is None:
        raise _invalid("after", "Must be a customer id (0 or more).")
    return min(number, MAX_ID)




def _cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    number = whole_number(raw)
    if number is None:
        raise _invalid("after", CURSOR_MESSAGE)
    return min(number, MAX_CURSOR)


def _list_body(principal: Principal, version: int, query: service.Query, number: int, after: int | None, per_page: int) -> tuple[bytes, dict[str, Any] | None]:
    """The body of a list page, and the parameters of the next page if there is one."""
    with session_factory()() as session:
        reads_only(session)
        if after is None:
            result = service.page(session, principal.account_id, query, number, per_page, addresses=True)
            more = number * per_page < result.total or (not result.exact and len(result.items) == per_page)
            following = {"page": number + 1} if more else None
        else:
            result, more = service.page_after(session, principal.account_id, after, query, per_page, addresses=True)
            following = {"after": result.items[-1].id} if more else None
        body = encode_json(CustomerList(total=result.total, data=[to_json(c, version, principal.timezone) for c in result.items]))
        return body, following


def _next_link(path: str, following: dict[str, Any], per_page: int, search: str) -> dict[str, str]:
    params = {**following, "limit": per_page, **({"search": search} if search else {})}
    return {"Link": f'<{path}?{urlencode(params)}>; rel="next"'}


async def _list(
    request: Request[Any, Any, Any], principal: Principal, version: int, favourites: bool, limit: str | None, page: str | None, after: str | None, search: str
) -> Response[CustomerList]:
    """A list page, with a strong ETag; ``If-None-Match`` with it answers 304 while the account's customers are unchanged."""
    per_page = min(_positive("limit", limit, service.PAGE_SIZE), service.PAGE_SIZE)
    number = _positive("page", page, 1)
    after_id = _after(after)
    if after_id is not None and page not in (None, ""):
        raise _invalid("after", "Send either page or after, not both.")
    query = service.Query(search=search_text(search), favourites=favourites, sort="created").normalised()
    position = ("after", after_id) if after_id is not None else number
    key = (principal.account_id, principal.revision, principal.timezone, version, query, position, per_page)
    remembered: ResponseCache = request.app.state.api_lists
    cached = remembered.get(key)
    if cached is None:
        body, following = await sync_to_thread(_list_body, principal, version, query, number, after_id, per_page)
        path = "/api/customers/favourites/" if favourites else "/api/customers/"
        link = _next_link(path, following, per_page, query.search) if following else None
        cached = remembered.put(key, body, link)
    if cached.matches(request.headers.get("if-none-match")):
        return Response(b"", status_code=304, headers={"ETag": cached.etag})  # type: ignore[arg-type]  # no body
    # The CustomerList, encoded once and remembered.
    return Response(cached.body, media_type=MediaType.JSON, headers={"ETag": cached.etag, **cached.headers})  # type: ignore[arg-type]


def _update(request: Request[Any, Any, Any], session: Session, principal: Principal, version: int, customer_id: int, payload: dict[str, Any]) -> Response[CustomerOut]:
    customer = service.get_for_update(session, principal.account_id, customer_id)
    if customer is None:
        raise not_found()
    with released_on_error(session):
        _check_if_match(request, customer)
        form = _validated(payload, version, principal, customer)
    customer = service.update_customer(session, customer, form.cleaned(), principal.who)
    return Response(to_json(customer, version, principal.timezone), headers={"ETag": etag(customer)})


class CustomersApi(Controller):
    path = "/api/customers"
    tags = ["Customers"]
    dependencies = {
        "principal": Provide(provide_principal),
        "version": Provide(provide_version, sync_to_thread=False),
        "payload": Provide(provide_json_body),
    }
    security = [{"BearerToken": []}]

    @get("/", responses=LIST_RESPONSES, opt={"scope": "customers:read"}, summary="List customers", operation_id="list_customers", operation_class=ListOperation)
    async def list_customers(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], version: NamedDependency[int], limit: FromQuery[str | None] = None, page: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None, search: FromQuery[str] = ""
    ) -> Response[CustomerList]:
        """Customers of the token's account, 30 a page, oldest first. ``search`` matches name, company, email, phone and city.
        Page by ``page`` (1, 2, …), or, to walk a long list, by ``after`` (the id of the last customer received; 0 to
        start): each such page costs the same at any depth. ``Link: <…>; rel="next"`` names the next page, if any.
        The ``ETag`` changes with any change to the account's customers; send it as ``If-None-Match`` to get 304 while nothing changed."""
        return await _list(request, principal, version, False, limit, page, after, search)

    @get("/favourites", responses=LIST_RESPONSES, opt={"scope": "customers:read"}, summary="List favourite customers", operation_id="list_favourites", operation_class=ListOperation)
    async def list_favourites(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], version: NamedDependency[int], limit: FromQuery[str | None] = None, page: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None, search: FromQuery[str] = ""
    ) -> Response[CustomerList]:
        """Favourite customers only; otherwise as the list."""
        return await _list(request, principal, version, True, limit, page, after, search)

    @get(
        "/changes", sync_to_thread=True, responses=CHANGES_RESPONSES, opt={"scope": "customers:read"}, summary="Changes to customers",
        operation_id="list_changes", operation_class=ChangesOperation,
    )
    def list_changes(
        self, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int],
        after: FromQuery[str | None] = None, limit: FromQuery[str | None] = None,
    ) -> Response[ChangeList]:
        """Every create, update, delete and restore of the account's customers, in the order they were committed,
        each numbered (``id``) one after the other. Read from ``after=0``, then keep asking with the ``cursor`` of
        the last answer: no change is ever skipped, including those committing while you read. A full page
        answers ``Link: <…>; rel="next"`` (more may follow at once). Each change carries the customer as it is
        when read (null once deleted): applying the changes in order, upserting ``customer`` or dropping the
        customer when it is null, leaves a copy equal to the account's customers."""
        per_page = min(_positive("limit", limit, feed.PAGE_SIZE), feed.MAX_PAGE_SIZE)
        cursor = _cursor(after)
        page = feed.read(session, principal.account_id, cursor, per_page, version, principal.timezone)
        headers = {"Link": f'<{CustomersApi.path}/changes/?{urlencode({"after": page.cursor, "limit": per_page})}>; rel="next"'} if page.full else {}
        return Response(ChangeList(data=page.changes, cursor=page.cursor), headers=headers)

    @get(
        "/{customer_id:int}", sync_to_thread=True, responses=responses(CUSTOMER_RESPONSES, 400, 401, 403, 404, 429, 500, 503),
        opt={"scope": "customers:read"}, summary="Get a customer", operation_id="get_customer", operation_class=GetOperation,
    )
    def get_customer(self, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], customer_id: FromPath[int]) -> Response[CustomerOut]:
        """The customer; its ``ETag`` can be sent back as ``If-Match`` to update or delete only that version."""
        reads_only(session)
        customer = service.get(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        return Response(to_json(customer, version, principal.timezone), headers={"ETag": etag(customer)})

    @post(
        "/", sync_to_thread=True, responses=responses(CUSTOMER_RESPONSES, 400, 401, 403, 413, 429, 500, 503),
        opt={"scope": "customers:create"}, summary="Create a customer", operation_id="create_customer", operation_class=CreateOperation,
    )
    def create_customer(self, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], payload: NamedDependency[dict[str, Any]]) -> Response[CustomerOut]:
        form = _validated(payload, version, principal)
        customer = service.create(session, principal.account_id, form.cleaned(), principal.who)
        headers = {"ETag": etag(customer), "Location": f"{CustomersApi.path}/{customer.id}/"}
        return Response(to_json(customer, version, principal.timezone), status_code=201, headers=headers)

    @put(
        "/{customer_id:int}", sync_to_thread=True, responses=responses(CUSTOMER_RESPONSES, 400, 401, 403, 404, 412, 413, 429, 500, 503),
        opt={"scope": "customers:update"}, summary="Update a customer (partial)", operation_id="update_customer", operation_class=UpdateOperation,
    )
    def update_customer(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], customer_id: FromPath[int], payload: NamedDependency[dict[str, Any]]
    ) -> Response[CustomerOut]:
        """Only the fields sent change, in addresses too. A ``shipping_address`` entry updates the stored address
        with its ``id``, or without one the address at its position; entries beyond are new; stored addresses
        no entry names are removed (a shorter list removes the last ones).
        With ``If-Match``, a customer changed since that ETag is not touched: 412."""
        return _update(request, session, principal, version, customer_id, payload)

    @post(
        "/{customer_id:int}", sync_to_thread=True, status_code=200, responses=responses(CUSTOMER_RESPONSES, 400, 401, 403, 404, 412, 413, 429, 500, 503),
        opt={"scope": "customers:update"}, summary="Update a customer (partial): alias of PUT", operation_id="update_customer_by_post",
        operation_class=UpdateOperation,
    )
    def update_customer_by_post(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], customer_id: FromPath[int], payload: NamedDependency[dict[str, Any]]
    ) -> Response[CustomerOut]:
        """The same as ``PUT /api/customers/{customer_id}/``: the reference writes its update example with ``-X POST``."""
        return _update(request, session, principal, version, customer_id, payload)

    @delete(
        "/{customer_id:int}", sync_to_thread=True, responses=responses(CUSTOMER_RESPONSES, 401, 403, 404, 412, 429, 500, 503),
        opt={"scope": "customers:delete"}, status_code=200, media_type="text/plain", response_description="Deleted: moved to the trash. The body is empty.",
        summary="Delete a customer", operation_id="delete_customer", operation_class=DeleteOperation,
    )
    def delete_customer(self, request: Request[Any, Any, Any], session: NamedDependency[Session], principal: NamedDependency[Principal], customer_id: FromPath[int]) -> Response[bytes]:
        """Moves the customer to the back office's trash (restorable for 30 days); the API answers 404 for it from then on.
        With ``If-Match``, a customer changed since that ETag is not deleted: 412."""
        customer = service.get_for_update(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        with released_on_error(session):
            _check_if_match(request, customer)
        service.trash_customer(session, customer, principal.who)
        return Response(b"", status_code=200, media_type="text/plain")


__all__ = ["CustomersApi"]
