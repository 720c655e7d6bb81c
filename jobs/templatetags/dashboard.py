"""{% jobs_overview %}: the state of the service on the admin's front page."""

from django import template

register = template.Library()


@register.inclusion_tag("jobs/_overview.html", takes_context=True)
def jobs_overview(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("jobs.view_trainingrun"):
        return {"overview": None}
    from ..admin.base import progress_bar
    from ..queries.overview import overview

    data = overview()
    return {
        "overview": data,
        "runs": [(run, progress_bar(run)) for run in data.active_runs],
        "may_retrain": user.has_perm("jobs.change_trainingrun"),
        "csrf_token": context.get("csrf_token"),
    }
