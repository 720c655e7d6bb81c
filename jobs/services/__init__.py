"""Every write and state change of the service (Zulip-style actions).

Views, tasks, admin and commands call these functions; nothing else writes to
the models. Broker messages are sent on commit.
"""

from .documents import (
    BatchInvalid,
    DocumentInput,
    InvalidInput,
    ReapResult,
    Submission,
    delete_document,
    import_examples,
    reap_stale_summaries,
    request_summary,
    requeue_summary,
    run_summary,
    submit_document,
    submit_documents,
    summarize_text,
    validate_document,
    validate_max_sentences,
    validate_model,
)
from .reviews import confirm_label, flip_label, set_label
from .training import (
    build_training_data,
    cancel_training,
    reap_stale_runs,
    retrain_if_new_data,
    run_training,
    start_training,
)
from .versions import apply_promotion_gate, promote, rollback, rollback_target


def reap_stale_jobs() -> ReapResult:
    """Beat, every minute: requeue lost summaries and training runs."""
    summaries = reap_stale_summaries()
    runs_requeued, runs_failed = reap_stale_runs()
    return ReapResult(summaries.requeued + runs_requeued, summaries.failed + runs_failed)


__all__ = [
    "BatchInvalid",
    "DocumentInput",
    "InvalidInput",
    "ReapResult",
    "Submission",
    "apply_promotion_gate",
    "build_training_data",
    "cancel_training",
    "confirm_label",
    "delete_document",
    "flip_label",
    "import_examples",
    "promote",
    "reap_stale_jobs",
    "reap_stale_runs",
    "request_summary",
    "requeue_summary",
    "retrain_if_new_data",
    "rollback",
    "rollback_target",
    "run_summary",
    "run_training",
    "set_label",
    "start_training",
    "submit_document",
    "submit_documents",
    "summarize_text",
    "validate_document",
    "validate_max_sentences",
    "validate_model",
]

# The staff dashboard (admin): read models and bulk actions over the services above.
from . import dashboard  # noqa: E402

__all__ += ["dashboard"]
