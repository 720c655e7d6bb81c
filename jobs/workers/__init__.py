"""What a worker process runs for one job; ``jobs.tasks`` is the only caller.

Each job re-checks its row under a lease (``jobs.jobqueue.leases``) before it
does anything, so a redelivered or duplicated message is harmless.
"""
