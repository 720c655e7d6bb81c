"""The API's Swagger UI (/api/docs/): without a session or token it says how to get in
instead of a bare 401: a browser goes to the admin login and back, any other client
gets the error shape naming the login and the token endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.urls import reverse
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated

from .errors import error_response


def docs_login_hint() -> str:
    login = f"{reverse('admin:login')}?{urlencode({'next': reverse('api-docs')})}"
    return (
        f"The API docs need a session or a token: log in at {login} (a staff account), "
        f"or get a token from POST {reverse('api-token')} (username, password) and read "
        f"the schema at {reverse('schema')} with the header Authorization: Token <token>."
    )


class ApiDocsView(SpectacularSwaggerView):
    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated(docs_login_hint())
        super().permission_denied(request, message, code)

    def handle_exception(self, exc):
        if not isinstance(exc, NotAuthenticated):
            return super().handle_exception(exc)
        if "text/html" in self.request.headers.get("Accept", ""):
            query = urlencode({"next": self.request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('admin:login')}?{query}")
        # The view renders HTML only; its refusal is the API's JSON error shape.
        response = error_response(401, str(exc.detail))
        response["WWW-Authenticate"] = "Token"
        return response
