"""Generic back-office views, made for any resource from its description.

Every view answers a whole page to a plain request and the partial that htmx
asks for to an htmx request; both render the same partial templates.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from anyio import to_thread
from litestar import MediaType, Request, Response, Router, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Stream, Template
from sqlalchemy.orm import Session

from app.admin.changes import rows as change_rows
from app.admin.export import columns_as_fields, csv_chunks, xlsx_chunks
from app.admin.resource import (
    Actor,
    Column,
    Conflict,
    Filter,
    Invalid,
    ListQuery,
    Resource,
    Saved,
    form_field,
    named_by,
)
from app.db import get_engine, reads_only, session_scope
from app.inputs import MAX_ID, search_text, whole_number
from app.web.auth import provide_actor, safe_next

TRUE = {"1", "y", "yes", "on", "true"}


@dataclass(frozen=True)
class Screen:
    """One list page of a resource (its list, or its trash): where it lives and what it shows.
    ``list.html`` and ``_results.html`` render either."""

    path: str
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    bulk_actions: tuple[tuple[str, str], ...] = ()
    search_label: str = ""
    trash: bool = False


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
    params.update(dict.fromkeys(sorted(query.filters), "1"))
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
    read_only: dict[str, Any] = {"sync_to_thread": get_engine().dialect.name != "sqlite"}

    screen = Screen(base, resource.columns, resource.filters, resource.bulk_actions, resource.search_label)
    trash_screen = Screen(
        f"{base}/trash",
        (
            Column("label", resource.singular.capitalize(), sort="name", kind="title"),
            Column("deleted_at", "Deleted", sort="deleted", kind="datetime"),
            Column("deleted_by", "Deleted by"),
            Column("purge_at", "Removed for good", kind="date"),
        ),
        bulk_actions=(("restore", "Restore"),),
        search_label=f"Search deleted {resource.plural.lower()} by name",
        trash=True,
    )

    def ctx(request: Request, actor: Actor, **extra: Any) -> dict[str, Any]:
        return {"resource": resource, "actor": actor, "query_string": query_string, "query_params": query_params, "with_next": with_next, "screen": screen, **extra}

    # This resource's list (in any state) or one item's page: the only places a return address may lead.
    own_page = re.compile(rf"{re.escape(base)}(?P<item>/[0-9]+)?(?:\?[^#]*)?")

    def safe_back(target: str, item_page: bool = False) -> str | None:
        """A return address inside this resource's list (or, with item_page, an item's page), or None."""
        found = own_page.fullmatch(target)
        if found is None or (found["item"] and not item_page) or safe_next(target) != target:
            return None
        return target if target.isascii() and target.isprintable() else None

    def back_to_list(request: Request) -> str:
        """Where to return after a change: the list state the user came from (the page that linked here)."""
        referer = request.headers.get("referer", "")
        origin = str(request.base_url).rstrip("/")
        if referer.startswith(f"{origin}/"):
            return safe_back(referer[len(origin) :].split("#")[0]) or base
        return base

    def came_from(request: Request) -> str:
        """The list state to go back to: the page's ``next`` parameter, else the list that linked here."""
        return safe_back(str(request.query_params.get("next") or "")) or back_to_list(request)

    def posted_back(formdata: MultiDict) -> str:
        """The list state that a posted form carries (its ``next``), else the plain list."""
        return safe_back(str(formdata.get("next") or "")) or base

    def with_next(path: str, back: str) -> str:
        """``path`` carrying the list state to go back to (nothing to carry for the plain list)."""
        return f"{path}?{urlencode({'next': back})}" if back != base else path

    def expected_version(formdata: MultiDict) -> int | None:
        return whole_number(formdata.get("_version")) if resource.versioned else None

    def conflict_page(request: Request, session: Session, actor: Actor, form: Any, conflict: Conflict, formdata: MultiDict, names, inline: bool) -> Template:
        """The fields both changed, the user's input kept in the form (with the others' changes to the
        other fields merged in), and a choice: save it, or take the saved values for those fields."""
        current = conflict.current
        if conflict.formdata is not None:
            form = resource.store.bind(conflict.formdata, actor, current, replace=_all_fields(resource))
            rows = [(row.label, row.new, row.old) for row in change_rows(resource.store.bind(None, actor), {p: [b, a] for p, (a, b) in conflict.fields.items()})]
        else:
            rows = differences(form, resource.store.bind(None, actor, current), names, resource.inline_labels)
        inline = inline and names == resource.inline_fields
        theirs = list(conflict.theirs.multi_items()) if conflict.theirs is not None else None
        if theirs is not None and inline:
            theirs = [(k, v) for k, v in theirs if named_by(k, names)]
        release(session)
        path = f"{base}/{current.id}/{'row' if inline else 'edit'}"
        context = ctx(
            request, actor, item=current, form=form, version=current.version, rows=rows, theirs=theirs, conflict=conflict,
            back=posted_back(formdata), review=f"{path}?review=1", inline=inline,
        )
        if inline:
            return Template("resource/_row_conflict.html", context=context)
        return Template("resource/form.html", context=context, status_code=409)

    def saved_note(actor: Actor, saved: Saved) -> str:
        """What a save kept of the changes others made meanwhile, in words ("" if nothing)."""
        labels = dict.fromkeys(row.label for row in change_rows(resource.store.bind(None, actor), saved.kept))
        if not labels:
            return ""
        who = " and ".join(saved.who) or "someone else"
        return f"Changed meanwhile by {who}, kept: {', '.join(labels)}."

    def cannot_delete(actor: Actor, item: Any) -> str:
        return resource.cannot_delete(actor, item) if resource.cannot_delete else ""

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
        in_trash = 0
        if resource.has_trash and not listing.items and not query.search and not query.filters:
            in_trash = resource.trash.trash_count(session, actor)
        context = ctx(request, actor, query=query, listing=listing, in_trash=in_trash)
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return Template("resource/_results.html", context={**context, "partial": True})
        return Template("resource/list.html", context=context)

    # -- print -------------------------------------------------------------

    @get("/print", name=f"{name}:print")
    async def print_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        query = list_query(resource, request.query_params)
        engine = request.app.template_engine
        assert engine is not None  # the app is built with its templates
        template = engine.engine.get_template("resource/print.html")
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

    async def export_stream(request: Request, actor: Actor, kind: str) -> Stream:
        """The list as CSV ("csv"), CSV for Excel ("excel.csv") or Excel ("xlsx"), streamed; its first
        chunk is made before the response starts (``started``)."""
        query = list_query(resource, request.query_params)

        def items(session: Session) -> tuple[list[Any], Iterator[Any]]:
            exporter = getattr(resource.store, "export", None)
            if exporter is not None:
                return exporter(session, actor, query)
            return columns_as_fields([c for c in resource.columns if c.printed], column_text), resource.store.stream(session, actor, query)

        def chunks() -> Iterator[bytes]:
            # Its own session: the stream outlives the request's.
            with session_scope() as session:
                fields, rows = items(session)
                if kind == "xlsx":
                    yield from xlsx_chunks(fields, rows, actor.timezone, resource.plural)
                else:
                    yield from csv_chunks(fields, rows, actor.timezone, excel=kind == "excel.csv")

        stamp = f"{datetime.now(ZoneInfo(actor.timezone)):%Y-%m-%d}"
        filename = f"{resource.name}-{stamp}{'-excel.csv' if kind == 'excel.csv' else '.' + kind}"
        media_type = XLSX if kind == "xlsx" else "text/csv"  # Litestar adds "; charset=utf-8"
        return Stream(await started(chunks()), media_type=media_type, headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'})

    @get("/export.csv", name=f"{name}:export")
    async def export_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        return await export_stream(request, actor, "csv")

    @get("/export-excel.csv", name=f"{name}:export_excel_csv")
    async def export_excel_csv_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        return await export_stream(request, actor, "excel.csv")

    @get("/export.xlsx", name=f"{name}:export_xlsx")
    async def export_xlsx_view(request: Request, actor: NamedDependency[Actor]) -> Stream:
        return await export_stream(request, actor, "xlsx")

    # -- create ------------------------------------------------------------

    @get("/new", name=f"{name}:new", sync_to_thread=False)
    def new_view(request: Request, actor: NamedDependency[Actor]) -> Template:
        form = resource.store.bind(None, actor)
        return Template("resource/form.html", context=ctx(request, actor, form=form, item=None, back=came_from(request)))

    @post("/", name=f"{name}:create")
    async def create_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_create, request, session, actor, formdata)

    def _create(request: Request, session: Session, actor: Actor, formdata: MultiDict) -> Response[Any]:
        formdata, rerender = _list_buttons(formdata)
        form = resource.store.bind(formdata, actor)
        again = ctx(request, actor, form=form, item=None, back=posted_back(formdata))
        if rerender or not form.validate():
            status = 200 if rerender else 422
            return Template("resource/form.html", context=again, status_code=status)
        try:
            item = resource.store.create(session, actor, form)
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template("resource/form.html", context=again, status_code=422)
        flash(request, f"Created {resource.describe(item)}.", category="success")
        return Redirect(f"{base}?{urlencode({'q': resource.describe(item)})}", status_code=303)

    # -- one item's page ----------------------------------------------------

    @get("/{item_id:int}", name=f"{name}:show", **read_only)
    def show_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        reads_only(session)
        item = get_or_404(session, actor, item_id)
        form = resource.store.bind(None, actor, item)
        back = came_from(request)
        return Template("resource/show.html", context=ctx(request, actor, item=item, form=form, back=back, here=with_next(f"{base}/{item.id}", back)))

    # -- full edit ---------------------------------------------------------

    @get("/{item_id:int}/edit", name=f"{name}:edit", **read_only)
    def edit_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        reads_only(session)
        item = get_or_404(session, actor, item_id)
        form = resource.store.bind(None, actor, item)
        return Template("resource/form.html", context=ctx(request, actor, form=form, item=item, back=came_from(request)))

    @post("/{item_id:int}/edit", name=f"{name}:save")
    async def save_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_save, request, session, actor, formdata, item_id)

    def _save(request: Request, session: Session, actor: Actor, formdata: MultiDict, item_id: int) -> Response[Any]:
        formdata, rerender = _list_buttons(formdata)
        rerender = rerender or reviewing(request)
        item = get_for_update_or_404(session, actor, item_id)
        form = resource.store.bind(formdata, actor, item, replace=_all_fields(resource))
        # Shown again, the form keeps the version the user's input is based on: saved later, it must
        # still meet any change made meanwhile (the item read now may be newer).
        version = expected_version(formdata)
        # The list state the user came from, carried through the form (and through a refusal) to after the save.
        back = posted_back(formdata)
        again = ctx(request, actor, form=form, item=item, version=version, back=back)
        if rerender or not form.validate():
            release(session)
            return Template("resource/form.html", context=again, status_code=200 if rerender else 422)
        try:
            saved = as_saved(resource.store.update(session, actor, item, form, version))
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template("resource/form.html", context=again, status_code=422)
        except Conflict as conflict:
            return conflict_page(request, session, actor, form, conflict, formdata, _all_fields(resource), inline=False)
        flash(request, f"Saved {resource.describe(saved.item)}. {saved_note(actor, saved)}".strip(), category="success")
        return Redirect(back, status_code=303)

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
        if reviewing(request) or not form.validate():
            release(session)
            # 200 so that htmx swaps the form back in, with the errors, the input and its version kept.
            return Template("resource/_row_edit.html", context=ctx(request, actor, item=item, form=form, version=version))
        try:
            saved = as_saved(resource.store.update(session, actor, item, form, version))
        except Conflict as conflict:
            return conflict_page(request, session, actor, form, conflict, formdata, resource.inline_fields, inline=is_htmx(request))
        note = saved_note(actor, saved)
        if not is_htmx(request):
            flash(request, f"Saved {resource.describe(saved.item)}. {note}".strip(), category="success")
            return Redirect(back_to_list(request), status_code=303)
        return Template("resource/_row.html", context=ctx(request, actor, item=saved.item, saved=True, message=note, category="success"))

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
            return Redirect(safe_back(str(formdata.get("next") or ""), item_page=True) or back_to_list(request), status_code=303)
        return Template("resource/_row.html", context=ctx(request, actor, item=item))

    # -- delete ------------------------------------------------------------

    @get("/{item_id:int}/delete", name=f"{name}:confirm_delete", **read_only)
    def confirm_delete_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = get_or_404(session, actor, item_id)
        refusal = cannot_delete(actor, item)
        if refusal:
            raise PermissionDeniedException(refusal)
        # In the dialog, htmx posts the answer into the list's row; the page of its own posts a plain form.
        dialog = is_htmx(request)
        context = ctx(request, actor, item=item, back=came_from(request), dialog=dialog, body="resource/_delete_body.html", title=f"Delete {resource.describe(item)}")
        return Template("_confirm_dialog.html" if dialog else "confirm.html", context=context)

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
        message = f"Deleted {label}." + (f" It is in the trash for {resource.trash_days} days." if resource.has_trash else "")
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

    def trash_query(params: MultiDict | dict) -> ListQuery:
        """The trash's search and order (newest first unless a column is chosen)."""
        search = list_query(resource, params).search
        sort = str(params.get("sort") or "")
        sorts = [c.sort for c in trash_screen.columns if c.sort]
        return ListQuery(search=search, sort=sort if sort in sorts else "", descending=params.get("dir") == "desc")

    @get("/trash", name=f"{name}:trash", **read_only)
    def trash_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        if not resource.has_trash:
            raise NotFoundException()
        reads_only(session)
        query = trash_query(request.query_params)
        number = _page_number(request.query_params.get("page"))
        listing = resource.trash.trash_page(session, actor, query, number, resource.per_page)
        context = ctx(request, actor, query=query, listing=listing, screen=trash_screen)
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return Template("resource/_results.html", context={**context, "partial": True})
        return Template("resource/trash.html", context=context)

    @post("/trash/bulk", name=f"{name}:trash_bulk")
    async def trash_bulk_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
        formdata = await _formdata(request)
        return await _run(_trash_bulk, request, session, actor, formdata)

    def _trash_bulk(request: Request, session: Session, actor: Actor, formdata: MultiDict) -> Response[Any]:
        """Restore the selected items, or every one the trash's search finds; no confirmation (nothing is lost)."""
        if not resource.has_trash or str(formdata.get("action") or "") != "restore":
            raise NotFoundException()
        query = trash_query(formdata)
        back = f"{base}/trash?{query_string(query)}".rstrip("?")
        ids = None if str(formdata.get("all") or "") == "1" else selected_ids(formdata)
        if ids == []:
            flash(request, f"Select one or more {resource.plural.lower()} first.", category="error")
            return Redirect(back, status_code=303)
        restored = resource.trash.restore_many(session, actor, ids, query)
        noun = resource.singular if restored == 1 else resource.plural.lower()
        flash(request, f"Restored {restored} {noun}.", category="success")
        return Redirect(back, status_code=303)

    @post("/trash/undo", name=f"{name}:undo")
    async def undo_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
        await _formdata(request)
        return await _run(_undo, request, session, actor, str(request.query_params.get("batch") or ""))

    def _undo(request: Request, session: Session, actor: Actor, token: str) -> Response[Any]:
        """Put back what one bulk delete moved to the trash."""
        if not resource.has_trash:
            raise NotFoundException()
        restored = resource.trash.undo(session, actor, token[:100])
        if restored is None:
            raise NotFoundException("Nothing to undo.")
        if restored:
            noun = resource.singular if restored == 1 else resource.plural.lower()
            flash(request, f"Restored {restored} {noun}.", category="success")
        else:
            flash(request, f"Those {resource.plural.lower()} are no longer in the trash.", category="error")
        if is_htmx(request):
            return Response(b"", headers={"HX-Redirect": back_to_list(request)})
        return Redirect(back_to_list(request), status_code=303)

    @post("/trash/{item_id:int}/restore", name=f"{name}:restore", sync_to_thread=True)
    def restore_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        if not resource.has_trash:
            raise NotFoundException()
        item = resource.trash.restore(session, actor, item_id)
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
        events = resource.history.history(session, actor, item_id)
        if item is None and not events:
            raise missing()
        form = resource.store.bind(None, actor)  # the labels and the way each field shows a value
        entries = [(event, change_rows(form, event.changes or {}, created=event.action == "create")) for event in events]
        return Template("resource/history.html", context=ctx(request, actor, item=item, item_id=item_id, entries=entries, back=came_from(request)))

    # -- bulk actions ----------------------------------------------------------

    def selection(formdata: MultiDict) -> tuple[str, list[int] | None, ListQuery]:
        action = str(formdata.get("action") or "")
        if action not in dict(resource.bulk_actions):
            raise NotFoundException("Unknown action.")
        query = list_query(resource, formdata)
        if str(formdata.get("all") or "") == "1":
            return action, None, query
        return action, selected_ids(formdata), query

    def selected_ids(formdata: MultiDict) -> list[int]:
        return [n for n in map(whole_number, formdata.getall("ids", [])) if n is not None and 0 < n <= MAX_ID]

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
            count = resource.bulk.count_selection(session, actor, ids, query)
            context = ctx(request, actor, action=action, label=dict(resource.bulk_actions)[action], ids=ids, query=query, count=count)
            return Template("resource/bulk_confirm.html", context=context)
        done = resource.bulk.bulk(session, actor, action, ids, query)
        noun = resource.singular if done.changed == 1 else resource.plural.lower()
        verb = {"delete": "Deleted", "favourite": "Marked as favourite:", "unfavourite": "No longer favourite:"}.get(action, "Changed")
        text = f"{verb} {done.changed} {noun}."
        if action == "delete" and done.changed and resource.has_trash:
            text += f" {'It is' if done.changed == 1 else 'They are'} in the trash for {resource.trash_days} days."
        undo = f"{base}/trash/undo?{urlencode({'batch': done.undo})}" if done.undo and resource.has_trash else None
        flash(request, {"text": text, "undo": undo} if undo else text, category="success")
        return Redirect(f"{base}?{query_string(query)}", status_code=303)

    return Router(
        path=base,
        route_handlers=[
            list_view,
            print_view,
            export_view,
            export_excel_csv_view,
            export_xlsx_view,
            new_view,
            create_view,
            show_view,
            edit_view,
            save_view,
            row_view,
            row_edit_view,
            row_save_view,
            toggle_view,
            confirm_delete_view,
            delete_view,
            trash_view,
            trash_bulk_view,
            undo_view,
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
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def column_text(column: Any, item: Any) -> str:
    if column.kind == "badges":
        return ", ".join(label for attr, label in column.badges if getattr(item, attr))
    value = getattr(item, column.name)
    if isinstance(value, bool):
        return "yes" if value else ""
    return "" if value is None else str(value)


async def started(chunks: Iterator[Any]) -> AsyncIterator[Any]:
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

    async def body() -> AsyncIterator[Any]:
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


def differences(yours: Any, saved: Any, names, labels: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(label, your input, saved now) for each field the user sent that now differs; ``names`` as
    ``form_field`` reads them, ``labels`` where a field is shown under another label than its own."""
    rows: list[tuple[str, str, str]] = []
    for name in names:
        mine, theirs = form_field(yours, name), form_field(saved, name)
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
            rows.append(((labels or {}).get(name) or str(mine.label.text), _shown(mine), _shown(theirs)))
    return rows


def as_saved(result: Any) -> Saved:
    """A store's ``update`` answer as ``Saved``: the item, and what was kept of changes made meanwhile."""
    return result if isinstance(result, Saved) else Saved(result)


def reviewing(request: Request) -> bool:
    """A form posted to be shown again, not saved (the conflict's "take the saved values")."""
    return request.query_params.get("review") == "1"


def _attach(form: Any, exc: Invalid) -> None:
    if exc.field and exc.field in form._fields:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _all_fields(resource: Resource) -> tuple[str, ...]:
    return tuple(f for section in resource.sections for f in section.fields)
