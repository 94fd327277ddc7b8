"""The Customers API, compatible with Inventorum's (see spec/API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.di import Provide
from litestar.openapi.spec import Operation
from sqlalchemy.orm import Session

from app.accounts.tokens import Principal
from app.api_auth import API_RESPONSES, provide_principal, provide_version
from app.customers import service
from app.customers.forms import CustomerForm
from app.customers.openapi import customer_request_body
from app.customers.payload import client_paths, flatten, to_json
from app.customers.schemas import CustomerList, CustomerV9, CustomerV10
from app.errors import ApiError, not_found, serializer_error

CustomerOut = CustomerV10 | CustomerV9


@dataclass
class CustomerBodyOperation(Operation):
    """Documents the request body the handlers read themselves."""

    def __post_init__(self) -> None:
        self.request_body = customer_request_body()


def _positive(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, "common.invalid_parameter", "A query parameter is not valid.", {name: ["Must be a positive integer."]})
    return int(raw)


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "common.invalid_body", "The request body must be a JSON object.")
    return data


def _validated(data: Any, version: int, principal: Principal, customer=None) -> CustomerForm:
    flat = flatten(_body(data), version)
    form = CustomerForm.bind(flat.formdata, timezone=principal.timezone, customer=customer)
    valid = form.validate()
    if not valid or flat.errors:
        raise serializer_error(client_paths(form.errors_by_path(), flat))
    return form


def _list(session: Session, principal: Principal, version: int, favourites: bool, limit: str | None, page: str | None, search: str) -> CustomerList:
    per_page = min(_positive("limit", limit, service.PAGE_SIZE), service.PAGE_SIZE)
    number = _positive("page", page, 1)
    result = service.page(session, principal.account_id, service.Query(search=search, favourites=favourites, sort="created"), number, per_page, addresses=True)
    return CustomerList(total=result.total, data=[to_json(c, version, principal.timezone) for c in result.items])


class CustomersApi(Controller):
    path = "/api/customers"
    tags = ["Customers"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=True), "version": Provide(provide_version, sync_to_thread=False)}
    security = [{"BearerToken": []}]

    @get("/", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="List customers")
    def list_customers(
        self, session: Session, principal: Principal, version: int, limit: str | None = None, page: str | None = None, search: str = ""
    ) -> CustomerList:
        """Customers of the token's account, 30 a page. ``search`` matches name, company, email, phone and city."""
        return _list(session, principal, version, False, limit, page, search)

    @get("/favourites", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="List favourite customers")
    def list_favourites(
        self, session: Session, principal: Principal, version: int, limit: str | None = None, page: str | None = None, search: str = ""
    ) -> CustomerList:
        """Favourite customers only; otherwise as the list."""
        return _list(session, principal, version, True, limit, page, search)

    @get("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:read"}, summary="Get a customer")
    def get_customer(self, session: Session, principal: Principal, version: int, customer_id: int) -> CustomerOut:
        customer = service.get(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        return to_json(customer, version, principal.timezone)

    @post("/", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:create"}, summary="Create a customer", operation_class=CustomerBodyOperation)
    def create_customer(self, session: Session, principal: Principal, version: int, data: Any) -> CustomerOut:
        form = _validated(data, version, principal)
        customer = service.create(session, principal.account_id, form.cleaned())
        return to_json(customer, version, principal.timezone)

    @put("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:update"}, summary="Update a customer (partial)", operation_class=CustomerBodyOperation)
    def update_customer(self, session: Session, principal: Principal, version: int, customer_id: int, data: Any) -> CustomerOut:
        """Only the fields sent change; a shipping address list, when sent, replaces the stored one."""
        _body(data)
        customer = service.get_for_update(session, principal.account_id, customer_id)
        if customer is None:
            raise not_found()
        form = _validated(data, version, principal, customer)
        customer = service.update_customer(session, customer, form.cleaned())
        return to_json(customer, version, principal.timezone)

    @delete("/{customer_id:int}", sync_to_thread=True, responses=API_RESPONSES, opt={"scope": "customers:delete"}, status_code=200, summary="Delete a customer")
    def delete_customer(self, session: Session, principal: Principal, customer_id: int) -> Response[bytes]:
        if not service.delete(session, principal.account_id, customer_id):
            raise not_found()
        return Response(b"", status_code=200, media_type="application/json")


__all__ = ["CustomersApi"]
