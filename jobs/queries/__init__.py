"""The read models shared by the staff dashboard (``jobs.admin``), the API
(``jobs.api``) and the front page's template tags: what the pages and answers show,
computed from the models and the broker. Read-only; every write is in
``jobs.services``.

``documents`` (a document's highlighted sentences, a misclassified sentence in its
context), ``runs`` (a training run's history, metrics table, error counts and
TensorBoard link), ``monitoring`` (queue depths, workers, running jobs),
``schedule_status`` (each periodic task's state and next run) and ``overview``
(the admin's front page, from all of them).
"""
