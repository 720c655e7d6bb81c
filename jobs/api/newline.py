"""Every JSON body ends with a newline, so `curl` output, logs and shells that print it
end their line (DRF's and Django's JSON renderers end on the closing brace)."""

from __future__ import annotations


class JsonNewlineMiddleware:
    """Appends "\\n" to a complete (not streaming) application/json body; placed first,
    so it sees the final body of every view, DRF's exception handler and the JSON error
    middleware alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not response.streaming
            and response.get("Content-Type", "").startswith("application/json")
            and response.content
            and not response.content.endswith(b"\n")
        ):
            response.content = response.content + b"\n"
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response
