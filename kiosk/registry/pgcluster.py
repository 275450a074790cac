"""A throw-away PostgreSQL cluster from Debian's binaries, for tests, benchmarks and demos.

    with PostgresCluster() as cluster:                 # initdb + pg_ctl start on a temporary directory
        url = cluster.create_database("registry")      # postgresql://kiosk@/registry?host=/tmp/...
        ...
        cluster.restart()                              # or stop(), start(), kill() for fault tests

The cluster listens on a Unix socket only (``listen_addresses = ''``), in its own directory, with
``trust`` authentication for the local superuser ``kiosk``: nothing is reachable from the network and
no password is needed. PostgreSQL refuses to run as root, so when this process is root the server
runs as the ``postgres`` system user (``nobody`` if there is none) and the directory is handed to it.

``durable=False`` (the default, for tests) turns off fsync: a killed server or a killed client still
loses nothing (every committed write is in the operating system's page cache), only a power cut
would. A station server is set up durably (see the README), not with this class.

No cluster outlives its owner: the first start also starts a watchdog (pgwatchdog.py) holding a pipe
from this process; if this process dies without cleaning up (``kill -9``, a crash), the watchdog stops
the server and removes the directory.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "kiosk"
"""Name of the cluster's superuser (``initdb --username``)."""

INSTALL_HINT = "install Debian's postgresql package (tools/install-postgres; ./dev test runs it)"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or they could not start a cluster)."""


def find_bin_dir() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres: ``$KIOSK_PG_BIN``, else the newest
    ``/usr/lib/postgresql/N/bin`` (Debian), else whatever ``pg_ctl`` is on ``PATH``."""
    candidates = [os.environ.get("KIOSK_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                         reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    return None


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' account exists")


class PostgresCluster:
    """One PostgreSQL cluster in a temporary directory, reachable on a Unix socket only."""

    def __init__(self, base_dir: str | os.PathLike | None = None, *, bin_dir: str | os.PathLike | None = None,
                 port: int = 5432, durable: bool = False, max_connections: int = 200):
        found = Path(bin_dir) if bin_dir else find_bin_dir()
        if found is None or not all((found / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
        self.bin_dir = found
        self.port = port
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "socket"
        self.log_file = self.base_dir / "server.log"
        self._user = _server_user()
        self._settings = {
            "listen_addresses": "''", "port": str(port), "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": str(max_connections), "fsync": "on" if durable else "off",
            "full_page_writes": "on" if durable else "off", "synchronous_commit": "on",
            "shared_buffers": "32MB", "log_min_messages": "warning", "logging_collector": "off",
        }
        self._init_done = (self.data_dir / "PG_VERSION").exists()
        self._watchdog: subprocess.Popen | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=check, timeout=timeout,
                              capture_output=True, text=True, cwd=self.base_dir, **kwargs)

    def init(self) -> None:
        """``initdb`` once (trust authentication, UTF-8, superuser ``kiosk``)."""
        if self._init_done:
            return
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        try:
            self._run("initdb", "--pgdata", str(self.data_dir), "--username", SUPERUSER, "--auth", "trust",
                      "--encoding", "UTF8", "--locale", "C", "--no-sync")
        except subprocess.CalledProcessError as exc:
            raise PostgresUnavailable(f"initdb failed: {exc.stderr.strip() or exc.stdout.strip()}") from exc
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# kiosk.registry.pgcluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in self._settings.items())
        self._init_done = True

    def start(self, timeout: float = 60) -> "PostgresCluster":
        """Start the server (running ``initdb`` first if needed); returns when it accepts connections."""
        self.init()
        try:
            self._run("pg_ctl", "--pgdata", str(self.data_dir), "--log", str(self.log_file), "--wait",
                      "--timeout", str(int(timeout)), "start", timeout=timeout + 10)
        except subprocess.CalledProcessError as exc:
            raise PostgresUnavailable(f"pg_ctl start failed: {exc.stderr.strip()}\n{self.server_log()}") from exc
        self._guard()
        return self

    def _guard(self) -> None:
        """Start the parent-death watchdog once: it holds the read end of a pipe whose write end only
        this process has, and cleans up when that pipe ends without a release."""
        if self._watchdog is not None:
            return
        owner = f"{self._user.pw_uid}:{self._user.pw_gid}" if self._user is not None else "-"
        self._watchdog = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("pgwatchdog.py")), str(self.bin_dir / "pg_ctl"),
             str(self.data_dir), str(self.base_dir) if self._own_dir else "-", owner],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)    # not in the owner's process group: a signal to the group spares it

    def _release_guard(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None:
            return
        try:
            watchdog.stdin.write(b"release\n")
            watchdog.stdin.close()
        except OSError:
            pass
        try:
            watchdog.wait(timeout=10)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        """``pg_ctl stop``: ``fast`` (roll back open transactions, clean shut-down), ``smart`` or
        ``immediate`` (no shut-down checkpoint: the next start runs crash recovery)."""
        if self.is_running():
            self._run("pg_ctl", "--pgdata", str(self.data_dir), "--mode", mode, "--wait",
                      "--timeout", str(int(timeout)), "stop", timeout=timeout + 10)

    def restart(self, mode: str = "fast") -> None:
        """Stop (``mode`` as for :meth:`stop`) and start again: every client connection is cut."""
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """``kill -9`` the postmaster and every server process, as a crashed machine would; the next
        :meth:`start` runs crash recovery."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        victims = [pid] + _children(pid)
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Wait until the processes are reaped, not only dead: the next postmaster refuses to start
        # while the old PID in postmaster.pid still exists, even as a zombie.
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{v}") for v in victims) and time.monotonic() < deadline:
            time.sleep(0.02)
        if os.path.exists(f"/proc/{pid}") and not _alive(pid):
            # an unreaped zombie that nobody will collect: the server is dead, its lock file is stale
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def cleanup(self) -> None:
        """Stop the server (immediately) and delete the directory if this object created it."""
        try:
            self.stop("immediate")
        except (subprocess.SubprocessError, OSError):
            self.kill()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self._release_guard()

    def __enter__(self) -> "PostgresCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # -- databases -------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over this cluster's socket."""
        return (f"postgresql://{SUPERUSER}@/{quote(database)}?host={quote(str(self.socket_dir), safe='/')}"
                f"&port={self.port}")

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database ``name`` (optionally as a copy of ``template``) and return its URL."""
        import psycopg
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting any session still using it."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def server_log(self, tail: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-tail:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"   # a zombie is dead, only unreaped
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for entry in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(entry, encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.split("/")[2]))
    return found
