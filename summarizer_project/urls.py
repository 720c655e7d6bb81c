from django.contrib import admin
from django.urls import include, path

from jobs.api.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("jobs.api.urls")),
    path("healthz", healthz, name="healthz"),
]
