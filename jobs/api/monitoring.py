"""GET /api/health/ (staff): the operator's details beside /healthz's liveness: queue
depth per queue, workers with their current job, the periodic tasks' last success and
last failure with its error, next run and (retraining) what it would do now."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.queries import monitoring
from jobs.queries.schedule_status import schedule_statuses


def _schedules() -> list[dict]:
    return [
        {
            "name": s.task.name,
            "task": s.task.task,
            "enabled": s.task.enabled,
            "state": s.state,
            "last_success_at": s.run.last_success_at if s.run else None,
            "last_failure_at": s.run.last_failure_at if s.run else None,
            "last_error": s.run.last_error if s.run else "",
            "successes": s.run.successes if s.run else 0,
            "failures": s.run.failures if s.run else 0,
            "sent_by_beat": s.task.total_run_count,
            "next_run_at": s.next_run_at,
            "would": s.plan.reason if s.plan else None,
        }
        for s in schedule_statuses()
    ]


class HealthDetailsView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={200: OpenApiResponse(description="queues, workers, running, schedules")}
    )
    def get(self, request):
        return Response({**monitoring.details(), "schedules": _schedules()})
