"""Generic back-office views, made for any resource from its description.

Every view answers a whole page to a plain request and the partial that htmx
asks for to an htmx request; both render the same partial templates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from anyio import to_thread
from litestar import MediaType, Request, Response, Router, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Stream, Template
from sqlalchemy.orm import Session

from app.admin.resource import Actor, Conflict, Invalid, ListQuery, Resource
from app.db import get_engine, reads_only, session_scope
from app.inputs import search_text, whole_number
from app.web.auth import provide_actor

TRUE = {"1", "y", "yes", "on", "true"}


def list_query(resource: Resource, params: MultiDict | dict) -> ListQuery:
    search = search_text(params.get("q"))
    filters = frozenset(f.name for f in resource.filters if str(params.get(f.name) or "").lower() in TRUE)
    sort = str(params.get("sort") or "")
    if sort not in resource.sorts:
        sort = resource.default_sort
    return ListQuery(search=search, filters=filters, sort=sort, descending=params.get("dir") == "desc")


def query_params(query: ListQuery, **changes: Any) -> list[tuple[str, Any]]:
    """The URL parameters of a list state, with some changed (a form's hidden inputs write them too)."""
    params: dict[str, Any] = {"q": query.search, "sort": query.sort, "dir": "desc" if query.descending else ""}
    params.update({name: "1" for name in sorted(query.filters)})
    params.update(changes)
    return [(k, v) for k, v in params.items() if v not in ("", None, False)]


def query_string(query: ListQuery, **changes: Any) -> str:
    return urlencode(query_params(query, **changes))


def _page_number(raw: str | None) -> int:
    number = whole_number(raw)
    return number if number is not None and 0 < number < 10**7 else 1


def release(session: Session) -> None:
    """End the session's transaction now, keeping what it read: the write lock or the rows read
    for update are not held while the answer renders, and the page renders what was read
    instead of reading it again (on the event loop, where templates render)."""
    session.expunge_all()
    session.rollback()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


async def _formdata(request: Request) -> MultiDict:
    form = await request.form()
    return MultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "_csrf_token"])


