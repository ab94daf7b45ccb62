"""A private, throw-away MariaDB server for tests that must crash one: Debian's own `mariadbd` on a temp
datadir (made by `mariadb-install-db`), a free loopback port, and its socket, pid file and error log in the
same temp dir. Nothing else is touched, so it can be SIGKILLed and started again on the same datadir while
the shared server on 3306 serves everyone else.

    with ThrowawayMariaDB() as server:       # initialises the datadir and starts the server
        url = server.create_database("app")  # mysql+pymysql://root@127.0.0.1:<port>/app?charset=utf8mb4
        server.kill()                        # SIGKILL: no shutdown, InnoDB recovers from its redo log
        server.start()                       # same datadir, same port
    # gone: process killed, temp dir removed (also when the test failed)

Startup is quick on the project machines: ~1 s to initialise the datadir, ~0.3 s to accept connections.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/usr/local/sbin"])


def _binary(name: str) -> str:
    """Fail loudly: a crash test that quietly skips would prove nothing (scripts/test installs MariaDB)."""
    found = shutil.which(name, path=SEARCH_PATH)
    if found is None:
        raise RuntimeError(f"{name} not found: install Debian's mariadb-server (scripts/test does)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayMariaDB:
    # Small and durable: every COMMIT is on disk before the client hears of it (flush_log_at_trx_commit=1),
    # no binary log (so sync_binlog does not apply), a small buffer pool and redo log to start fast.
    SERVER_OPTIONS = ("--innodb-flush-log-at-trx-commit=1", "--innodb-buffer-pool-size=64M",
                      "--innodb-log-file-size=16M", "--skip-log-bin", "--skip-name-resolve")

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ewallet-mariadb-"))
        self.datadir, self.log = self.root / "data", self.root / "error.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._user = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses to run as root otherwise

    @property
    def server_url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}"

    def __enter__(self) -> ThrowawayMariaDB:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def start(self, timeout: float = 30) -> ThrowawayMariaDB:
        """Start on the datadir (initialising it the first time) and return once a client can log in."""
        if not self.datadir.exists():
            self._install()
        command = [_binary("mariadbd"), "--no-defaults", *self._user, f"--datadir={self.datadir}",
                   f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.root / 'mariadb.sock'}",
                   f"--pid-file={self.root / 'mariadb.pid'}", f"--log-error={self.log}", *self.SERVER_OPTIONS]
        # Its own session: a Ctrl-C at the terminal must not kill it behind the test's back.
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_until_ready(timeout)
        return self

    def kill(self) -> None:
        """SIGKILL, as a power cut would look to the process: no flush, no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, **kwargs) -> pymysql.Connection:
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2, **kwargs)

    def create_database(self, name: str) -> str:
        with self.connect(autocommit=True) as connection:
            connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return f"{self.server_url}/{name}?charset=utf8mb4"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no error log)"

    def _install(self) -> None:
        command = [_binary("mariadb-install-db"), "--no-defaults", *self._user, f"--datadir={self.datadir}",
                   "--auth-root-authentication-method=normal", "--skip-test-db", *self.SERVER_OPTIONS]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({done.returncode}):\n{done.stdout[-2000:]}"
                               f"\n{done.stderr[-2000:]}")

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"mariadbd not ready within {timeout:.0f}s:\n{self.log_tail()}")
