"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, started on a free
port, with a password-protected role. Uses the server binaries of Debian's ``postgresql``
package (``.ci/run`` installs it); tests that need it are skipped where it is missing."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

ROLE, DATABASE = "searcher", "studies"


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, password: str):
        self.password = password
        self.bin = server_binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.folder = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def url(self, password: str | None = None) -> str:
        """The connection URL; ``password`` replaces the real one as it is (e.g. ``${NAME}``)."""
        secret = password or urllib.parse.quote(self.password, safe="")
        return f"postgresql://{ROLE}:{secret}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str, stdin: str | None = None) -> None:
        # PostgreSQL refuses to run as root: run its tools as the package's `postgres` user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, input=stdin, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.folder.chmod(0o700)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {self.port} -k {self.folder} -h 127.0.0.1",
            "start",
        )
        # Two -c: CREATE DATABASE cannot run inside the transaction one -c with two statements is.
        self._psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'", f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        return self

    def _psql(self, *statements: str) -> None:
        commands = [part for statement in statements for part in ("-c", statement)]
        self._run(
            str(self.bin / "psql"),
            "-h",
            str(self.folder),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            *commands,
        )

    def create_database(self, name: str) -> str:
        """Another database owned by the test role (e.g. for MLflow); returns its URL."""
        self._psql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url().rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
