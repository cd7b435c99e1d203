"""The course's Unix accounts: an instructor and students, with passwords, in two groups.

The hub logs them in with PAM (JupyterHub's default ``PAMAuthenticator``) and starts each
one's server as that account, so these are real system accounts: ``useradd`` (home folder
0700, so nobody reads another's files) and ``chpasswd``. Passwords are random, kept in
``state/accounts.json`` (root only) and kept across restarts; ``make hub`` prints them.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import subprocess
from pathlib import Path

from .settings import Hub


def _run(*cmd: str, stdin: str | None = None) -> None:
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")


def ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run("groupadd", name)
        return grp.getgrnam(name).gr_gid


def ensure_user(name: str, group: str) -> pwd.struct_passwd:
    """The account ``name`` (created when missing) with ``group`` among its groups; home 0700."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        _run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", group, name)
        pw = pwd.getpwnam(name)
    if name not in grp.getgrnam(group).gr_mem:
        _run("usermod", "--append", "--groups", group, name)
    os.chmod(pw.pw_dir, 0o700)
    return pw


def passwords(hub: Hub) -> Path:
    return hub.state / "accounts.json"


def ensure_accounts(hub: Hub, students: list[str] | None = None) -> dict[str, str]:
    """Create the instructor and ``students`` (default: the hub's) with passwords; return
    {user: password} of every account the hub knows (the ones of earlier runs kept)."""
    ensure_group(hub.student_group)
    ensure_group(hub.instructor_group)
    path = passwords(hub)
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [(hub.instructor, hub.instructor_group)]
    wanted += [(s, hub.student_group) for s in (hub.student_names() if students is None else students)]
    new = {}
    for name, group in wanted:
        ensure_user(name, group)
        new[name] = known.get(name) or secrets.token_urlsafe(12)
    # chpasswd every time: an account made by an earlier hub may have another password
    _run("chpasswd", stdin="".join(f"{u}:{p}\n" for u, p in new.items()))
    known.update(new)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(known, fh, indent=1)
    return known


def known_accounts(hub: Hub) -> dict[str, str]:
    """{user: password} of the accounts this hub made (root only: the file is 0600)."""
    path = passwords(hub)
    return json.loads(path.read_text()) if path.exists() else {}
