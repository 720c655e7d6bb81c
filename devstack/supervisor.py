"""The foreground stack (`make demo`, and `make up` in the background).

With no REDIS_URL the broker is the embedded redis-server (devstack.embedded_redis):
the first child, started before the others and stopped after them. Then Celery
inference and training workers, Celery beat, gunicorn (static files by
whitenoise) and TensorBoard, each a child in its own process group with its output
in var/log/<name>.log. It waits for /healthz to report the database, the broker
and both workers, then serves until SIGINT/SIGTERM/SIGHUP and stops every child:
SIGTERM to each group, a grace period, SIGKILL for stragglers. Once the stack is
healthy, a watch thread restarts a child that dies (devstack.restarts: backoff,
a log line naming the exit); a child that dies while starting stops the start.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from . import demo, embedded_redis
from .children import child_env, redis_child, service_children
from .processes import HOST, STATE_FILE, Child, get_json, stop_children, write_state
from .restarts import Backoff, Restarter


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: shut the stack down."""


def urls_text(
    port: int,
    tensorboard_port: int | None,
    log_dir: Path,
    credentials: demo.Credentials | None = None,
) -> str:
    """Where the running stack answers, and the demo's staff login when there is one."""
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
    lines.append(f"  logs         {log_dir}/")
    if credentials is not None:
        lines.append(
            f"  staff login  username: {credentials.username}  password: {credentials.password}"
        )
    return "\n".join([*lines, ""])


