"""POST /api/auth/token/: a user's token for username and password; failed attempts
are throttled per client IP and per username (429 with Retry-After)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled

from .fields import StrictCharField, StrictSerializer
from .parsers import API_PARSERS, LimitedFormParser
from .throttles import LoginIPThrottle, LoginUserThrottle, release_login_attempts


class TokenRequestSerializer(StrictSerializer, AuthTokenSerializer):
    """username and password, both JSON strings (a number would be coerced and get
    past the per-username throttle); other fields are refused."""

    username = StrictCharField(label="Username", write_only=True)
    password = StrictCharField(
        label="Password", style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )


class TokenView(ObtainAuthToken):
    parser_classes = [*API_PARSERS, LimitedFormParser]
    serializer_class = TokenRequestSerializer
    throttle_classes = [LoginIPThrottle, LoginUserThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
    )
    def check_throttles(self, request):
        try:
            super().check_throttles(request)
        except Throttled:
            release_login_attempts(self)  # refused: not an attempt that failed
            raise

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)  # a failure raises: it counts
        release_login_attempts(self)
        return response
