"""Where the files the code runs with are: templates/, static/, migrations/ and alembic.ini.

In the repository they sit at its top, beside ``app/``; the wheel carries them inside the ``app``
package (``[tool.hatch.build.targets.wheel]`` in pyproject.toml maps them there). Every use of them
asks here, so that an installed server finds them as a checkout does.
"""

from __future__ import annotations

from pathlib import Path

import app

PACKAGE_DIR = Path(app.__file__).resolve().parent
# An installed wheel has the migrations inside the package; a checkout has them beside it.
INSTALLED = (PACKAGE_DIR / "migrations" / "env.py").is_file()
DATA_DIR = PACKAGE_DIR if INSTALLED else PACKAGE_DIR.parent


def package_data(name: str) -> Path:
    """The path of ``name`` (``"templates"``, ``"static"``, ``"migrations"``, ``"alembic.ini"``)."""
    return DATA_DIR / name


def default_var_dir() -> Path:
    """Where the SQLite file and the generated key go unless CLIENTELE_VAR_DIR says otherwise:
    ``var/`` in the checkout, or, for an installed server, in the directory it is started from."""
    return (Path.cwd() if INSTALLED else DATA_DIR) / "var"
