"""System checks for settings whose wrong values only show up in production."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def time_limits_below_visibility_timeout(app_configs, **kwargs):
    """A task still running when Redis's visibility timeout expires is delivered to a
    second worker and runs twice (Celery docs, "Redis broker: caveats")."""
    timeout = settings.CELERY_VISIBILITY_TIMEOUT
    limits = {
        "SUMMARY_TIME_LIMIT": settings.SUMMARY_TIME_LIMIT,
        "TRAINING_TIME_LIMIT": settings.TRAINING_TIME_LIMIT,
        "CELERY_TASK_TIME_LIMIT": settings.CELERY_TASK_TIME_LIMIT,
    }
    errors = [
        Error(
            f"{name} ({value}s) must be below CELERY_VISIBILITY_TIMEOUT ({timeout}s)",
            hint="Raise CELERY_VISIBILITY_TIMEOUT or lower the time limit.",
            id="jobs.E001",
        )
        for name, value in limits.items()
        if value >= timeout
    ]
    if settings.SUMMARY_STALE_AFTER <= settings.SUMMARY_TIME_LIMIT:
        errors.append(
            Error(
                "SUMMARY_STALE_AFTER must exceed SUMMARY_TIME_LIMIT, or the reaper requeues "
                "summaries that are still running",
                id="jobs.E002",
            )
        )
    if settings.TRAINING_STALE_AFTER <= 2 * settings.TRAINING_HEARTBEAT_SECONDS:
        errors.append(
            Error(
                "TRAINING_STALE_AFTER must be well above TRAINING_HEARTBEAT_SECONDS",
                id="jobs.E003",
            )
        )
    return errors
