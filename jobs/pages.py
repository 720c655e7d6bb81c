"""The site's front door (`/`): where the staff dashboard, the API, its docs and the
health check are, for someone who opened the bare address."""

from __future__ import annotations

from django.shortcuts import render


def home(request):
    return render(request, "jobs/home.html")
