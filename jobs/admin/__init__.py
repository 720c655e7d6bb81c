"""The staff dashboard: Django admin for documents, summaries, training runs, model
versions and misclassified sentences.

Every page is read-only; what changes state (requeue, launch, cancel, review,
promote, roll back) is an action or a button that calls ``jobs.services``.
Pages need a staff login (the admin's own check); actions also need the
model's "change" permission, which superusers have.

Split by page: ``base`` (the read-only admin and helpers), ``documents``,
``training_runs``, ``model_versions`` and ``reviews``. Importing this package
registers every page.
"""

from . import documents, model_versions, reviews, training_runs  # noqa: F401  (registers)
