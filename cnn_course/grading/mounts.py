"""Let a sandbox user reach the Python it needs, and nothing else of a private folder.

The kernel's interpreter often lives under a folder other users cannot enter (pyenv or a
cached virtual environment in ``/root``). Opening that folder to everyone would expose all
of it; instead, in a private mount namespace of the kernel alone (Linux, root only),
:func:`expose` covers each such folder with an empty ``tmpfs`` that holds only the needed
sub-folders (bind mounts). The rest of the machine sees nothing change.

Runs in the forked kernel process before ``exec`` (``preexec_fn``), so it uses ``ctypes``.
"""

from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18


def blocked(paths: list[str]) -> dict[str, set[str]]:
    """Folders on the way to ``paths`` that others cannot enter -> the children needed in them."""
    out: dict[str, set[str]] = {}
    for p in paths:
        p = Path(os.path.realpath(p))
        for parent, child in zip(list(p.parents)[::-1], [*list(p.parents)[::-1][1:], p], strict=True):
            mode = os.stat(parent).st_mode
            if not mode & stat.S_IXOTH:
                out.setdefault(str(parent), set()).add(str(child))
                break
    return out


def _call(fn, *args) -> None:
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{fn.__name__}{args[:2]}: {os.strerror(err)}")


def expose(paths: list[str], stage: str) -> None:
    """Make ``paths`` reachable by any user in a new mount namespace (see module doc).

    ``stage`` is an empty folder used while moving mounts. Raises OSError where mount
    namespaces are not allowed.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    todo = blocked(paths)
    if not todo:
        return
    _call(libc.unshare, CLONE_NEWNS)
    _call(libc.mount, b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    for _ in range(8):  # nested private folders are handled one level per round
        if not todo:
            return
        for folder, children in todo.items():
            _cover(libc, folder, list(children), stage)
        todo = blocked(paths)
    raise OSError(f"could not expose {paths}")


def _first_blocked(path: str) -> str | None:
    """The outermost folder on the way to ``path`` that other users cannot enter, or None."""
    for parent in list(Path(path).parents)[::-1]:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return str(parent)
    return None


def _cover(libc, folder: str, keep: list[str], stage: str) -> None:
    """Mount an empty tmpfs over ``folder`` that shows only the ``keep`` paths beneath it."""
    staged = []
    for i, path in enumerate(sorted(keep)):
        s = os.path.join(stage, str(i))
        os.makedirs(s, exist_ok=True)
        _call(libc.mount, path.encode(), s.encode(), None, MS_BIND | MS_REC, None)
        staged.append((s, path))
    _call(libc.mount, b"tmpfs", folder.encode(), b"tmpfs", 0, b"mode=0755,size=1m")
    for s, path in staged:
        os.makedirs(path, exist_ok=True)
        _call(libc.mount, s.encode(), path.encode(), None, MS_MOVE, None)
        os.rmdir(s)


def show_only(needed: list[str], hide: list[str], stage: str) -> None:
    """In a new mount namespace of the calling process (root only), let any user reach exactly
    the ``needed`` folders of private trees, and cover the ``hide`` folders.

    The narrow form of :func:`expose`, for the course hub's user servers: a private folder on the
    way to a needed one (``/root`` holding pyenv or a cached virtual environment) is covered by an
    empty tmpfs that shows only the needed folders themselves, not their siblings; each folder of
    ``hide`` that is still visible (a checkout of this repository, with ``source/``) is covered too,
    keeping only needed folders inside it (a ``.venv`` in the checkout). ``stage`` is an empty
    folder; a private tmpfs is mounted on it first, so nothing is left on disk. Raises OSError.
    """
    real = sorted({os.path.realpath(p) for p in needed})
    real = [p for p in real if not any(p.startswith(q + os.sep) for q in real if q != p)]
    covers: dict[str, list[str]] = {}
    for p in real:
        folder = _first_blocked(p)
        if folder:
            covers.setdefault(folder, []).append(p)
    hidden = [os.path.realpath(h) for h in hide if os.path.isdir(h)]
    if not covers and not hidden:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    _call(libc.unshare, CLONE_NEWNS)
    _call(libc.mount, b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    _call(libc.mount, b"tmpfs", stage.encode(), b"tmpfs", 0, b"mode=0700,size=1m")
    for folder, keep in sorted(covers.items()):
        _cover(libc, folder, keep, stage)
    for folder in hidden:
        if os.path.isdir(folder):  # not already out of sight under a covered folder
            _cover(libc, folder, [p for p in real if p.startswith(folder + os.sep)], stage)
