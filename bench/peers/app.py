"""A peer admin over the benchmark's customers table, run by uvicorn in the peers' own virtual environment.

    BENCH_PEER=sqladmin|starlette-admin BENCH_PEER_DATABASE_URL=sqlite:////path/clientele.db \\
        var/peers-venv/bin/uvicorn bench.peers.app:create_app --factory --port P

It maps the columns of `customers` a person searches and reads (it imports nothing of the app: the peers
have their own packages) and configures each admin as its documentation says: the list shows name,
company, email, phone and city, 30 a page, and the search box searches first name, last name, company,
email, phone number and city (both peers OR a `CAST(column AS VARCHAR) ILIKE '%term%'` per column).
Each peer keeps its default order (by primary key) and has no sign-in.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SEARCHED = ("first_name", "last_name", "company", "email", "phone_number", "city")
SHOWN = ("id", "first_name", "last_name", "company", "email", "phone_number", "city")
PER_PAGE = 30
# Both admins look for templates in ./templates first by default, which from the repository's root
# is the app's own folder: point them at a folder that does not exist, so that each uses only its own.
NO_TEMPLATES = str(Path(__file__).with_name("no-templates"))


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone_number: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(100))


def _engine():
    url = os.environ["BENCH_PEER_DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return create_engine(url, pool_size=2, max_overflow=0)
    return create_engine(url, connect_args={"check_same_thread": False})


def _sqladmin(engine):
    from sqladmin import Admin, ModelView
    from starlette.applications import Starlette

    class CustomerAdmin(ModelView, model=Customer):
        column_list = [getattr(Customer, name) for name in SHOWN]
        column_searchable_list = [getattr(Customer, name) for name in SEARCHED]
        page_size = PER_PAGE
        page_size_options = [PER_PAGE]

    app = Starlette()
    admin = Admin(app, engine, templates_dir=NO_TEMPLATES)
    admin.add_view(CustomerAdmin)
    return app


def _starlette_admin(engine):
    from starlette.applications import Starlette
    from starlette_admin.contrib.sqla import Admin, ModelView

    class CustomerView(ModelView):
        fields = list(SHOWN)
        searchable_fields = list(SEARCHED)
        page_size = PER_PAGE
        page_size_options = [PER_PAGE]

    app = Starlette()
    admin = Admin(engine, title="Customers", templates_dir=NO_TEMPLATES)
    admin.add_view(CustomerView(Customer))
    admin.mount_to(app)
    return app


PEERS = {"sqladmin": _sqladmin, "starlette-admin": _starlette_admin}


def create_app():
    return PEERS[os.environ["BENCH_PEER"]](_engine())
