"""Staff-only API: training runs and model versions."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from jobs.models import ModelVersion, TrainingRun
from jobs.services.training import cancel_training, start_training
from jobs.services.versions import promote, rollback

from .errors import ApiError
from .parsers import JSONParser
from .serializers import (
    ModelVersionSerializer,
    RollbackSerializer,
    TrainingRunCreateSerializer,
    TrainingRunSerializer,
)


class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]
    serializer_class = TrainingRunSerializer
    queryset = TrainingRun.objects.select_related("triggered_by", "version")
    lookup_value_regex = "[0-9]+"

    @extend_schema(request=TrainingRunCreateSerializer, responses={201: TrainingRunSerializer})
    def create(self, request):
        form = TrainingRunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = start_training(
            form.validated_data["kind"],
            params=form.validated_data["params"],
            triggered_by=request.user,
            train_split=form.validated_data["train_split"],
            val_split=form.validated_data["val_split"],
        )
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not cancel_training(run):
            raise ApiError(f"run {run.pk} already finished ({run.status})", status_code=409)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class ModelVersionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.select_related("promoted_by").prefetch_related(
        "transitions__by"
    )
    lookup_value_regex = "[0-9]+"

    @extend_schema(request=None, responses={200: ModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        version = self.get_object()
        promote(version, request.user)
        version.refresh_from_db()
        return Response(self.get_serializer(version).data)

    @extend_schema(request=RollbackSerializer, responses={200: ModelVersionSerializer})
    @action(detail=False, methods=["post"])
    def rollback(self, request):
        form = RollbackSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        version = rollback(form.validated_data["kind"], request.user)
        return Response(self.get_serializer(version).data)