class Supervisor:
    """Runs the stack in this process until a signal; ``command`` provides the output."""

    def __init__(self, command, opts: dict[str, Any]):
        self.out, self.err, self.style = command.stdout, command.stderr, command.style
        self.opts = opts
        self.var_dir = Path(settings.VAR_DIR)
        self.log_dir = self.var_dir / "log"
        self.children: list[Child] = []
        self.redis: Child | None = None  # the embedded Redis, when this stack started it
        self.ready = False
        self._raise_on_signal = False
        self._signalled: int | None = None
        self._stop_watching = threading.Event()
        self._watcher: threading.Thread | None = None
        self.restarter: Restarter | None = None

    # --- the whole run ------------------------------------------------------------

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        demo_ok: bool | None = None
        try:
            self.prepare()
            credentials = self.demo_user() if self.opts["demo"] else None
            self.start_children()
            self.wait_healthy()
            self.ready = True
            write_state(self.var_dir, self.state())
            self.start_watching()
            self.out.write(
                urls_text(self.opts["port"], self.tensorboard_port(), self.log_dir, credentials)
            )
            if credentials is not None:  # a finished demo ends with its own last lines
                demo_ok = self.run_demo(credentials)
            if not demo_ok:
                self.out.write("Serving. Press Ctrl-C to stop.")
            self.supervise()
        except Interrupted:
            self.out.write(f"\nReceived {signal.Signals(self._signalled or 2).name}; stopping.")
        finally:
            self._raise_on_signal = False
            self.stop_watching()
            self.shutdown()
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

    # --- starting -------------------------------------------------------------------

    def prepare(self) -> None:
        self.out.write("Applying database migrations ...")
        call_command("migrate", interactive=False, verbosity=0)
        self.out.write("Collecting static files ...")
        call_command("collectstatic", interactive=False, verbosity=0)
        Path(settings.TENSORBOARD_LOGDIR).mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def demo_user(self) -> demo.Credentials:
        credentials = demo.demo_credentials(self.var_dir)
        created = demo.ensure_demo_user(credentials)
        self.out.write(f"{'Created' if created else 'Using'} staff user '{credentials.username}'.")
        return credentials

    def tensorboard_port(self) -> int | None:
        return None if self.opts["no_tensorboard"] else self.opts["tensorboard_port"]

    def start_redis(self) -> None:
        """The embedded Redis first, and wait until it answers (the broker of every child)."""
        if not embedded_redis.in_use():
            return
        child = redis_child(self.log_dir)
        try:
            process = self._start_redis_process(child)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if process is None:
            self.out.write(
                f"  using the embedded Redis already running on {embedded_redis.socket_path()}"
            )
            return
        child.process = process
        self.redis = child
        self.children.append(child)
        self.out.write(f"  started {child.name:<17} pid {child.pid:<7} log {child.log_path}")

    @staticmethod
    def _start_redis_process(child: Child):
        """A started and answering redis-server, or None when another one answers."""
        log = child.open_log()
        try:
            process = embedded_redis.start(log, str(child.log_path))
        except RuntimeError:
            log.close()
            raise
        if process is None:
            log.close()
        return process

    def restart_child(self, child: Child) -> None:
        """Start ``child`` again, the way start_children did (the watch thread)."""
        if child is self.redis:
            process = self._start_redis_process(child)
            if process is None:
                raise RuntimeError("another Redis answers on its socket")
            child.process = process
        else:
            child.start(child_env(self.tensorboard_port()), Path(settings.BASE_DIR))

    def start_children(self) -> None:
        self.start_redis()
        env = child_env(self.tensorboard_port())
        for child in service_children(self.opts, self.log_dir):
            child.start(env, Path(settings.BASE_DIR))
            self.children.append(child)
            self.out.write(f"  started {child.name:<17} pid {child.pid:<7} log {child.log_path}")
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
            "restarts": {c.name: self.restarter.restarts(c.name) for c in self.children}
            if self.restarter
            else {},
            "ready": self.ready,
        }

    # --- restarting ---------------------------------------------------------------

    def start_watching(self) -> None:
        self.restarter = Restarter(
            self.children,
            self.restart_child,
            self.out.write,
            lambda: Backoff(
                settings.RUNSTACK_RESTART_DELAY,
                settings.RUNSTACK_RESTART_MAX_DELAY,
                settings.RUNSTACK_RESTART_RESET_AFTER,
            ),
        )
        self._watcher = threading.Thread(target=self._watch, name="runstack-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        assert self.restarter is not None
        while not self._stop_watching.wait(0.5):
            try:
                if self.restarter.poll():
                    write_state(self.var_dir, self.state())  # new pids for --stop
            except Exception as exc:  # the watch must outlive one bad poll
                self.err.write(f"runstack: watching the children failed: {exc!r}")

    def stop_watching(self) -> None:
        """No restart may race the shutdown: the thread ends before children stop."""
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join()

    # --- health -------------------------------------------------------------------

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
        self.out.write(f"Waiting for {url} (up to {timeout:.0f}s) ...")
        deadline = time.monotonic() + timeout
        problem: str | None = (
            f"{self.child('web').what} did not answer {url}; see {self.child('web').log_path}"
        )
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
                self.out.write(self.style.SUCCESS("Healthy: database, broker, workers and beat."))
                return
            time.sleep(1.0)
        raise CommandError(f"not healthy after {timeout:.0f}s: {problem}")

    def health_problem(self, body: dict[str, Any]) -> str | None:
        """What /healthz says is wrong, with the log to read; None when all is well."""
        web_log = self.child("web").log_path
        if body.get("database") != "ok":
            return f"the database is {body.get('database')}; see {web_log}"
        if body.get("broker") != "ok":
            where = self.log_dir / "redis.log" if embedded_redis.in_use() else "REDIS_URL"
            return f"the broker (Redis) is {body.get('broker')}; check {where} and {web_log}"
        expected = (
            ("inference", "worker-inference"),
            ("training", "worker-training"),
            ("beat", "beat"),
        )
        for component, child_name in expected:
            if body.get(component) != "ok":
                c = self.child(child_name)
                return f"{c.what} is {body.get(component)}; see {c.log_path}"
        return None

    # --- the demo, serving, stopping --------------------------------------------------

    def run_demo(self, credentials: demo.Credentials) -> bool:
        step = "The demo"
        try:
            client, docs = demo.connect(f"http://{HOST}:{self.opts['port']}", credentials)
            if not demo.run_demo(client, docs, self.out, timeout=self.opts["demo_timeout"]):
                self.err.write("Some summaries failed; their errors are printed above.")
                return False
            if self.opts["no_train"]:
                return True
            step = "The training demo"
            if not demo.train_and_summarize(client, docs, self.out):
                self.err.write("The training demo did not finish; see the messages above.")
                return False
        except demo.DemoError as exc:
            self.err.write(f"{step} failed: {exc}")
            return False
        self.out.write(demo.ending_text(client))
        return True

    def supervise(self) -> None:
        """Serve until a signal; the watch thread restarts children meanwhile."""
        while True:
            self._check_signal()
            time.sleep(0.5)

    def shutdown(self) -> None:
        """Every child but Redis, then Redis (workers ack their tasks through it)."""
        services = [c for c in self.children if c is not self.redis]
        if services:
            stop_children(services, self.opts["grace"], self.out, self.err)
        if self.redis is not None:
            stop_children([self.redis], self.opts["grace"], self.out, self.err)
            self.out.write("Stopped the embedded Redis.")
