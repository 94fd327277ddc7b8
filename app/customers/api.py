"""The Customers API, compatible with Inventorum's (see spec/API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Operation
from litestar.params import FromPath, FromQuery
from litestar.serialization import encode_json
from sqlalchemy.orm import Session

from app.accounts.tokens import Principal
from app.api_auth import API_RESPONSES, provide_principal, provide_version
from app.api_body import provide_json_body
from app.customers import service
from app.customers.forms import CustomerForm
from app.customers.openapi import customer_request_body
from app.customers.payload import client_paths, flatten, to_json
from app.customers.schemas import CustomerList, CustomerV9, CustomerV10
from app.db import reads_only, released_on_error, session_factory
from app.errors import ApiError, not_found, serializer_error
from app.inputs import search_text, whole_number
from app.response_cache import ResponseCache, header_lists

CustomerOut = CustomerV10 | CustomerV9


@dataclass
class CustomerBodyOperation(Operation):
    """Documents the request body the handlers read themselves."""

    def __post_init__(self) -> None:
        self.request_body = customer_request_body()


def etag(customer) -> str:
    return f'"{customer.id}-{customer.version}"'


def _check_if_match(request: Request, customer) -> None:
    """RFC 9110 If-Match: any listed ETag (weak or strong) or * must match the current one."""
    header = request.headers.get("if-match")
    if header is None:
        return
    current = etag(customer)
    if header_lists(header, current):
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


def _validated(body: dict[str, Any], version: NamedDependency[int], principal: NamedDependency[Principal], customer=None) -> CustomerForm:
    flat = flatten(body, version)
    form = CustomerForm.bind(flat.formdata, timezone=principal.timezone, customer=customer)
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
    return min(number, service.MAX_ID)


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
    request: Request, principal: Principal, version: int, favourites: bool, limit: str | None, page: str | None, after: str | None, search: str
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
        return Response(b"", status_code=304, headers={"ETag": cached.etag})
    return Response(cached.body, media_type=MediaType.JSON, headers={"ETag": cached.etag, **cached.headers})


class CustomersApi(Controller):
    path = "/api/customers"
    tags = ["Customers"]
    dependencies = {
        "principal": Provide(provide_principal),
        "version": Provide(provide_version, sync_to_thread=False),
        "payload": Provide(provide_json_body),
    }
    security = [{"BearerToken": []}]

    @get("/", responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="List customers")
    async def list_customers(
        self, request: Request, principal: NamedDependency[Principal], version: NamedDependency[int], limit: FromQuery[str | None] = None, page: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None, search: FromQuery[str] = ""
    ) -> Response[CustomerList]:
        """Customers of the token's account, 30 a page, oldest first. ``search`` matches name, company, email, phone and city.
        Page by ``page`` (1, 2, …), or, to walk a long list, by ``after`` (the id of the last customer received; 0 to
        start): each such page costs the same at any depth. ``Link: <…>; rel="next"`` names the next page, if any.
        The ``ETag`` changes with any change to the account's customers; send it as ``If-None-Match`` to get 304 while nothing changed."""
        return await _list(request, principal, version, False, limit, page, after, search)

    @get("/favourites", responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="List favourite customers")
    async def list_favourites(
        self, request: Request, principal: NamedDependency[Principal], version: NamedDependency[int], limit: FromQuery[str | None] = None, page: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None, search: FromQuery[str] = ""
    ) -> Response[CustomerList]:
        """Favourite customers only; otherwise as the list."""
        return await _list(request, principal, version, True, limit, page, after, search)

    @get("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="Get a customer")
    def get_customer(self, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], customer_id: FromPath[int]) -> Response[CustomerOut]:
        """The customer; its ``ETag`` can be sent back as ``If-Match`` to update or delete only that version."""
        reads_only(session)
        customer = service.get(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        return Response(to_json(customer, version, principal.timezone), headers={"ETag": etag(customer)})

    @post("/", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:create"}, summary="Create a customer", operation_class=CustomerBodyOperation)
    def create_customer(self, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], payload: NamedDependency[dict[str, Any]]) -> Response[CustomerOut]:
        form = _validated(payload, version, principal)
        customer = service.create(session, principal.account_id, form.cleaned(), principal.who)
        return Response(to_json(customer, version, principal.timezone), status_code=201, headers={"ETag": etag(customer)})

    @put("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:update"}, summary="Update a customer (partial)", operation_class=CustomerBodyOperation)
    def update_customer(
        self, request: Request, session: NamedDependency[Session], principal: NamedDependency[Principal], version: NamedDependency[int], customer_id: FromPath[int], payload: NamedDependency[dict[str, Any]]
    ) -> Response[CustomerOut]:
        """Only the fields sent change; a shipping address list, when sent, replaces the stored one.
        With ``If-Match``, a customer changed since that ETag is not touched: 412."""
        customer = service.get_for_update(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        with released_on_error(session):
            _check_if_match(request, customer)
            form = _validated(payload, version, principal, customer)
        customer = service.update_customer(session, customer, form.cleaned(), principal.who)
        return Response(to_json(customer, version, principal.timezone), headers={"ETag": etag(customer)})

    @delete("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:delete"}, status_code=200, media_type="text/plain", response_description="Deleted: moved to the trash. The body is empty.", summary="Delete a customer")
    def delete_customer(self, request: Request, session: NamedDependency[Session], principal: NamedDependency[Principal], customer_id: FromPath[int]) -> Response[bytes]:
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
