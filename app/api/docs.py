"""What the OpenAPI document says about each API operation beyond what Litestar infers:
the headers it reads and answers, the statuses it can really return (each with a real
example of its error envelope), and the schemas of parameters the handlers parse
themselves. A generated client trusts every word of it, so it says exactly what the
server does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)


def _header(description: str, schema: Schema | None = None, *, required: bool = True) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema or Schema(type=OpenAPIType.STRING), description=description, required=required)


ETAG = _header("The version of what the body shows, as a strong entity tag (RFC 9110).")
LOCATION = _header("The new resource's URL, as a path (RFC 9110 §10.2.2).", Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI_REFERENCE))
LINK = _header('`<…>; rel="next"`: the URL of the next page, while there is one (RFC 8288).', required=False)
RETRY_AFTER = _header("Seconds to wait before trying again.", Schema(type=OpenAPIType.INTEGER, minimum=1))
WWW_AUTHENTICATE = _header("The authentication scheme to use.")
NO_STORE = {
    "Cache-Control": _header("Always `no-store`: tokens must not be cached."),
    "Pragma": _header("Always `no-cache`."),
}


def request_header(name: str, description: str, schema: Schema) -> Parameter:
    return Parameter(name=name, param_in=ParamType.HEADER, schema=schema, description=description, required=False)


def responses(table: Mapping[int, ResponseSpec], *statuses: int) -> dict[int, ResponseSpec]:
    return {status: table[status] for status in statuses}


# Headers that error responses always carry, by status.
ERROR_HEADERS: dict[int, dict[str, OpenAPIHeader]] = {
    401: {"WWW-Authenticate": WWW_AUTHENTICATE},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}


def documented(
    *,
    body: str | RequestBody | None = None,
    query: Mapping[str, Schema] | None = None,
    headers: Sequence[Parameter] = (),
    response_headers: Mapping[int, Mapping[str, OpenAPIHeader]] | None = None,
    extra_responses: Mapping[int, OpenAPIResponse] | None = None,
    without: Sequence[int] = (),
    error_headers: Mapping[int, Mapping[str, OpenAPIHeader]] = ERROR_HEADERS,
) -> type[Operation]:
    """An operation class (Litestar's ``operation_class``) that completes the generated operation.

    ``body``: the component schema's name of a JSON body the handler reads itself, or the request
    body; ``query``: the schemas of query parameters the handler parses from strings; ``headers``:
    the request headers it reads; ``response_headers``: the headers each status answers;
    ``extra_responses``: statuses without a body (304); ``without``: statuses Litestar adds that
    the operation cannot answer (its 400 for handlers with parameters)."""
    parsed = dict(query or {})
    extra = dict(extra_responses or {})
    answered = {**error_headers, **(response_headers or {})}

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if isinstance(body, RequestBody):
                self.request_body = body
            elif body is not None:
                self.request_body = RequestBody(
                    content={"application/json": OpenAPIMediaType(schema=Reference(ref=f"#/components/schemas/{body}"))},
                    required=True,
                )
            parameters: list[Parameter | Reference] = []
            for parameter in self.parameters or []:
                if isinstance(parameter, Parameter) and parameter.name in parsed:
                    parameter.schema = parsed[parameter.name]
                    parameter.required = False
                parameters.append(parameter)
            self.parameters = [*parameters, *headers] or None
            if self.responses is not None:
                for status in without:
                    self.responses.pop(str(status), None)
                self.responses.update({str(status): response for status, response in extra.items()})
                for status, named in answered.items():
                    response = self.responses.get(str(status))
                    if isinstance(response, OpenAPIResponse):
                        response.headers = {**(response.headers or {}), **named}

    return DocumentedOperation
