"""The Content-Security-Policy header (django-csp), with one scoped relaxation.

The policy itself is ``CONTENT_SECURITY_POLICY`` in the settings: everything from our own
origin, no inline script anywhere (``script-src 'self'``), no framing, no plugins. Our
pages keep to it: scripts are files, data reaches them in JSON islands
(``json_script``), and a test scans every template for inline scripts and ``on…=``
handlers.

Inline *styles* are allowed only under ``CSP_INLINE_STYLE_PATHS`` (the admin and the API's
browsable pages and Swagger UI), because third-party templates there write ``style="…"``
attributes and a ``<style>`` element we do not control: django-mptt indents the grid tree
with them, django-simple-history's history list and DRF's browsable API use them, and
drf-spectacular's Swagger page carries a small ``<style>``. An inline style cannot run
code; scripts stay strict on those paths too.
"""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        prefixes = tuple(getattr(settings, "CSP_INLINE_STYLE_PATHS", ()))
        if prefixes and request.path_info.startswith(prefixes):
            update = dict(parts.update or {})
            update["style-src"] = [*update.get("style-src", []), UNSAFE_INLINE]
            parts.update = update
        return parts
