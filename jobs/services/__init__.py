"""Every write and state change of the service (Zulip-style actions).

Views, tasks, workers, admin and commands call the functions of the modules in
this package (``from jobs.services.documents import submit_document``); nothing
else writes to the models. Broker messages are sent on commit, by task name
(``queue``), so this package never imports ``jobs.tasks`` or ``jobs.workers``.
"""
