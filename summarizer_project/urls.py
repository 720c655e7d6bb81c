from django.contrib import admin
from django.urls import include, path

from jobs import pages
from jobs.admin import flower
from jobs.api.health import healthz

urlpatterns = [
    path("", pages.home, name="home"),
    *flower.urlpatterns(),  # staff-only proxy to Flower (jobs/admin/flower.py)
    path("admin/", admin.site.urls),
    path("api/", include("jobs.api.urls")),
    path("healthz", healthz, name="healthz"),
]
