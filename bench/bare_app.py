"""A bare Litestar app: the reference for the API's throughput.

`GET /api/customers/` answers the bytes of a real API list page (captured from
the app by `bench.run` into the file named by BENCH_BARE_BODY) from memory:
no database, no auth, no serialisation. Served by uvicorn exactly as
`clientele run` serves the app (uvloop, httptools, access log off).
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get


def create_app() -> Litestar:
    body = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()

    @get("/api/customers/", sync_to_thread=False)
    def customers() -> Response[bytes]:
        return Response(body, media_type="application/json")

    return Litestar(route_handlers=[customers], openapi_config=None)
