"""A deployment on this machine with servers the test owns: a private PostgreSQL
(initdb into a temp dir), a private redis-server with AOF on (as docker/compose.yaml
runs it), and the app's processes with runstack's command lines
(devstack.children) under production settings, on free ports.

The tests stop, restart and wipe these servers; nothing here touches a server
another test, helper or CI uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.children import service_children

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PASSWORD = "Outage-test-pass-4821"  # the API user's: a throwaway stack
INHERITED = ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "USER")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_servers() -> None:
    """Skip without PostgreSQL's server binaries or redis-server, except under CI=true
    (`make test` installs them): there the test fails instead."""
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL's server binaries (initdb, pg_ctl)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if not missing:
        return
    reason = f"needs {' and '.join(missing)} (`make test-deps` installs them)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def wait_until(check, timeout: float, what: str, logs=lambda: "", interval: float = 0.2):
    """Poll check() until truthy and return it; after `timeout` s fail with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f}s\n{logs()}")


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return f"--- {path.name} ---\n{path.read_text(errors='replace')[-chars:]}"
    except OSError:
        return f"--- {path.name}: none ---"


class PrivatePostgres:
    """A PostgreSQL cluster in `tmp`/pg-data on a free loopback port."""

    def __init__(self, tmp: Path):
        self.bin = postgres_bin()
        assert self.bin is not None
        self.data = tmp / "pg-data"
        self.socket_dir = tmp / "pg-socket"
        self.log = tmp / "postgres.log"
        self.port = free_port()
        self.url = f"postgres://postgres:{PASSWORD}@{HOST}:{self.port}/summarizer"
        # PostgreSQL refuses to run as root.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *argv], capture_output=True, text=True, timeout=120, check=check
        )

    def _own(self, *paths: Path) -> None:
        if self.as_user:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def create(self) -> None:
        pwfile = self.data.parent / "pg-password"
        pwfile.write_text(PASSWORD)
        for path in (self.data, self.socket_dir):
            path.mkdir()
        self.log.touch()
        self._own(self.data, self.socket_dir, pwfile, self.log)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth-local=trust", "--auth-host=scram-sha-256",
                  f"--pwfile={pwfile}")  # fmt: skip
        options = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",  # a throwaway database
            "max_connections": "60",
        }
        with open(self.data / "postgresql.auto.conf", "a") as conf:
            conf.writelines(f"{k} = '{v}'\n" for k, v in options.items())
        self.start()
        self._run(str(self.bin / "createdb"), "-h", str(self.socket_dir), "-p", str(self.port),
                  "-U", "postgres", "summarizer")  # fmt: skip

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop", check=False)  # fmt: skip

    def query(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname="summarizer"
        ) as conn:
            return list(conn.execute(sql, params))


class PrivateRedis:
    """redis-server on a free loopback port, AOF on (appendfsync everysec), as compose."""

    def __init__(self, tmp: Path):
        self.dir = tmp / "redis"
        self.log = tmp / "redis.log"
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.dir.mkdir(exist_ok=True)
        argv = ["redis-server", "--bind", HOST, "--port", str(self.port),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--maxmemory-policy", "noeviction", "--dir", str(self.dir)]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self.ping, 20, "redis-server up", lambda: tail(self.log))

    def cli(self, *args: str) -> str:
        proc = subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return proc.stdout.strip()

    def ping(self) -> bool:
        return self.cli("ping") == "PONG"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: Redis's own shutdown (the AOF flushed); SIGKILL: power lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def wipe(self) -> None:
        """Everything Redis held is gone (a new, empty volume)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def cleanup(self) -> None:
        self.stop(signal.SIGKILL)


class App:
    """web (gunicorn), beat and the inference worker as runstack starts them."""

    def __init__(self, tmp: Path, database_url: str, redis_url: str, **env: str):
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        var_dir = tmp / "var"
        var_dir.mkdir(exist_ok=True)
        self.env = {
            # Only what a process needs to run here: no setting of the app comes from
            # the developer's shell or a .env file, only from this test.
            **{k: v for k, v in os.environ.items() if k in INHERITED or k.startswith("LC_")},
            "SUMMARIZER_DOTENV": "",
            "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.production",
            "SECRET_KEY": "outage-test-secret-key-" + "x" * 40,
            "ALLOWED_HOSTS": HOST,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front of this test's web
            "SUMMARIZER_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def logs(self) -> str:
        return "\n".join(tail(p) for p in sorted(self.tmp.glob("*.log")))

    def manage(self, *args: str, **env: str) -> str:
        argv = [sys.executable, str(ROOT / "manage.py"), *args]
        proc = subprocess.run(
            argv, env={**self.env, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    def migrate_and_create_user(self, username: str = "ops") -> None:
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("createsuperuser", "--noinput", "--username", username,
                    "--email", f"{username}@example.org",
                    DJANGO_SUPERUSER_PASSWORD=PASSWORD)  # fmt: skip

    def start(self, *names: str, web_workers: int = 2) -> None:
        opts = {"inference_concurrency": 1, "web_workers": web_workers, "port": self.port,
                "no_tensorboard": True}  # fmt: skip
        argv = {c.name: c.argv for c in service_children(opts, self.tmp)}
        for name in names:
            with open(self.log(name), "ab") as out:
                self.procs[name] = subprocess.Popen(
                    argv[name],
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        if "web" in names:
            wait_until(
                lambda: call(f"{self.base}/healthz", timeout=5)[0] in (200, 503),
                120,
                "gunicorn answers /healthz",
                self.logs,
            )

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def cleanup(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def token(self, username: str = "ops") -> str:
        status, body, _ = call(
            f"{self.base}/api/auth/token/", {"username": username, "password": PASSWORD}
        )
        assert status == 200, (status, body)
        return body["token"]


def call(
    url: str, body: object = None, token: str | None = None, timeout: float = 30
) -> tuple[int, object, dict[str, str]]:
    """(status, parsed JSON body or the raw text, headers); status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, _parse(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, _parse(exc.read()), dict(exc.headers)
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc), {}


def _parse(raw: bytes) -> object:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")
