"""`python -m sandbox.stack.run_as USER -- ARGV...`: exec ARGV as USER (for root only).

PostgreSQL refuses to run as root. `exec` (not fork) keeps the server the leader of the
ManagedProcess's group, so stopping the group stops the server.
"""

from __future__ import annotations

import os
import pwd
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m sandbox.stack.run_as USER -- COMMAND [ARGS...]")
    entry = pwd.getpwnam(argv[0])
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    os.execv(argv[2], argv[2:])  # noqa: S606 - exec of our own argv, no shell on purpose


if __name__ == "__main__":
    main(sys.argv[1:])
