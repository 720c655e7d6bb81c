"""URLs staff follow from the API and the admin."""

from django.urls import reverse


def tensorboard_url(run, request=None) -> str:
    """TensorBoard, through the admin's staff-only proxy, filtered to one run.

    The run's logdir is run-<id> under TENSORBOARD_LOGDIR; runFilter is a regular
    expression, anchored so that run-1 does not also show run-10..19.
    """
    url = f"{reverse('admin:jobs_trainingrun_tensorboard')}?runFilter=%5Erun-{run.pk}%24#timeseries"
    return request.build_absolute_uri(url) if request is not None else url
