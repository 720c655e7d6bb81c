"""URLs staff follow from the API and the admin."""

from django.conf import settings


def tensorboard_url(run) -> str:
    """TensorBoard filtered to one run (its logdir is run-<id> under TENSORBOARD_LOGDIR)."""
    return f"{settings.TENSORBOARD_URL.rstrip('/')}/#scalars&regexInput=run-{run.pk}"
