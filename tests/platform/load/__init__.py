"""Load and crash proof: many clients write through the API and the pages, every
acknowledged write is logged, and afterwards each one is checked in the database.

``python -m tests.platform.load.loadtest`` (``make load``) and ``python -m tests.platform.load.crash``
(``make crash``); not part of ``make test``. Traffic goes to 127.0.0.1 only; every
loop is bounded in time and in count.

- log.py: what a run records (the writes, the answers, what counts as expected);
- traffic.py: the clients (API and signed-in pages) and what they send;
- verifier.py: every acknowledged write against the database, and the account's numbers;
- databases.py: fresh databases, the account the run uses, the databases' own integrity checks;
- supervisor.py: the server under load, SIGKILLed and restarted in the crash proof
  (started and stopped with tests/server.py);
- runner.py: one run and its report, and the command line of both proofs.

What counts:
- acknowledged write: a create answered 201 (API) or 303 (page), an update
  answered 200 with the saved customer (API) or the saved row (page inline
  save), a delete answered 200. Each is logged with what was sent and the
  version it made (the ETag's version; a page save's row does not tell it:
  a save based on an older version is merged with the changes made since, so
  page saves are checked in the history, and explain the values they wrote).
- expected refusals: 404 (the customer was deleted meanwhile), 412 (stale
  If-Match), the page's conflict view (a stale ``_version``). Their new values
  must never show up anywhere.
- unacknowledged: a request that got no answer (connection refused or cut,
  in the crash test while the server was down). It may or may not have been
  applied; it is never required, but explains what it wrote if found.
- everything else is an unexpected error.

Every written text value is unique in the run, so a value found in the
database names the one write that put it there.
"""
