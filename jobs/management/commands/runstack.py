"""python manage.py runstack [--demo] [--port N] [--no-tensorboard] [--detach | --stop]

Runs the whole service on one machine for `make demo` / `make up`: Celery
inference and training workers, Celery beat, gunicorn (static files by
whitenoise) and TensorBoard, each a child in its own process group with its
output in var/log/<name>.log. It waits for /healthz to report the database,
the broker and both workers, then serves until SIGINT/SIGTERM and stops every
child: SIGTERM to each group, a grace period, SIGKILL for stragglers.

With no REDIS_URL the broker is the embedded redis-server under var/redis/
(started by settings); the stack stops it when it shuts down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from jobs import demo

HOST = "127.0.0.1"
STATE_FILE = "runstack.json"


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: shut the stack down."""


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    what: str  # for error messages: "the Celery inference worker"
    process: subprocess.Popen | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


# --- helpers shared with --stop and --detach ------------------------------------


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_runstack(pid: int) -> bool:
    """Guard against pid reuse before signalling a pid read from the state file."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (macOS): trust the state file
    return b"runstack" in cmdline


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def read_state(var_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((var_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_state(var_dir: Path, state: dict[str, Any]) -> None:
    tmp = var_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    tmp.replace(var_dir / STATE_FILE)


def running_stack(var_dir: Path) -> dict[str, Any] | None:
    state = read_state(var_dir)
    if state and pid_alive(state["pid"]) and is_runstack(state["pid"]):
        return state
    return None


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, _parse(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _parse(exc.read())
    except (urllib.error.URLError, OSError):
        return 0, None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def embedded_redis_in_use() -> bool:
    embedded = f"redis+socket://{Path(settings.VAR_DIR) / 'redis' / 'redis.sock'}"
    return embedded == settings.CELERY_BROKER_URL


def stop_embedded_redis() -> bool:
    from summarizer_project.embedded_redis import stop

    return stop(settings.VAR_DIR)


# --- the command ----------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Run web, Celery workers (inference, training), beat and TensorBoard on this machine "
        "until Ctrl-C; --demo submits the sample corpus through the API."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="submit and print the sample corpus"
        )
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument(
            "--tensorboard-port", type=int, default=int(os.environ.get("TENSORBOARD_PORT", 6006))
        )
        parser.add_argument("--no-tensorboard", action="store_true")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--inference-concurrency",
            type=int,
            default=1,
            help="worker processes of the inference worker (each loads its own model)",
        )
        parser.add_argument(
            "--startup-timeout", type=float, default=180.0, help="seconds to wait for /healthz"
        )
        parser.add_argument("--demo-timeout", type=float, default=300.0)
        parser.add_argument(
            "--no-train",
            action="store_true",
            help="with --demo: skip training a small BertSumExt on the sample corpus",
        )
        parser.add_argument(
            "--grace", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--detach", action="store_true", help="run in the background; return once healthy"
        )
        mode.add_argument("--stop", action="store_true", help="stop a background stack")

    # --- entry -----------------------------------------------------------------

    def handle(self, *args, **opts):
        self.var_dir = Path(settings.VAR_DIR)
        self.log_dir = self.var_dir / "log"
        self.opts = opts
        if opts["stop"]:
            self.stop_background()
            return
        self.refuse_if_busy()
        if opts["detach"]:
            self.detach()
            return
        self.run_foreground()

    def refuse_if_busy(self) -> None:
        state = running_stack(self.var_dir)
        if state:
            raise CommandError(
                f"a stack is already running from {self.var_dir} (pid {state['pid']}, "
                f"http://{HOST}:{state['port']}/); stop it with `make down`"
            )
        ports = [("web server", self.opts["port"], "PORT")]
        if not self.opts["no_tensorboard"]:
            ports.append(("TensorBoard", self.opts["tensorboard_port"], "TENSORBOARD_PORT"))
        for what, port, var in ports:
            if port_in_use(port):
                raise CommandError(
                    f"port {port} on {HOST} (for the {what}) is already in use by another "
                    f"program; stop it or choose another port, e.g. `make demo {var}={port + 1}`"
                )

    # --- background mode (make up / make down) ----------------------------------

    def detach(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / "runstack.log"
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "runstack"]
        argv += ["--port", str(self.opts["port"])]
        argv += ["--tensorboard-port", str(self.opts["tensorboard_port"])]
        argv += ["--web-workers", str(self.opts["web_workers"])]
        argv += ["--inference-concurrency", str(self.opts["inference_concurrency"])]
        argv += ["--startup-timeout", str(self.opts["startup_timeout"])]
        argv += ["--grace", str(self.opts["grace"])]
        if self.opts["no_tensorboard"]:
            argv.append("--no-tensorboard")
        if self.opts["demo"]:
            argv.append("--demo")
            if self.opts["no_train"]:
                argv.append("--no-train")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the terminal closing
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.stdout.write(f"Starting the stack in the background (pid {proc.pid}), log {log_path}")
        deadline = time.monotonic() + self.opts["startup_timeout"] + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
                raise CommandError(
                    f"the stack exited with code {proc.returncode} while starting; "
                    f"last lines of {log_path}:\n" + "\n".join(tail)
                )
            state = read_state(self.var_dir)
            if state and state.get("pid") == proc.pid and state.get("ready"):
                self.print_urls(state["port"], state.get("tensorboard_port"))
                self.stdout.write("Stop it with `make down`.")
                return
            time.sleep(0.5)
        raise CommandError(f"the stack did not become ready in time; see {log_path}")

    def stop_background(self) -> None:
        state = read_state(self.var_dir)
        if state is None:
            self.stdout.write("No stack is running (no state file).")
        else:
            pid = state["pid"]
            if pid_alive(pid) and is_runstack(pid):
                self.stdout.write(f"Stopping the stack (pid {pid}) ...")
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + float(state.get("grace", 20)) + 30
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.2)
                if pid_alive(pid):
                    self.stderr.write(f"pid {pid} did not stop; killing it")
                    os.kill(pid, signal.SIGKILL)
            # The supervisor cleans up its children; after a crash or SIGKILL it cannot.
            for name, pgid in state.get("children", {}).items():
                if group_alive(pgid):
                    self.stderr.write(f"{name} (process group {pgid}) was left over; killing it")
                    signal_group(pgid, signal.SIGKILL)
            (self.var_dir / STATE_FILE).unlink(missing_ok=True)
            self.stdout.write("Stack stopped.")
        if embedded_redis_in_use() and stop_embedded_redis():
            self.stdout.write("Stopped the embedded Redis.")

    # --- foreground mode --------------------------------------------------------

    def run_foreground(self) -> None:
        self.children: list[Child] = []
        self._raise_on_signal = False
        self._signalled: int | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        demo_ok: bool | None = None
        try:
            self.prepare()
            credentials = self.demo_user() if self.opts["demo"] else None
            self.start_children()
            self.wait_healthy()
            write_state(self.var_dir, {**self.state(), "ready": True})
            self.print_urls(self.opts["port"], self.tensorboard_port(), credentials)
            if credentials is not None:
                demo_ok = self.run_demo(credentials)
            self.stdout.write("Serving. Press Ctrl-C to stop.")
            self.supervise()
        except Interrupted:
            self.stdout.write(f"\nReceived {signal.Signals(self._signalled or 2).name}; stopping.")
        finally:
            self._raise_on_signal = False
            if self.children:
                self.shutdown()
            # Settings started the embedded Redis for this stack; leave nothing behind,
            # even when the stack failed before its children started.
            if embedded_redis_in_use() and stop_embedded_redis():
                self.stdout.write("Stopped the embedded Redis.")
            (self.var_dir / STATE_FILE).unlink(missing_ok=True)
        if demo_ok is False:
            raise CommandError("the demo did not complete; see the messages above")

    def _on_signal(self, signum, frame) -> None:
        first = self._signalled is None
        self._signalled = signum
        if first and self._raise_on_signal:
            raise Interrupted()

    def _check_signal(self) -> None:
        if self._signalled is not None:
            raise Interrupted()

    def prepare(self) -> None:
        self.stdout.write("Applying database migrations ...")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Collecting static files ...")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.tensorboard_logdir().mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def demo_user(self) -> demo.Credentials:
        credentials = demo.demo_credentials(self.var_dir)
        created = demo.ensure_demo_user(credentials)
        self.stdout.write(
            f"{'Created' if created else 'Using'} staff user '{credentials.username}'."
        )
        return credentials

    def tensorboard_logdir(self) -> Path:
        return Path(getattr(settings, "TENSORBOARD_LOGDIR", self.var_dir / "tensorboard"))

    def tensorboard_port(self) -> int | None:
        return None if self.opts["no_tensorboard"] else self.opts["tensorboard_port"]

    def build_children(self) -> list[Child]:
        bin_dir = Path(sys.executable).parent

        def tool(name: str, module: str) -> list[str]:
            script = bin_dir / name
            return [str(script)] if script.exists() else [sys.executable, "-m", module]

        celery = [*tool("celery", "celery"), "--app=summarizer_project"]
        inference = "worker --loglevel=INFO --queues=inference,default --hostname=inference@%h"
        # One run at a time; a fresh child process per run gives its memory back.
        training = (
            "worker --loglevel=INFO --queues=training --hostname=training@%h "
            "--concurrency=1 --max-tasks-per-child=1"
        )
        web = "summarizer_project.wsgi:application --graceful-timeout=10 --access-logfile=-"
        specs = [
            (
                "worker-inference",
                "the Celery inference worker",
                [
                    *celery,
                    *inference.split(),
                    f"--concurrency={self.opts['inference_concurrency']}",
                ],
            ),
            ("worker-training", "the Celery training worker", [*celery, *training.split()]),
            ("beat", "Celery beat", [*celery, "beat", "--loglevel=INFO"]),
            (
                "web",
                "the web server (gunicorn)",
                [
                    *tool("gunicorn", "gunicorn"),
                    *web.split(),
                    f"--bind={HOST}:{self.opts['port']}",
                    f"--workers={self.opts['web_workers']}",
                ],
            ),
        ]
        if not self.opts["no_tensorboard"]:
            tensorboard = [
                *tool("tensorboard", "tensorboard.main"),
                f"--logdir={self.tensorboard_logdir()}",
                f"--host={HOST}",
                f"--port={self.opts['tensorboard_port']}",
            ]
            specs.append(("tensorboard", "TensorBoard", tensorboard))
        return [Child(n, argv, self.log_dir / f"{n}.log", what) for n, what, argv in specs]

    def start_children(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "PYTHONUNBUFFERED": "1",
        }
        if self.tensorboard_port():
            tensorboard = f"http://{HOST}:{self.tensorboard_port()}"
            # The admin proxies staff to this TensorBoard (/admin/jobs/trainingrun/tensorboard/);
            # API links to training runs point at it directly (it listens on loopback only).
            env.setdefault("TENSORBOARD_INTERNAL_URL", tensorboard)
        for child in self.build_children():
            child.log_file = open(child.log_path, "ab")  # noqa: SIM115 (closed in shutdown)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            child.log_file.write(f"\n=== {stamp} runstack: {' '.join(child.argv)}\n".encode())
            child.log_file.flush()
            # Its own process group: Ctrl-C reaches only this supervisor, which then
            # stops the children in order; killpg also reaches their worker processes.
            child.process = subprocess.Popen(
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=child.log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=settings.BASE_DIR,
                process_group=0,
            )
            self.children.append(child)
            self.stdout.write(f"  started {child.name:<17} pid {child.pid:<7} log {child.log_path}")
        write_state(self.var_dir, self.state())
        self._raise_on_signal = True
        self._check_signal()

    def state(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "port": self.opts["port"],
            "tensorboard_port": self.tensorboard_port(),
            "grace": self.opts["grace"],
            "children": {c.name: c.pid for c in self.children},
            "ready": False,
        }

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def check_children(self) -> None:
        for c in self.children:
            if not c.alive():
                assert c.process is not None
                raise CommandError(
                    f"{c.what} exited with code {c.process.returncode}; see {c.log_path}"
                )

    def wait_healthy(self) -> None:
        url = f"http://{HOST}:{self.opts['port']}/healthz"
        timeout = self.opts["startup_timeout"]
        self.stdout.write(f"Waiting for {url} (up to {timeout:.0f}s) ...")
        deadline = time.monotonic() + timeout
        problem = f"{self.child('web').what} did not answer {url}; see {self.child('web').log_path}"
        tensorboard_ok = self.opts["no_tensorboard"]
        while time.monotonic() < deadline:
            self.check_children()
            status, body = get_json(url, timeout=5)
            if status in (200, 503) and isinstance(body, dict):
                problem = self.health_problem(body)
            if not tensorboard_ok:
                tb_url = f"http://{HOST}:{self.opts['tensorboard_port']}/"
                tensorboard_ok = get_json(tb_url, timeout=2)[0] == 200
            if problem is None and not tensorboard_ok:
                tb = self.child("tensorboard")
                problem = f"{tb.what} did not answer {tb_url}; see {tb.log_path}"
            if problem is None:
                self.stdout.write(self.style.SUCCESS("Healthy: database, broker and workers."))
                return
            time.sleep(1.0)
        raise CommandError(f"not healthy after {timeout:.0f}s: {problem}")

    def health_problem(self, body: dict[str, Any]) -> str | None:
        """What /healthz says is wrong, with the log to read; None when all is well."""
        web_log = self.child("web").log_path
        if body.get("database") != "ok":
            return f"the database is {body.get('database')}; see {web_log}"
        if body.get("broker") != "ok":
            where = (
                settings.VAR_DIR / "redis" / "redis.log" if embedded_redis_in_use() else "REDIS_URL"
            )
            return f"the broker (Redis) is {body.get('broker')}; check {where} and {web_log}"
        workers = body.get("workers")
        names = workers if isinstance(workers, list) else []
        expected = (("inference@", "worker-inference"), ("training@", "worker-training"))
        for prefix, child_name in expected:
            if not any(str(n).startswith(prefix) for n in names):
                c = self.child(child_name)
                return f"{c.what} did not answer a ping; see {c.log_path}"
        return None

    def print_urls(
        self,
        port: int,
        tensorboard_port: int | None,
        credentials: demo.Credentials | None = None,
    ) -> None:
        base = f"http://{HOST}:{port}"
        lines = [
            "",
            "Summarizer is running:",
            f"  API docs     {base}/api/docs/",
            f"  API          {base}/api/",
            f"  admin        {base}/admin/",
            f"  health       {base}/healthz",
        ]
        if tensorboard_port:
            lines.append(f"  TensorBoard  {base}/admin/jobs/trainingrun/tensorboard/ (staff login)")
            lines.append(f"               http://{HOST}:{tensorboard_port}/ (this machine only)")
        lines.append(f"  logs         {self.log_dir}/")
        if credentials is not None:
            lines.append(
                f"  staff login  username: {credentials.username}  password: {credentials.password}"
            )
        self.stdout.write("\n".join([*lines, ""]))

    def run_demo(self, credentials: demo.Credentials) -> bool:
        try:
            ok = demo.run_demo(
                f"http://{HOST}:{self.opts['port']}",
                credentials,
                self.stdout,
                timeout=self.opts["demo_timeout"],
            )
        except demo.DemoError as exc:
            self.stderr.write(f"The demo failed: {exc}")
            return False
        if not ok:
            self.stderr.write("Some summaries failed; their errors are printed above.")
            return False
        if self.opts["no_train"]:
            return True
        try:
            trained = demo.train_and_summarize(
                f"http://{HOST}:{self.opts['port']}", credentials, self.stdout
            )
        except demo.DemoError as exc:
            self.stderr.write(f"The training demo failed: {exc}")
            return False
        if not trained:
            self.stderr.write("The training demo did not finish; see the messages above.")
        return trained

    def supervise(self) -> None:
        while True:
            self._check_signal()
            self.check_children()
            time.sleep(0.5)

    def shutdown(self) -> None:
        """SIGTERM every child's group, wait, SIGKILL what is left; no orphans."""
        self.stdout.write("Stopping: " + ", ".join(c.name for c in self.children))
        began = time.monotonic()
        for c in reversed(self.children):  # web and TensorBoard first, workers last
            if c.alive():
                signal_group(c.pid, signal.SIGTERM)
        stopped_after: dict[str, float] = {}
        deadline = began + self.opts["grace"]
        while time.monotonic() < deadline and len(stopped_after) < len(self.children):
            for c in self.children:
                if c.process is not None:
                    c.process.poll()  # reap the leader, or the group stays alive as a zombie
                if c.name not in stopped_after and not group_alive(c.pid):
                    stopped_after[c.name] = time.monotonic() - began
            time.sleep(0.1)
        for c in self.children:
            if group_alive(c.pid):
                grace = self.opts["grace"]
                self.stderr.write(f"{c.name} did not stop within {grace:.0f}s; killing it")
                signal_group(c.pid, signal.SIGKILL)
        for c in self.children:
            if c.process is not None:
                try:
                    c.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{c.name} (pid {c.pid}) could not be reaped")
            if c.log_file is not None:
                c.log_file.close()
        times = ", ".join(f"{name} {t:.1f}s" for name, t in stopped_after.items())
        self.stdout.write(f"All children stopped in {time.monotonic() - began:.1f}s ({times}).")
