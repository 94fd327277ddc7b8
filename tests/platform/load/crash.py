"""The crash proof: the load of tests.platform.load.loadtest while the server's whole process
group is SIGKILLed every 10-15 s and started again (and once more just before
the end, while clients are writing). Requests that got no answer are not
acknowledged and not required. Afterwards the database passes its integrity
checks (SQLite: PRAGMA integrity_check, foreign_key_check, the FTS index's
integrity-check; PostgreSQL: amcheck on every B-tree index, orphans, counters)
and every acknowledged write is there.

    python -m tests.platform.load.crash [--database-url URL] [--db sqlite|postgres|both] [--seconds 60] [--clients 32]

Fresh databases: var/load/sqlite/clientele_crash.db and/or the PostgreSQL
database ``clientele_crash`` (recreated). Not part of ``make test``: ``make crash``.
"""

from __future__ import annotations

import sys

from tests.platform.load.runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], crash=True))
