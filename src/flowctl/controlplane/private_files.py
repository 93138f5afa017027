"""Folders and files only their owner can read: the registry holds every component's
metadata and addresses, which other users of the machine have no business reading.

Modes are given at creation (never created open, then narrowed), so there is no moment
when another user could open them; the umask can only narrow them further.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def create_private_folders(folder: Path) -> None:
    """Create `folder` and each missing parent, every one of them 0700."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    if not current.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(current))
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: left as it is
            each.mkdir(mode=PRIVATE_FOLDER)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 unless one exists (which is left as it is)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def make_private(path: Path, mode: int) -> None:
    """Take away group and other permissions from a path of ours (OSError if it cannot)."""
    status = path.stat()
    if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(status.st_mode) & mode)
