"""The domain writes of the service (Zulip-style actions): documents, summaries,
training runs, versions, reviews, schedule outcomes.

Views, tasks, workers, admin and commands call the functions of the modules in
this package (``from jobs.services.documents import submit_document``). The job
protocol that leases and requeues job rows is ``jobs.jobqueue``; broker messages
are sent on commit, by task name (``jobs.messages``), so this package never imports
``jobs.tasks`` or ``jobs.workers``. What the pages and the API show is read in
``jobs.queries``; ``components`` stays here because beat writes its heartbeat through
it beside the /healthz report that reads it.
"""
