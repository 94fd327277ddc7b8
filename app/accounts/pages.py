"""The account's back-office users, as a resource of the generic views."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from litestar.datastructures import MultiDict
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.forms import UserForm
from app.accounts.models import User
from app.admin.resource import Column, Invalid, ListQuery, Resource, Section
from app.shared.audit import Actor
from app.shared.inputs import validated_text
from app.shared.paging import Page
from app.web.store import ask_new_id

SORTS = {"email": User.email, "name": User.name, "role": User.role}


def _filtered(actor: Actor, query: ListQuery) -> Select[User]:
    stmt = select(User).where(User.account_id == actor.account_id)
    for word in query.search.split():
        stmt = stmt.where(or_(User.email.icontains(word, autoescape=True), User.name.icontains(word, autoescape=True)))
    return stmt


def _ordered(stmt: Select[User], query: ListQuery) -> Select[User]:
    column = SORTS.get(query.sort, User.email)
    return stmt.order_by(column.desc() if query.descending else column.asc(), User.id)


def cannot_delete(actor: Actor, user: User) -> str:
    """An admin cannot delete their own account (the account would be left without them, mid-session)."""
    return "You cannot delete yourself." if user.id == actor.user_id else ""


class UserStore:
    def listing(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page:
        stmt = _filtered(actor, query)
        total = session.scalar(stmt.with_only_columns(func.count(User.id))) or 0
        items = list(session.scalars(_ordered(stmt, query).limit(per_page).offset((page - 1) * per_page)))
        return Page(items, total, page, per_page)

    def stream(self, session: Session, actor: Actor, query: ListQuery) -> Iterator[User]:
        return iter(session.scalars(_ordered(_filtered(actor, query), query).execution_options(yield_per=500)))

    def get(self, session: Session, actor: Actor, item_id: int) -> User | None:
        if not 0 < item_id < 2**31:
            return None
        return session.scalar(select(User).where(User.account_id == actor.account_id, User.id == item_id))

    def get_for_update(self, session: Session, actor: Actor, item_id: int) -> User | None:
        return self.get(session, actor, item_id)

    def bind(self, formdata: MultiDict[str] | None, actor: Actor, item: User | None = None, replace: Iterable[str] = ()) -> UserForm:
        meta = {"editing": item is not None}
        if formdata is None:
            return UserForm(obj=item, meta=meta) if item else UserForm(meta=meta)
        return UserForm(formdata, meta=meta)

    def create(self, session: Session, actor: Actor, form: UserForm) -> User:
        try:
            return accounts.create_user(
                session, actor.account_id, validated_text(form.email), validated_text(form.password), role=validated_text(form.role), name=validated_text(form.name)
            )
        except ValueError as exc:
            raise Invalid("email", str(exc)) from exc

    def update(self, session: Session, actor: Actor, item: User, form: UserForm, expected_version: int | None = None) -> User:
        if item.id == actor.user_id and form.role.data != "admin":
            raise Invalid("role", "You cannot take the admin role from yourself.")
        email = validated_text(form.email)
        if accounts.email_taken(session, actor.account_id, email, other_than=item.id):
            raise Invalid("email", f"A user with the email {form.email.data} exists already.")
        # A new password or role ends every session of the user; the admin's own goes on under a new id.
        ends_sessions = bool(form.password.data) or form.role.data != item.role
        item.email, item.name, item.role = email, validated_text(form.name), validated_text(form.role)
        if form.password.data:
            item.password_hash = accounts.hash_password(form.password.data)
        if ends_sessions:
            item.session_epoch = User.session_epoch + 1
        session.commit()
        if ends_sessions and item.id == actor.user_id and actor.session is not None:
            actor.session["epoch"] = item.session_epoch  # read back after the commit
            ask_new_id(actor.session)
        return item

    def delete(self, session: Session, actor: Actor, item_id: int) -> bool:
        user = self.get(session, actor, item_id)
        if user is None:
            return False
        refusal = cannot_delete(actor, user)
        if refusal:
            raise Invalid(None, refusal)
        session.delete(user)
        session.commit()
        return True

    def toggle(self, session: Session, actor: Actor, item_id: int, name: str, value: bool) -> None:
        return None


USERS = Resource(
    name="users",
    singular="user",
    plural="Users",
    columns=(
        Column("email", "Email", sort="email", kind="title"),
        Column("name", "Name", sort="name"),
        Column("role", "Role", sort="role"),
    ),
    search_label="Search email or name",
    sections=(Section("User", ("email", "name", "role", "password")),),
    store=UserStore(),
    describe=lambda u: u.email,
    default_sort="email",
    roles=("admin",),
    facts=(Column("created_at", "Created", kind="datetime"),),
    cannot_delete=cannot_delete,
)
