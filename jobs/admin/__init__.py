"""The staff dashboard: Django admin for documents, summaries, training runs, model
versions and misclassified sentences.

Every page is read-only; what changes state (requeue, launch, cancel, review,
promote, roll back) is an action or a button that calls a function of
``jobs.services``; what the pages show comes from ``jobs.queries``.
Pages need a staff login (the admin's own check); actions also need the
model's "change" permission, which superusers have.

One module per page: ``documents`` (documents and summaries), ``training_runs``,
``model_versions``, ``reviews`` (misclassified sentences, label overrides,
review history) and ``review_queue`` (the keyboard review page); beside
them ``base`` (the read-only admin and HTML helpers), ``forms``, ``charts``,
``version_compare`` (two versions side by side), ``tensorboard`` (the staff-only
TensorBoard proxy) and ``flower`` (Flower through the same proxy; its URLs are the
project's, before the admin's). Importing this package registers every page.
"""

from . import documents, model_versions, reviews, training_runs  # noqa: F401  (registers)