def make_router(resource: Resource) -> Router:
    """The list, print, create, edit, inline edit, toggle and delete views of one resource."""
    name = resource.name
    base = f"/{name}"
    opt = {"roles": resource.roles}
    # Views that only read: on SQLite in place on the event loop (in-process reads in WAL mode never wait
    # for a lock, and cost less than the hop to a worker thread and back); on PostgreSQL in a worker thread.
    read_only = {"sync_to_thread": get_engine().dialect.name != "sqlite"}

    def ctx(request: Request, actor: Actor, **extra: Any) -> dict[str, Any]:
        return {"resource": resource, "actor": actor, "query_string": query_string, "query_params": query_params, **extra}

    def back_to_list(request: Request) -> str:
        """Where to return after a change: the list state the user came from."""
        referer = request.headers.get("referer", "")
        marker = f"{request.base_url}{name}"
        if referer.startswith(marker) and "/" not in referer[len(marker) :].split("?")[0]:
            return base + referer[len(marker) :]
        return base

    def expected_version(formdata: MultiDict) -> int | None:
        return whole_number(formdata.get("_version")) if resource.versioned else None

    def conflict_page(request: Request, session: Session, actor: Actor, form: Any, conflict: Conflict, formdata: MultiDict, names, inline: bool) -> Template:
        """The user's input kept, the other change shown field by field, and a choice."""
        saved = resource.store.bind(None, actor, conflict.current)
        rows = differences(form, saved, names)
        posted = [(k, v) for k, v in formdata.multi_items() if k != "_version"]
        release(session)
        context = ctx(
            request, actor, item=conflict.current, rows=rows, posted=posted, conflict=conflict,
            action=f"{base}/{conflict.current.id}/{'row' if inline or names == resource.inline_fields else 'edit'}",
            inline=inline,
        )
        if inline:
            return Template("resource/_row_conflict.html", context=context)
        return Template("resource/conflict.html", context=context, status_code=409)

    def safe_back(target: str) -> str | None:
        """A return address inside this resource's list, or None."""
        if target == base or (target.startswith(f"{base}?") and "//" not in target and "\\" not in target):
            return target
        return None

    def missing() -> NotFoundException:
        return NotFoundException(f"No such {resource.singular}.")

    def get_or_404(session: Session, actor: Actor, item_id: int) -> Any:
        item = resource.store.get(session, actor, item_id)
        if item is None:
            raise missing()
        return item

    def get_for_update_or_404(session: Session, actor: Actor, item_id: int) -> Any:
        item = resource.store.get_for_update(session, actor, item_id)
        if item is None:
            raise missing()
        return item

    # -- list --------------------------------------------------------------

    @get("/", name=f"{name}:list", **read_only)
    def list_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        reads_only(session)
        query = list_query(resource, request.query_params)
        number = _page_number(request.query_params.get("page"))
        listing = resource.store.listing(session, actor, query, number, resource.per_page)
        if number > listing.pages:
            number = listing.pages
            listing = resource.store.listing(session, actor, query, number, resource.per_page)
        context = ctx(request, actor, query=query, listing=listing)
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return Template("resource/_results.html", context={**context, "partial": True})
        return Template("resource/list.html", context=context)

    # -- print -------------------------------------------------------------

    @get("/print", name=f"{name}:print")
    async def print_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        query = list_query(resource, request.query_params)
        environment = request.app.template_engine.engine
        template = environment.get_template("resource/print.html")
        printed_at = datetime.now(ZoneInfo(actor.timezone))

        def chunks() -> Iterator[str]:
            # Its own session: the stream outlives the request's.
            with session_scope() as session:
                total = resource.store.listing(session, actor, query, 1, 1).total
                items = resource.store.stream(session, actor, query)
                yield from template.generate(
                    resource=resource, actor=actor, query=query, items=items, total=total, printed_at=printed_at, query_string=query_string
                )

        return Stream(await started(buffered(chunks())), media_type=MediaType.HTML, headers=NO_STORE)

    # -- export ------------------------------------------------------------

    @get("/export.csv", name=f"{name}:export")
    async def export_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        query = list_query(resource, request.query_params)
        columns = [c for c in resource.columns if c.printed]

        def rows() -> Iterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow([c.label for c in columns])
            with session_scope() as session:
                for item in resource.store.stream(session, actor, query):
                    writer.writerow([csv_cell(column_text(c, item)) for c in columns])
                    if out.tell() > 65536:
                        yield out.getvalue()
                        out.seek(0)
                        out.truncate()
            yield out.getvalue()

        filename = f"{resource.name}-{datetime.now(ZoneInfo(actor.timezone)):%Y-%m-%d}.csv"
        return Stream(
            await started(rows()),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to every text/ type
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # -- create ------------------------------------------------------------

    @get("/new", name=f"{name}:new", sync_to_thread=False)
    def new_view(request: Request, actor: NamedDependency[Actor]) -> Template:
        form = resource.store.bind(None, actor)
        return Template("resource/form.html", context=ctx(request, actor, form=form, item=None))

    @post("/", name=f"{name}:create")
    async def create_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_create, request, session, actor, formdata)

    def _create(request: Request, session: Session, actor: Actor, formdata: MultiDict) -> Response[Any]:
        formdata, rerender = _list_buttons(formdata)
        form = resource.store.bind(formdata, actor)
        if rerender or not form.validate():
            status = 200 if rerender else 422
            return Template("resource/form.html", context=ctx(request, actor, form=form, item=None), status_code=status)
        try:
            item = resource.store.create(session, actor, form)
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template("resource/form.html", context=ctx(request, actor, form=form, item=None), status_code=422)
        flash(request, f"Created {resource.describe(item)}.", category="success")
        return Redirect(f"{base}?{urlencode({'q': resource.describe(item)})}", status_code=303)

    # -- full edit ---------------------------------------------------------

    @get("/{item_id:int}/edit", name=f"{name}:edit", **read_only)
    def edit_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        reads_only(session)
        item = get_or_404(session, actor, item_id)
        form = resource.store.bind(None, actor, item)
        return Template("resource/form.html", context=ctx(request, actor, form=form, item=item))

    @post("/{item_id:int}/edit", name=f"{name}:save")
    async def save_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_save, request, session, actor, formdata, item_id)

    def _save(request: Request, session: Session, actor: Actor, formdata: MultiDict, item_id: int) -> Response[Any]:
        formdata, rerender = _list_buttons(formdata)
        item = get_for_update_or_404(session, actor, item_id)
        form = resource.store.bind(formdata, actor, item, replace=_all_fields(resource))
        # Shown again, the form keeps the version the user's input is based on: saved later, it must
        # still meet any change made meanwhile (the item read now may be newer).
        version = expected_version(formdata)
        again = ctx(request, actor, form=form, item=item, version=version)
        if rerender or not form.validate():
            release(session)
            return Template("resource/form.html", context=again, status_code=200 if rerender else 422)
        try:
            item = resource.store.update(session, actor, item, form, version)
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template("resource/form.html", context=again, status_code=422)
        except Conflict as conflict:
            return conflict_page(request, session, actor, form, conflict, formdata, _all_fields(resource), inline=False)
        flash(request, f"Saved {resource.describe(item)}.", category="success")
        return Redirect(base, status_code=303)

    # -- rows: show, inline edit, inline save, toggle ---------------------------

    @get("/{item_id:int}/row", name=f"{name}:row", **read_only)
    def row_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = get_or_404(session, actor, item_id)
        return Template("resource/_row.html", context=ctx(request, actor, item=item))

    @get("/{item_id:int}/row/edit", name=f"{name}:row_edit", **read_only)
    def row_edit_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        if not is_htmx(request):
            return Redirect(f"{base}/{item_id}/edit", status_code=303)
        item = get_or_404(session, actor, item_id)
        form = resource.store.bind(None, actor, item)
        return Template("resource/_row_edit.html", context=ctx(request, actor, item=item, form=form))

    @post("/{item_id:int}/row", name=f"{name}:row_save")
    async def row_save_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_row_save, request, session, actor, formdata, item_id)

    def _row_save(request: Request, session: Session, actor: Actor, formdata: MultiDict, item_id: int) -> Response[Any]:
        item = get_for_update_or_404(session, actor, item_id)
        form = resource.store.bind(formdata, actor, item, replace=resource.inline_fields)
        version = expected_version(formdata)
        if not form.validate():
            release(session)
            # 200 so that htmx swaps the form back in, with the errors, the input and its version kept.
            return Template("resource/_row_edit.html", context=ctx(request, actor, item=item, form=form, version=version))
        try:
            item = resource.store.update(session, actor, item, form, version)
        except Conflict as conflict:
            return conflict_page(request, session, actor, form, conflict, formdata, resource.inline_fields, inline=is_htmx(request))
        if not is_htmx(request):
            flash(request, f"Saved {resource.describe(item)}.", category="success")
            return Redirect(back_to_list(request), status_code=303)
        return Template("resource/_row.html", context=ctx(request, actor, item=item, saved=True))

    @post("/{item_id:int}/toggle/{field_name:str}", name=f"{name}:toggle")
    async def toggle_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int], field_name: FromPath[str]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_toggle, request, session, actor, formdata, item_id, field_name)

    def _toggle(request: Request, session: Session, actor: Actor, formdata: MultiDict, item_id: int, field_name: str) -> Response[Any]:
        if field_name not in resource.toggles:
            raise NotFoundException()
        value = str(formdata.get("value", "")).lower() in TRUE
        item = resource.store.toggle(session, actor, item_id, field_name, value)
        if item is None:
            raise missing()
        if not is_htmx(request):
            return Redirect(back_to_list(request), status_code=303)
        return Template("resource/_row.html", context=ctx(request, actor, item=item))

    # -- delete ------------------------------------------------------------

    @get("/{item_id:int}/delete", name=f"{name}:confirm_delete", **read_only)
    def confirm_delete_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = get_or_404(session, actor, item_id)
        template = "resource/_delete_dialog.html" if is_htmx(request) else "resource/delete.html"
        return Template(template, context=ctx(request, actor, item=item, back=back_to_list(request)))

    @post("/{item_id:int}/delete", name=f"{name}:delete")
    async def delete_view(
        request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]
    ) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_delete, request, session, actor, formdata, item_id)

    def _delete(request: Request, session: Session, actor: Actor, formdata: MultiDict, item_id: int) -> Response[Any]:
        back = safe_back(str(formdata.get("back") or "")) or back_to_list(request)
        item = get_or_404(session, actor, item_id)
        label = resource.describe(item)
        try:
            deleted = resource.store.delete(session, actor, item_id)
        except Invalid as exc:
            if is_htmx(request):
                return Template("resource/_message.html", context=ctx(request, actor, message=exc.message, category="error"), headers={"HX-Reswap": "none"})
            flash(request, exc.message, category="error")
            return Redirect(back, status_code=303)
        if not deleted:
            raise missing()
        message = f"Deleted {label}."
        undo = f"{base}/trash/{item_id}/restore" if resource.has_trash else None
        if is_htmx(request):
            return Template(
                "resource/_deleted.html",
                context=ctx(request, actor, message=message, item_id=item_id, category="success", undo=undo),
                headers={"HX-Trigger-After-Settle": "listChanged"},
            )
        flash(request, {"text": message, "undo": undo} if undo else message, category="success")
        return Redirect(back, status_code=303)

    # -- trash and history ---------------------------------------------------

    @get("/trash", name=f"{name}:trash", **read_only)
    def trash_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        if not resource.has_trash:
            raise NotFoundException()
        items = resource.store.trash_listing(session, actor)
        return Template("resource/trash.html", context=ctx(request, actor, items=items))

    @post("/trash/{item_id:int}/restore", name=f"{name}:restore", sync_to_thread=True)
    def restore_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        if not resource.has_trash:
            raise NotFoundException()
        item = resource.store.restore(session, actor, item_id)
        if item is None:
            flash(request, f"That {resource.singular} is no longer in the trash.", category="error")
            return Redirect(f"{base}/trash", status_code=303)
        flash(request, f"Restored {resource.describe(item)}.", category="success")
        if is_htmx(request):
            return Response(b"", headers={"HX-Redirect": f"{base}?{urlencode({'q': resource.describe(item)})}"})
        return Redirect(f"{base}?{urlencode({'q': resource.describe(item)})}", status_code=303)

    @get("/{item_id:int}/history", name=f"{name}:history", **read_only)
    def history_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        if not resource.has_history:
            raise NotFoundException()
        item = resource.store.get(session, actor, item_id)
        events = resource.store.history(session, actor, item_id)
        if item is None and not events:
            raise missing()
        labels = field_labels(resource.store.bind(None, actor))
        return Template("resource/history.html", context=ctx(request, actor, item=item, item_id=item_id, events=events, labels=labels))

    # -- bulk actions ----------------------------------------------------------

    def selection(formdata: MultiDict) -> tuple[str, list[int] | None, ListQuery]:
        action = str(formdata.get("action") or "")
        if action not in dict(resource.bulk_actions):
            raise NotFoundException("Unknown action.")
        query = list_query(resource, formdata)
        if str(formdata.get("all") or "") == "1":
            return action, None, query
        ids = [n for n in map(whole_number, formdata.getall("ids", [])) if n is not None and 0 < n < 2**31]
        return action, ids, query

    @post("/bulk", name=f"{name}:bulk")
    async def bulk_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_bulk, request, session, actor, formdata)

    def _bulk(request: Request, session: Session, actor: Actor, formdata: MultiDict) -> Response[Any]:
        action, ids, query = selection(formdata)
        if ids == []:
            flash(request, f"Select one or more {resource.plural.lower()} first.", category="error")
            return Redirect(f"{base}?{query_string(query)}", status_code=303)
        if str(formdata.get("confirm") or "") != "1":
            count = resource.store.count_selection(session, actor, ids, query)
            context = ctx(request, actor, action=action, label=dict(resource.bulk_actions)[action], ids=ids, query=query, count=count)
            return Template("resource/bulk_confirm.html", context=context)
        changed = resource.store.bulk(session, actor, action, ids, query)
        noun = resource.singular if changed == 1 else resource.plural.lower()
        verb = {"delete": "Deleted", "favourite": "Marked as favourite:", "unfavourite": "No longer favourite:"}.get(action, "Changed")
        flash(request, f"{verb} {changed} {noun}." + (" They are in the trash for 30 days." if action == "delete" and changed else ""), category="success")
        return Redirect(f"{base}?{query_string(query)}", status_code=303)

    return Router(
        path=base,
        route_handlers=[
            list_view,
            print_view,
            export_view,
            new_view,
            create_view,
            edit_view,
            save_view,
            row_view,
            row_edit_view,
            row_save_view,
            toggle_view,
            confirm_delete_view,
            delete_view,
            trash_view,
            restore_view,
            history_view,
            bulk_view,
        ],
        dependencies={"actor": Provide(provide_actor)},
        opt=opt,
        include_in_schema=False,
    )


