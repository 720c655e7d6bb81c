"""The job protocol: how a ``LeasedJob`` row (``jobs.models.leased``) is claimed,
kept alive and finished by exactly one attempt, and found again when its worker or
its message is lost.

- ``leases``: claim (a fresh lease token, attempts + 1), heartbeat, finish under the
  lease, the reaper (``reap_stale_jobs``), a starting worker's recovery
  (``recover``), a training run's hand-off to a new task (``hand_off_run``);
- ``batches``: an inference batch, each summary under its own lease;
- ``owners``: who holds a lease, and whether that process is provably dead;
- ``heartbeat``: the threads that keep a running job's (or batch's) heartbeat fresh;
- ``soft_limit``: Celery's soft time limit as a flag the training loop polls.

Messages go out by task name (``jobs.messages``). This package never imports
``jobs.services``, ``jobs.workers`` or ``jobs.tasks``.
"""
