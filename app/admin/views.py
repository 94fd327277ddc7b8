"""Generic back-office views, made for any resource from its description.

Every view answers a whole page to a plain request and the partial that htmx
asks for to an htmx request; both render the same partial templates.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from anyio import to_thread
from litestar import MediaType, Request, Response, Router
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Stream, Template
from sqlalchemy.orm import Session
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField
from wtforms.form import BaseForm

from app.admin.cells import RowCells
from app.admin.changes import rows as change_rows
from app.admin.export import columns_as_fields, csv_chunks, xlsx_chunks
from app.admin.resource import (
    Bulk,
    BulkAction,
    Column,
    Conflict,
    Filter,
    FormT,
    Invalid,
    ItemT,
    ListQuery,
    Resource,
    Saved,
    Trash,
    form_field,
    named_by,
)
from app.database.engine import session_scope
from app.shared.audit import Actor
from app.shared.inputs import MAX_ID, search_text, whole_number
from app.shared.package_data import package_data
from app.web.auth import safe_next
from app.web.views import Route, Views, is_htmx

TRUE = {"1", "y", "yes", "on", "true"}


@dataclass(frozen=True)
class Screen:
    """One list page of a resource (its list, or its trash): where it lives and what it shows.
    ``list.html`` and ``_results.html`` render either."""

    path: str
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    bulk_actions: tuple[BulkAction, ...] = ()
    search_label: str = ""
    trash: bool = False


def list_query(resource: Resource[Any, Any], params: Mapping[str, Any]) -> ListQuery:
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


class ResourceViews(Views, Generic[ItemT, FormT]):
    """The list, print, export, create, edit, inline edit, toggle, delete, trash, history and bulk views of
    one resource. ``routes`` names the method of each; a resource with a view of its own subclasses this
    class, overrides that method (or a helper such as ``context`` or ``done_message``) and passes the
    subclass to ``main.py``. Templates are looked up in the resource's own folder first
    (``templates/<name>/form.html``), then in ``templates/resource/``."""

    routes = (
        Route("GET", "/", "list_page", "read"),
        Route("GET", "/print", "print_page", "loop"),
        Route("GET", "/export.csv", "export", "loop"),
        Route("GET", "/export-excel.csv", "export_excel_csv", "loop"),
        Route("GET", "/export.xlsx", "export_xlsx", "loop"),
        Route("GET", "/new", "new", "loop"),
        Route("POST", "/", "create", "thread"),
        Route("GET", "/{item_id:int}", "show", "read"),
        Route("GET", "/{item_id:int}/edit", "edit", "read"),
        Route("POST", "/{item_id:int}/edit", "save", "thread"),
        Route("GET", "/{item_id:int}/row", "row", "read"),
        Route("GET", "/{item_id:int}/row/edit", "row_edit", "read"),
        Route("POST", "/{item_id:int}/row", "row_save", "thread"),
        Route("POST", "/{item_id:int}/toggle/{field_name:str}", "toggle", "thread"),
        Route("GET", "/{item_id:int}/delete", "confirm_delete", "read"),
        Route("POST", "/{item_id:int}/delete", "delete", "thread"),
        Route("GET", "/trash", "trash", "read"),
        Route("POST", "/trash/bulk", "trash_bulk", "thread"),
        Route("POST", "/trash/undo", "undo", "thread"),
        Route("POST", "/trash/{item_id:int}/restore", "restore", "thread"),
        Route("GET", "/{item_id:int}/history", "history", "read"),
        Route("POST", "/bulk", "bulk", "thread"),
    )

    def __init__(self, resource: Resource[ItemT, FormT]) -> None:
        super().__init__(f"/{resource.name}", resource.name, resource.roles)
        self.resource = resource
        self.base = self.path
        self.screen = Screen(self.base, resource.columns, resource.filters, resource.bulk_actions, resource.search_label)
        self.trash_screen = Screen(
            f"{self.base}/trash",
            (
                Column("label", resource.singular.capitalize(), sort="name", kind="title"),
                Column("deleted_at", "Deleted", sort="deleted", kind="datetime"),
                Column("deleted_by", "Deleted by"),
                Column("purge_at", "Removed for good", kind="date"),
            ),
            bulk_actions=(BulkAction("restore", "Restore", "Restored"),),
            search_label=f"Search deleted {resource.plural.lower()} by name",
            trash=True,
        )
        # This resource's list (in any state) or one item's page: the only places a return address may lead.
        self.own_page = re.compile(rf"{re.escape(self.base)}(?P<item>/[0-9]+)?(?:\?[^#]*)?")
        self.templates = {name: template_for(resource.name, name) for name in TEMPLATES}
        self.cells = RowCells(self.base, resource.columns)

    # -- helpers -------------------------------------------------------------

    def template(self, name: str) -> str:
        """The template ``name`` of this resource: its own (``<resource>/<name>``), else the generic one."""
        return self.templates[name]

    def context(self, actor: Actor, **extra: Any) -> dict[str, Any]:
        return {
            "resource": self.resource, "actor": actor, "query_string": query_string, "query_params": query_params,
            "with_next": self.with_next, "screen": self.screen, "cells": self.cells, **extra,
        }

    def safe_back(self, target: str, item_page: bool = False) -> str | None:
        """A return address inside this resource's list (or, with item_page, an item's page), or None."""
        found = self.own_page.fullmatch(target)
        if found is None or (found["item"] and not item_page) or safe_next(target) != target:
            return None
        return target if target.isascii() and target.isprintable() else None

    def back_to_list(self, request: Request[Any, Any, Any]) -> str:
        """Where to return after a change: the list state the user came from (the page that linked here)."""
        referer = request.headers.get("referer", "")
        origin = str(request.base_url).rstrip("/")
        if referer.startswith(f"{origin}/"):
            return self.safe_back(referer[len(origin) :].split("#")[0]) or self.base
        return self.base

    def came_from(self, request: Request[Any, Any, Any]) -> str:
        """The list state to go back to: the page's ``next`` parameter, else the list that linked here."""
        return self.safe_back(str(request.query_params.get("next") or "")) or self.back_to_list(request)

    def posted_back(self, formdata: MultiDict[str]) -> str:
        """The list state that a posted form carries (its ``next``), else the plain list."""
        return self.safe_back(str(formdata.get("next") or "")) or self.base

    def with_next(self, path: str, back: str) -> str:
        """``path`` carrying the list state to go back to (nothing to carry for the plain list)."""
        return f"{path}?{urlencode({'next': back})}" if back != self.base else path

    def expected_version(self, formdata: MultiDict[str]) -> int | None:
        return whole_number(formdata.get("_version")) if self.resource.version else None

    def conflict_page(
        self, request: Request[Any, Any, Any], session: Session, actor: Actor, form: FormT, conflict: Conflict, formdata: MultiDict[str], names: tuple[str, ...], inline: bool
    ) -> Template:
        """The fields both changed, the user's input kept in the form (with the others' changes to the
        other fields merged in), and a choice: save it, or take the saved values for those fields."""
        resource = self.resource
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
        path = f"{self.base}/{current.id}/{'row' if inline else 'edit'}"
        context = self.context(
            actor, item=current, form=form, version=resource.version(current) if resource.version else None, rows=rows, theirs=theirs,
            conflict=conflict, back=self.posted_back(formdata), review=f"{path}?review=1", inline=inline,
        )
        if inline:
            return Template(self.template("_row_conflict.html"), context=context)
        return Template(self.template("form.html"), context=context, status_code=409)

    def saved_note(self, actor: Actor, saved: Saved[ItemT]) -> str:
        """What a save kept of the changes others made meanwhile, in words ("" if nothing)."""
        labels = dict.fromkeys(row.label for row in change_rows(self.resource.store.bind(None, actor), saved.kept))
        if not labels:
            return ""
        who = " and ".join(saved.who) or "someone else"
        return f"Changed meanwhile by {who}, kept: {', '.join(labels)}."

    def cannot_delete(self, actor: Actor, item: Any) -> str:
        return self.resource.cannot_delete(actor, item) if self.resource.cannot_delete else ""

    def missing(self) -> NotFoundException:
        return NotFoundException(f"No such {self.resource.singular}.")

    def get_or_404(self, session: Session, actor: Actor, item_id: int) -> Any:
        item = self.resource.store.get(session, actor, item_id)
        if item is None:
            raise self.missing()
        return item

    def get_for_update_or_404(self, session: Session, actor: Actor, item_id: int) -> Any:
        item = self.resource.store.get_for_update(session, actor, item_id)
        if item is None:
            raise self.missing()
        return item

    def trash_or_404(self) -> Trash[ItemT]:
        if self.resource.trash is None:
            raise NotFoundException()
        return self.resource.trash

    def plural(self, count: int) -> str:
        """The resource's noun for ``count`` items ("customer", "customers")."""
        return self.resource.singular if count == 1 else self.resource.plural.lower()

    def in_trash_note(self, count: int) -> str:
        """What a delete of ``count`` items adds to its message: where they are now, and for how long ("" without a trash)."""
        trash = self.resource.trash
        if trash is None or not count:
            return ""
        return f" {'It is' if count == 1 else 'They are'} in the trash for {trash.days} days."

    # -- list ----------------------------------------------------------------

    def list_page(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        resource = self.resource
        query = list_query(resource, request.query_params)
        number = _page_number(request.query_params.get("page"))
        listing = resource.store.listing(session, actor, query, number, resource.per_page)
        if number > listing.pages:
            number = listing.pages
            listing = resource.store.listing(session, actor, query, number, resource.per_page)
        in_trash = 0
        if resource.trash and not listing.items and not query.search and not query.filters:
            in_trash = resource.trash.store.trash_count(session, actor)
        context = self.context(actor, query=query, listing=listing, in_trash=in_trash)
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return Template(self.template("_results.html"), context={**context, "partial": True})
        return Template(self.template("list.html"), context=context)

    # -- print ---------------------------------------------------------------

    async def print_page(self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Stream:
        resource = self.resource
        query = list_query(resource, request.query_params)
        engine = request.app.template_engine
        assert engine is not None  # the app is built with its templates
        template = engine.engine.get_template(self.template("print.html"))
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

    # -- export --------------------------------------------------------------

    async def export_stream(self, request: Request[Any, Any, Any], actor: Actor, kind: str) -> Stream:
        """The list as CSV ("csv"), CSV for Excel ("excel.csv") or Excel ("xlsx"), streamed; its first
        chunk is made before the response starts (``started``)."""
        resource = self.resource
        query = list_query(resource, request.query_params)

        def items(session: Session) -> tuple[list[Any], Iterator[Any]]:
            if resource.export is not None:
                return resource.export.export(session, actor, query)
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

    async def export(self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Stream:
        return await self.export_stream(request, actor, "csv")

    async def export_excel_csv(self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Stream:
        return await self.export_stream(request, actor, "excel.csv")

    async def export_xlsx(self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Stream:
        return await self.export_stream(request, actor, "xlsx")

    # -- create --------------------------------------------------------------

    def new(self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Template:
        form = self.resource.store.bind(None, actor)
        return Template(self.template("form.html"), context=self.context(actor, form=form, item=None, back=self.came_from(request)))

    def create(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Response[Any]:
        resource = self.resource
        formdata, rerender = _list_buttons(formdata)
        form = resource.store.bind(formdata, actor)
        again = self.context(actor, form=form, item=None, back=self.posted_back(formdata))
        if rerender or not form.validate():
            status = 200 if rerender else 422
            return Template(self.template("form.html"), context=again, status_code=status)
        try:
            item = resource.store.create(session, actor, form)
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template(self.template("form.html"), context=again, status_code=422)
        flash(request, f"Created {resource.describe(item)}.", category="success")
        return Redirect(f"{self.base}?{urlencode({'q': resource.describe(item)})}", status_code=303)

    # -- one item's page -------------------------------------------------------

    def show(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = self.get_or_404(session, actor, item_id)
        form = self.resource.store.bind(None, actor, item)
        back = self.came_from(request)
        context = self.context(actor, item=item, form=form, back=back, here=self.with_next(f"{self.base}/{item.id}", back))
        return Template(self.template("show.html"), context=context)

    # -- full edit -------------------------------------------------------------

    def edit(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = self.get_or_404(session, actor, item_id)
        form = self.resource.store.bind(None, actor, item)
        return Template(self.template("form.html"), context=self.context(actor, form=form, item=item, back=self.came_from(request)))

    def save(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]], item_id: FromPath[int]
    ) -> Response[Any]:
        resource = self.resource
        formdata, rerender = _list_buttons(formdata)
        rerender = rerender or reviewing(request)
        item = self.get_for_update_or_404(session, actor, item_id)
        form = resource.store.bind(formdata, actor, item, replace=_all_fields(resource))
        # Shown again, the form keeps the version the user's input is based on: saved later, it must
        # still meet any change made meanwhile (the item read now may be newer).
        version = self.expected_version(formdata)
        # The list state the user came from, carried through the form (and through a refusal) to after the save.
        back = self.posted_back(formdata)
        again = self.context(actor, form=form, item=item, version=version, back=back)
        if rerender or not form.validate():
            release(session)
            return Template(self.template("form.html"), context=again, status_code=200 if rerender else 422)
        try:
            saved = as_saved(resource.store.update(session, actor, item, form, version))
        except Invalid as exc:
            release(session)
            _attach(form, exc)
            return Template(self.template("form.html"), context=again, status_code=422)
        except Conflict as conflict:
            return self.conflict_page(request, session, actor, form, conflict, formdata, _all_fields(resource), inline=False)
        flash(request, f"Saved {resource.describe(saved.item)}. {self.saved_note(actor, saved)}".strip(), category="success")
        return Redirect(back, status_code=303)

    # -- rows: show, inline edit, inline save, toggle ----------------------------

    def row(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = self.get_or_404(session, actor, item_id)
        return Template(self.template("_row.html"), context=self.context(actor, item=item))

    def row_edit(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        if not is_htmx(request):
            return Redirect(f"{self.base}/{item_id}/edit", status_code=303)
        item = self.get_or_404(session, actor, item_id)
        form = self.resource.store.bind(None, actor, item)
        return Template(self.template("_row_edit.html"), context=self.context(actor, item=item, form=form))

    def row_save(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]], item_id: FromPath[int]
    ) -> Response[Any]:
        resource = self.resource
        item = self.get_for_update_or_404(session, actor, item_id)
        form = resource.store.bind(formdata, actor, item, replace=resource.inline_fields)
        version = self.expected_version(formdata)
        if reviewing(request) or not form.validate():
            release(session)
            # 200 so that htmx swaps the form back in, with the errors, the input and its version kept.
            return Template(self.template("_row_edit.html"), context=self.context(actor, item=item, form=form, version=version))
        try:
            saved = as_saved(resource.store.update(session, actor, item, form, version))
        except Conflict as conflict:
            return self.conflict_page(request, session, actor, form, conflict, formdata, resource.inline_fields, inline=is_htmx(request))
        note = self.saved_note(actor, saved)
        if not is_htmx(request):
            flash(request, f"Saved {resource.describe(saved.item)}. {note}".strip(), category="success")
            return Redirect(self.back_to_list(request), status_code=303)
        return Template(self.template("_row.html"), context=self.context(actor, item=saved.item, saved=True, message=note, category="success"))

    def toggle(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]],
        item_id: FromPath[int], field_name: FromPath[str],
    ) -> Response[Any]:
        if field_name not in self.resource.toggles:
            raise NotFoundException()
        value = str(formdata.get("value", "")).lower() in TRUE
        item = self.resource.store.toggle(session, actor, item_id, field_name, value)
        if item is None:
            raise self.missing()
        if not is_htmx(request):
            return Redirect(self.safe_back(str(formdata.get("next") or ""), item_page=True) or self.back_to_list(request), status_code=303)
        return Template(self.template("_row.html"), context=self.context(actor, item=item))

    # -- delete ----------------------------------------------------------------

    def confirm_delete(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        item = self.get_or_404(session, actor, item_id)
        refusal = self.cannot_delete(actor, item)
        if refusal:
            raise PermissionDeniedException(refusal)
        # In the dialog, htmx posts the answer into the list's row; the page of its own posts a plain form.
        dialog = is_htmx(request)
        context = self.context(
            actor, item=item, back=self.came_from(request), dialog=dialog, body=self.template("_delete_body.html"),
            title=f"Delete {self.resource.describe(item)}",
        )
        return Template("_confirm_dialog.html" if dialog else "confirm.html", context=context)

    def delete(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]], item_id: FromPath[int]
    ) -> Response[Any]:
        resource = self.resource
        back = self.safe_back(str(formdata.get("back") or "")) or self.back_to_list(request)
        item = self.get_or_404(session, actor, item_id)
        label = resource.describe(item)
        try:
            deleted = resource.store.delete(session, actor, item_id)
        except Invalid as exc:
            if is_htmx(request):
                context = self.context(actor, message=exc.message, category="error")
                return Template(self.template("_message.html"), context=context, headers={"HX-Reswap": "none"})
            flash(request, exc.message, category="error")
            return Redirect(back, status_code=303)
        if not deleted:
            raise self.missing()
        message = f"Deleted {label}.{self.in_trash_note(1)}"
        undo = f"{self.base}/trash/{item_id}/restore" if resource.trash else None
        if is_htmx(request):
            return Template(
                self.template("_deleted.html"),
                context=self.context(actor, message=message, item_id=item_id, category="success", undo=undo),
                headers={"HX-Trigger-After-Settle": "listChanged"},
            )
        flash(request, {"text": message, "undo": undo} if undo else message, category="success")
        return Redirect(back, status_code=303)

    # -- trash and history -----------------------------------------------------

    def trash_query(self, params: Mapping[str, Any]) -> ListQuery:
        """The trash's search and order (newest first unless a column is chosen)."""
        search = list_query(self.resource, params).search
        sort = str(params.get("sort") or "")
        sorts = [c.sort for c in self.trash_screen.columns if c.sort]
        return ListQuery(search=search, sort=sort if sort in sorts else "", descending=params.get("dir") == "desc")

    def trash(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        trash = self.trash_or_404()
        query = self.trash_query(request.query_params)
        number = _page_number(request.query_params.get("page"))
        listing = trash.store.trash_page(session, actor, query, number, self.resource.per_page)
        context = self.context(actor, query=query, listing=listing, screen=self.trash_screen)
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return Template(self.template("_results.html"), context={**context, "partial": True})
        return Template(self.template("trash.html"), context=context)

    def trash_bulk(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Response[Any]:
        """Restore the selected items, or every one the trash's search finds; no confirmation (nothing is lost)."""
        trash = self.trash_or_404()
        if str(formdata.get("action") or "") != "restore":
            raise NotFoundException()
        query = self.trash_query(formdata)
        back = f"{self.base}/trash?{query_string(query)}".rstrip("?")
        ids = None if str(formdata.get("all") or "") == "1" else selected_ids(formdata)
        if ids == []:
            flash(request, f"Select one or more {self.resource.plural.lower()} first.", category="error")
            return Redirect(back, status_code=303)
        restored = trash.store.restore_many(session, actor, ids, query)
        flash(request, f"Restored {restored} {self.plural(restored)}.", category="success")
        return Redirect(back, status_code=303)

    def undo(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Response[Any]:
        """Put back what one bulk delete moved to the trash (the batch is in the query; the form is read all the same)."""
        trash = self.trash_or_404()
        restored = trash.store.undo(session, actor, str(request.query_params.get("batch") or "")[:100])
        if restored is None:
            raise NotFoundException("Nothing to undo.")
        if restored:
            flash(request, f"Restored {restored} {self.plural(restored)}.", category="success")
        else:
            flash(request, f"Those {self.resource.plural.lower()} are no longer in the trash.", category="error")
        if is_htmx(request):
            return Response(b"", headers={"HX-Redirect": self.back_to_list(request)})
        return Redirect(self.back_to_list(request), status_code=303)

    def restore(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Response[Any]:
        trash = self.trash_or_404()
        item = trash.store.restore(session, actor, item_id)
        if item is None:
            flash(request, f"That {self.resource.singular} is no longer in the trash.", category="error")
            return Redirect(f"{self.base}/trash", status_code=303)
        label = self.resource.describe(item)
        flash(request, f"Restored {label}.", category="success")
        if is_htmx(request):
            return Response(b"", headers={"HX-Redirect": f"{self.base}?{urlencode({'q': label})}"})
        return Redirect(f"{self.base}?{urlencode({'q': label})}", status_code=303)

    def history(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], item_id: FromPath[int]) -> Template:
        resource = self.resource
        if resource.history is None:
            raise NotFoundException()
        item = resource.store.get(session, actor, item_id)
        events = resource.history.history(session, actor, item_id)
        if item is None and not events:
            raise self.missing()
        form = resource.store.bind(None, actor)  # the labels and the way each field shows a value
        entries = [(event, change_rows(form, event.changes or {}, created=event.action == "create")) for event in events]
        context = self.context(actor, item=item, item_id=item_id, entries=entries, back=self.came_from(request))
        return Template(self.template("history.html"), context=context)

    # -- bulk actions ------------------------------------------------------------

    def selection(self, formdata: MultiDict[str]) -> tuple[Bulk, BulkAction, list[int] | None, ListQuery]:
        bulk = self.resource.bulk
        action = bulk.action(str(formdata.get("action") or "")) if bulk else None
        if bulk is None or action is None:
            raise NotFoundException("Unknown action.")
        query = list_query(self.resource, formdata)
        if str(formdata.get("all") or "") == "1":
            return bulk, action, None, query
        return bulk, action, selected_ids(formdata), query

    def bulk(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Response[Any]:
        bulk, action, ids, query = self.selection(formdata)
        back = f"{self.base}?{query_string(query)}"
        if ids == []:
            flash(request, f"Select one or more {self.resource.plural.lower()} first.", category="error")
            return Redirect(back, status_code=303)
        if str(formdata.get("confirm") or "") != "1":
            count = bulk.store.count_selection(session, actor, ids, query)
            context = self.context(actor, action=action, ids=ids, query=query, count=count)
            return Template(self.template("bulk_confirm.html"), context=context)
        done = bulk.store.bulk(session, actor, action.name, ids, query)
        text = f"{action.done} {done.changed} {self.plural(done.changed)}."
        if action.name == "delete":
            text += self.in_trash_note(done.changed)
        undo = f"{self.base}/trash/undo?{urlencode({'batch': done.undo})}" if done.undo and self.resource.trash else None
        flash(request, {"text": text, "undo": undo} if undo else text, category="success")
        return Redirect(back, status_code=303)


def selected_ids(formdata: MultiDict[str]) -> list[int]:
    return [n for n in map(whole_number, formdata.getall("ids", [])) if n is not None and 0 < n <= MAX_ID]


# The templates of the generic views; a resource may have its own of any (templates/<resource>/<name>).
TEMPLATES = (
    "list.html", "_results.html", "trash.html", "print.html", "form.html", "show.html", "history.html", "bulk_confirm.html",
    "_row.html", "_row_edit.html", "_row_conflict.html", "_delete_body.html", "_deleted.html", "_message.html",
)


def template_for(resource: str, name: str) -> str:
    own = f"{resource}/{name}"
    return own if (package_data("templates") / own).is_file() else f"resource/{name}"


def make_router(resource: Resource[ItemT, FormT], views: type[ResourceViews[ItemT, FormT]] = ResourceViews) -> Router:
    """The router of ``resource``'s views (``views``: a subclass with views of its own)."""
    return views(resource).router()


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


def _list_buttons(formdata: MultiDict[str]) -> tuple[MultiDict[str], bool]:
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


def _shown(field: Field) -> str:
    value = field.data
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, str | int | float):
        return "" if value is None else str(value)
    # A date or time: as the field writes it in its input. Every field that holds one has ``_value``
    # (WTForms' date and time fields, ours), which types-WTForms does not declare.
    written: str = field._value()  # type: ignore[attr-defined]
    return written


def differences(yours: BaseForm, saved: BaseForm, names: Iterable[str], labels: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(label, your input, saved now) for each field the user sent that now differs; ``names`` as
    ``form_field`` reads them, ``labels`` where a field is shown under another label than its own."""
    rows: list[tuple[str, str, str]] = []
    for name in names:
        mine, theirs = form_field(yours, name), form_field(saved, name)
        if isinstance(mine, FormField) and isinstance(theirs, FormField):
            rows += [(f"{mine.label.text}: {a}", b, c) for a, b, c in differences(mine.form, theirs.form, [n for n in mine.form._fields if n != "id"])]
        elif isinstance(mine, FieldList) and isinstance(theirs, FieldList):
            for index in range(max(len(mine.entries), len(theirs.entries))):
                a = _entry_form(mine, index)
                b = _entry_form(theirs, index)
                label = f"{mine.label.text} {index + 1}"
                if a is None or b is None:
                    rows.append((label, "present" if a else "removed", "present" if b else "removed"))
                else:
                    rows += [(f"{label}: {x}", y, z) for x, y, z in differences(a, b, [n for n in a._fields if n != "id"])]
        elif _shown(mine) != _shown(theirs):
            rows.append(((labels or {}).get(name) or str(mine.label.text), _shown(mine), _shown(theirs)))
    return rows


def _entry_form(entries: FieldList[FormField[BaseForm]], index: int) -> BaseForm | None:
    """The form of the ``index``-th entry of a list of sub-forms, None past its end."""
    return entries.entries[index].form if index < len(entries.entries) else None


def as_saved(result: ItemT | Saved[ItemT]) -> Saved[ItemT]:
    """A store's ``update`` answer as ``Saved``: the item, and what was kept of changes made meanwhile."""
    return result if isinstance(result, Saved) else Saved(result)


def reviewing(request: Request[Any, Any, Any]) -> bool:
    """A form posted to be shown again, not saved (the conflict's "take the saved values")."""
    return request.query_params.get("review") == "1"


def _attach(form: Form, exc: Invalid) -> None:
    if exc.field and exc.field in form._fields:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _all_fields(resource: Resource[Any, Any]) -> tuple[str, ...]:
    return tuple(f for section in resource.sections for f in section.fields)
