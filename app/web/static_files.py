"""The file system the static files are served from."""

from __future__ import annotations

from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo


class StaticFileSystem(BaseLocalFileSystem):
    """The local file system, where a path the operating system cannot even look up (a NUL byte,
    a name too long, a file taken for a directory, a loop of links) is no file: 404, as any
    missing one, instead of an error logged with its traceback. A file it may not read still
    answers as Litestar has it."""

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except (FileNotFoundError, PermissionError):
            raise
        except (ValueError, OSError) as error:
            raise FileNotFoundError(str(path)) from error
