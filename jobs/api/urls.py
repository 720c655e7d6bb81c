from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from .auth import TokenView
from .docs import ApiDocsView
from .documents import DocumentViewSet, SummaryViewSet
from .monitoring import HealthDetailsView
from .training import ModelVersionViewSet, TrainingRunViewSet

router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="document")
router.register("summaries", SummaryViewSet, basename="summary")
router.register("training-runs", TrainingRunViewSet, basename="training-run")
router.register("models", ModelVersionViewSet, basename="model-version")

# The schema and its UI need a token (or a staff session) like every endpoint but
# the token one and /healthz (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the UI says how
# to log in when it is refused (docs.py).
urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("health/", HealthDetailsView.as_view(), name="api-health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("", include(router.urls)),
]
