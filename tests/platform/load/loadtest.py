"""The load proof: a few dozen clients for 60 s of mixed reads, creates, partial
updates and deletes through the API and the pages, every acknowledged write then
checked in the database.

    python -m tests.platform.load.loadtest [--url URL --database-url URL] [--db sqlite|postgres|both]
                             [--seconds 60] [--clients 32]

Without --url it starts its own server (``clientele run --no-demo --workers 2``)
on a fresh database: var/load/sqlite/clientele_load.db and/or the PostgreSQL
database ``clientele_load`` (recreated). Prints requests served, errors by
status (unexpected ones must be 0) and writes lost (must be 0); exits 1 otherwise.
Not part of ``make test``: run it with ``make load``.
"""

from __future__ import annotations

import sys

from tests.platform.load.runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], crash=False))
