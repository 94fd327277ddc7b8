"""Run Alembic migrations from code (used by the CLI and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.shared.package_data import package_data


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(package_data("alembic.ini")))
    cfg.set_main_option("script_location", str(package_data("migrations")))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(revision: str, database_url: str | None = None) -> None:
    command.downgrade(alembic_config(database_url), revision)
