from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from .documents import DocumentViewSet, SummaryViewSet
from .training import ModelVersionViewSet, TrainingRunViewSet

router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="document")
router.register("summaries", SummaryViewSet, basename="summary")
router.register("training-runs", TrainingRunViewSet, basename="training-run")
router.register("models", ModelVersionViewSet, basename="model-version")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include(router.urls)),
]
