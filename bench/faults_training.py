"""SIGKILL the training worker's pool process mid-run, after a checkpoint, on a running
stack; print how long the run took to be taken over and how it ended.

    .venv/bin/python -m bench.faults_training [--port 8170] [--max-steps 30]

Starts `manage.py runstack --detach --no-tensorboard` on a fresh var dir (its own
SQLite database and embedded Redis; nothing of the checkout's var/ is touched),
uploads the sample corpus through the API as training/validation documents,
starts a BertSumExt run (the packaged all-MiniLM-L6-v2 encoder), waits for its first
checkpoint, SIGKILLs the pool process that trains it (as the OOM killer would; the
worker's parent stays) and measures: seconds until a redelivered task holds the
run again (attempt 2), seconds until it finished, the step it resumed from, and how
many model versions the run left (1: succeeded once). No manual step: nothing calls
the reaper. With ``--soft-limit S`` there is no kill: the training task's soft limit
is S seconds, and it reports how many continuations the run took. Stops the stack at
the end and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, now

PARAMS = {  # the demo's recipe, with more steps and a checkpoint every 10
    "batch_size": 4,
    "warmup_steps": 4,
    "lr": 1e-4,
    "eval_every": 10,
    "log_every": 2,
}


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def start_run(port: int, var_dir: Path, max_steps: int) -> int:
    """Upload the corpus and start the run through the API, as staff would."""
    from devstack import demo

    credentials = demo.demo_credentials(var_dir)
    demo.ensure_demo_user(credentials)
    client, docs = demo.connect(f"http://127.0.0.1:{port}", credentials)
    client.request(
        "POST", "/api/documents/batch/", demo.training_body(docs), "application/x-ndjson"
    )
    body = json.dumps({"kind": "bertsumext", "params": {**PARAMS, "max_steps": max_steps}})
    run = client.request("POST", "/api/training-runs/", body.encode(), "application/json")
    return int(run["id"])


def kill_after_checkpoint(run_id: int, timeout: float) -> dict[str, Any]:
    from jobs.models import TrainingRun
    from ml.checkpoints import list_training_checkpoints

    run = TrainingRun.objects.get(pk=run_id)
    checkpoints = Path(run.out_dir) / "checkpoints"
    wait(lambda: list_training_checkpoints(checkpoints), timeout, "the first checkpoint")
    run.refresh_from_db()
    pid = int(run.lease_owner.split(":")[1])
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    saved = list_training_checkpoints(checkpoints)[-1].name
    log(f"run {run_id}: killed pool process {pid} at step {run.progress_step} (saved {saved})")
    return {"killed_pid": pid, "killed_at_step": run.progress_step, "saved": saved, "t": killed_at}


def measure(run_id: int, killed: dict[str, Any], timeout: float) -> dict[str, Any]:
    from jobs.models import JobStatus, ModelVersion, TrainingRun

    rows = TrainingRun.objects.filter(pk=run_id)
    wait(lambda: rows.filter(attempts=2, status=JobStatus.RUNNING).exists(), timeout, "take-over")
    taken_over = time.monotonic() - killed["t"]
    terminal = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    wait(lambda: rows.filter(status__in=terminal).exists(), timeout, "the end of the run")
    run = rows.get()
    return {
        "killed_pid": killed["killed_pid"],
        "killed_at_step": killed["killed_at_step"],
        "checkpoint_at_kill": killed["saved"],
        "recovery_s": round(taken_over, 1),
        "finished_s_after_kill": round(time.monotonic() - killed["t"], 1),
        "status": run.status,
        "attempts": run.attempts,
        "resumed_from_step": run.resumed_from_step,
        "steps": run.progress_step,
        "model_versions_of_run": ModelVersion.objects.filter(run=run).count(),
    }


def continued(run_id: int, timeout: float) -> dict[str, Any]:
    """--soft-limit: no kill; the run outlives its task and continues in new ones."""
    from jobs.models import JobStatus, ModelVersion, TrainingRun

    started = time.monotonic()
    terminal = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    rows = TrainingRun.objects.filter(pk=run_id, status__in=terminal)
    run = wait(lambda: rows.first(), timeout, "the end of the run")
    return {
        "finished_s": round(time.monotonic() - started, 1),
        "status": run.status,
        "continuations": run.continuations,
        "attempts": run.attempts,
        "resumed_from_step": run.resumed_from_step,
        "steps": run.progress_step,
        "model_versions_of_run": ModelVersion.objects.filter(run=run).count(),
    }


def stack_env(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarizer_project.settings.local",
        "SUMMARIZER_VAR_DIR": str(var_dir),
        "PORT": str(args.port),
        "TRAINING_DEVICE": "cpu",
    }
    if args.soft_limit:
        env["TRAINING_SOFT_TIME_LIMIT"] = str(args.soft_limit)
        env["TRAINING_TIME_LIMIT"] = str(args.soft_limit + 200)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8170)
    parser.add_argument("--max-steps", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--soft-limit",
        type=int,
        default=0,
        help="instead of a kill: the training task's soft limit (s), so the run continues "
        "across tasks",
    )
    args = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="faults-training-"))
    env = stack_env(args, var_dir)
    for name in ("DATABASE_URL", "REDIS_URL"):  # the fresh var dir's SQLite and Redis
        env.pop(name, None)
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    manage("runstack", "--detach", "--no-tensorboard", env=env)
    try:
        run_id = start_run(args.port, var_dir, args.max_steps)
        result: dict[str, Any] = {"date": now(), "run": run_id}
        if args.soft_limit:
            result.update(soft_limit_s=args.soft_limit, **continued(run_id, args.timeout))
        else:
            killed = kill_after_checkpoint(run_id, args.timeout)
            result.update(measure(run_id, killed, args.timeout))
    finally:
        manage("runstack", "--stop", env=env)
    print(json.dumps(result, indent=2))
    ok = result["status"] == "succeeded" and result["model_versions_of_run"] == 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
