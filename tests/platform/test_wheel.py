"""The wheel that `pip wheel .` builds, installed away from the checkout, serves and migrates.

The wheel is built without network access (``--no-build-isolation``: hatchling comes with the test
extras) and installed with ``--no-deps`` into a new virtual environment; the dependencies come from
this test run's environment through a ``.pth`` line (what ``--system-site-packages`` does for a
venv made from the system's Python), which names that site-packages folder only, so the checkout's
editable install is not on the path. ``clientele run`` then starts in an empty directory, with
no DATABASE_URL, CLIENTELE_VAR_DIR or secret key: the database and key go to ``./var``.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import normalise_database_url
from app.database import migrate
from tests.server import ROOT, serve

pytestmark = pytest.mark.packaging

# What the repository keeps beside app/, and where the wheel carries it.
DATA = ("templates", "static", "migrations", "alembic.ini")
# The environment a deployment would not have: the test run's database, key and data folder.
TEST_ONLY_ENV = ("DATABASE_URL", "CLIENTELE_VAR_DIR", "CLIENTELE_SECRET_KEY", "PYTHONPATH")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("clientele-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel installed in it; its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                               capture_output=True, text=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)], check=True)
    return venv / "bin"


def test_the_wheel_carries_every_file_of_templates_static_and_migrations(wheel):
    tracked = subprocess.run(["git", "ls-files", "--", *DATA], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    assert any(name.startswith("migrations/versions/") for name in tracked)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [name for name in tracked if f"app/{name}" not in names]
        assert not missing
        for name in tracked:
            assert archive.read(f"app/{name}") == (ROOT / name).read_bytes(), name
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    probe = "import app, sys; from app.shared.package_data import INSTALLED, package_data; print(app.__file__, INSTALLED, package_data('migrations'))"
    out = subprocess.run([installed / "python", "-c", probe], cwd=tmp_path, env=_deployed_env(), check=True, capture_output=True,
                         text=True).stdout.split()
    package, flag, migrations = Path(out[0]), out[1], Path(out[2])
    assert package.is_relative_to(installed.parent) and not package.is_relative_to(ROOT)
    assert flag == "True"
    assert migrations == package.parent / "migrations"


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request, tmp_path) -> Iterator[tuple[str | None, Path]]:
    """(DATABASE_URL for the server, or None for its default; the empty directory it starts in).
    PostgreSQL: a new database on TEST_DATABASE_URL's server, dropped afterwards."""
    workdir = tmp_path / "empty"
    workdir.mkdir()
    if request.param == "sqlite":
        yield None, workdir
        return
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL server")
    server = make_url(normalise_database_url(server_url))
    name = f"clientele_wheel_{os.getpid()}"
    admin = create_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False), workdir
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_clientele_run_from_the_wheel_renders_serves_static_files_and_migrates(installed, deployment):
    database_url, workdir = deployment
    # serve() adds its env to this run's: the test-only settings are emptied, which counts as unset.
    env = dict.fromkeys(TEST_ONLY_ENV, "") | ({"DATABASE_URL": database_url} if database_url else {})
    with serve("wheel", command="clientele", python=installed / "python", cwd=workdir, env=env) as base_url, \
            httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.get("/login")
        assert login.status_code == 200
        assert 'name="password"' in login.text and 'href="/static/app.css"' in login.text
        for name in ("app.css", "vendor/htmx.min.js"):
            static = client.get(f"/static/{name}")
            assert static.status_code == 200
            assert static.content == (ROOT / "static" / name).read_bytes()
        # The installed command line makes a user and a token; the back office and the API answer them.
        cli = functools.partial(subprocess.run, cwd=workdir, env=_deployed_env() | env, check=True, capture_output=True, text=True)
        cli([installed / "clientele", "accounts", "create", "Wheel Shop"])
        cli([installed / "clientele", "users", "create", "--account", "Wheel Shop", "--email", "admin@example.com"], input=f"{PASSWORD}\n")
        token = cli([installed / "clientele", "tokens", "create", "--account", "Wheel Shop", "--scope", "customers"]).stdout.split()[-1]
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        home = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "_csrf_token": csrf}, follow_redirects=True)
        assert home.status_code == 200 and home.url.path == "/customers"
        assert "<h1>Customers</h1>" in home.text and 'class="empty"' in home.text
        api = client.get("/api/customers/", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200 and api.json() == {"total": 0, "data": []}
    assert _revision(database_url, workdir) == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    if database_url is None:
        assert (workdir / "var" / "secret_key").is_file()


def _deployed_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in TEST_ONLY_ENV}


def _revision(database_url: str | None, workdir: Path) -> str:
    if database_url is None:
        path = workdir / "var" / "clientele.db"
        assert path.is_file(), "the SQLite database is not in ./var of the directory the server started in"
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