async def _run(fn, *args: Any) -> Any:
    """Run a blocking view body in a worker thread (the form is read before, on the loop)."""
    return await to_thread.run_sync(fn, *args)


NO_STORE = {"Cache-Control": "no-store"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def column_text(column: Any, item: Any) -> str:
    if column.kind == "badges":
        return ", ".join(label for attr, label in column.badges if getattr(item, attr))
    value = getattr(item, column.name)
    if isinstance(value, bool):
        return "yes" if value else ""
    return "" if value is None else str(value)


async def started(chunks: Iterator[str]) -> AsyncIterator[str]:
    """``chunks`` as the body of a response, with its first chunk made now, before the response
    starts: the list's query runs and its first rows are read while an error can still be
    answered as an error page (a 500, or a 503 with Retry-After), never as a 200 cut short.

    Should a later chunk fail, the error ends the response after it started: the server then
    closes the connection without the chunked body's last chunk, so that no client takes what
    it received for the whole file (browsers, curl and HTTP libraries report it as incomplete).
    Each chunk is made in a worker thread here rather than by Litestar's own wrapper of a
    synchronous iterator, which takes any ValueError for the end of the iterator and so ends
    such a response as if it were complete."""
    first = await to_thread.run_sync(next, chunks, _END)

    async def body() -> AsyncIterator[str]:
        chunk = first
        while chunk is not _END:
            yield chunk
            chunk = await to_thread.run_sync(next, chunks, _END)

    return body()


_END: Any = object()


def buffered(chunks: Iterator[str], size: int = 65536) -> Iterator[str]:
    """Join a template's many small pieces into fewer, larger writes."""
    parts: list[str] = []
    length = 0
    for chunk in chunks:
        parts.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(parts)
            parts, length = [], 0
    if parts:
        yield "".join(parts)


def _list_buttons(formdata: MultiDict) -> tuple[MultiDict, bool]:
    """Handle "add" and "remove" buttons of repeated sub-forms: change the data, render again, save nothing."""
    add = formdata.get("_add")
    remove = formdata.get("_remove")
    if not add and not remove:
        return formdata, False
    items = [(k, v) for k, v in formdata.multi_items() if k not in ("_add", "_remove")]
    if remove:
        prefix = f"{remove}-"
        items = [(k, v) for k, v in items if not k.startswith(prefix)]
    if add:
        found = (whole_number(k[len(add) + 1 :].split("-")[0]) for k, _ in items if k.startswith(f"{add}-"))
        indices = {n for n in found if n is not None}
        items.append((f"{add}-{max(indices, default=-1) + 1}-id", ""))
    return MultiDict(items), True


def _shown(field: Any) -> str:
    value = field.data
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field.type == "BirthdayField":
        return field._value()
    return "" if value is None else str(value)


def differences(yours: Any, saved: Any, names) -> list[tuple[str, str, str]]:
    """(label, your input, saved now) for each field the user sent that now differs."""
    rows: list[tuple[str, str, str]] = []
    for name in names:
        mine, theirs = yours[name], saved[name]
        if mine.type == "FormField":
            rows += [(f"{mine.label.text}: {a}", b, c) for a, b, c in differences(mine.form, theirs.form, [n for n in mine.form._fields if n != "id"])]
        elif mine.type == "FieldList":
            for index in range(max(len(mine.entries), len(theirs.entries))):
                a = mine.entries[index].form if index < len(mine.entries) else None
                b = theirs.entries[index].form if index < len(theirs.entries) else None
                label = f"{mine.label.text} {index + 1}"
                if a is None or b is None:
                    rows.append((label, "present" if a else "removed", "present" if b else "removed"))
                else:
                    rows += [(f"{label}: {x}", y, z) for x, y, z in differences(a, b, [n for n in a._fields if n != "id"])]
        elif _shown(mine) != _shown(theirs):
            rows.append((str(mine.label.text), _shown(mine), _shown(theirs)))
    return rows


def field_labels(form: Any, prefix: str = "", label_prefix: str = "") -> dict[str, str]:
    """Dotted field path -> label, for showing history."""
    labels: dict[str, str] = {}
    for name, field in form._fields.items():
        if field.type == "FormField":
            labels.update(field_labels(field.form, f"{prefix}{name}.", f"{label_prefix}{field.label.text}: "))
        elif field.type != "FieldList":
            labels[f"{prefix}{name}"] = f"{label_prefix}{field.label.text}"
    return labels


def _attach(form: Any, exc: Invalid) -> None:
    if exc.field and exc.field in form._fields:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _all_fields(resource: Resource) -> tuple[str, ...]:
    return tuple(f for section in resource.sections for f in section.fields)
