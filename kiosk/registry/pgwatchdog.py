"""Stops a throw-away PostgreSQL cluster when the process that started it dies (see pgcluster.py).

Run as a script, importing nothing of the package (it must work whatever state the owner left):

    python pgwatchdog.py PG_CTL DATA_DIR REMOVE_DIR|- UID:GID|-      (standard input: a pipe from the owner)

pg_ctl daemonises the server, so it outlives a killed owner and PR_SET_PDEATHSIG on it cannot help.
This small process blocks on a pipe whose only write end the owner holds: the kernel closes it when
the owner dies, however it dies (``kill -9`` included). The owner writes ``release`` before its own
clean-up; end of file without it means the owner died, so the server is stopped (``immediate``:
nothing to keep) and the cluster's directory removed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

RELEASE = b"release"


def main(argv: list[str]) -> int:
    pg_ctl, data_dir, remove_dir, owner = argv[1:5]
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # a Ctrl-C meant for the owner: the owner cleans up
    message = sys.stdin.buffer.read()               # returns when the owner closes the pipe or dies
    if message.strip() == RELEASE:
        return 0
    ids = {}
    if owner != "-" and os.geteuid() == 0:          # the server runs as an unprivileged account
        uid, gid = (int(part) for part in owner.split(":"))
        ids = {"user": uid, "group": gid, "extra_groups": []}
    try:
        subprocess.run([pg_ctl, "--pgdata", data_dir, "--mode", "immediate", "--wait", "--timeout", "30", "stop"],
                       capture_output=True, timeout=40, **ids)
    except (OSError, subprocess.SubprocessError):
        pass
    _kill_leftover_postmaster(data_dir)
    if remove_dir != "-":
        shutil.rmtree(remove_dir, ignore_errors=True)
    return 0


def _kill_leftover_postmaster(data_dir: str) -> None:
    """pg_ctl could not stop it (already stopping, timed out): SIGKILL the postmaster, whose children
    then exit on their own when they notice it is gone."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid"), encoding="ascii") as lock:
            pid = int(lock.readline())
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
