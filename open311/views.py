"""GeoReport v2 endpoints (``/open311/v2/``), plain Django views.

Every endpoint goes through ``endpoint``, which does what the standard asks of all of
them: the format from the extension (``.xml`` or ``.json``; anything else is a 404), the
optional ``jurisdiction_id`` (empty counts as absent; another jurisdiction is a 404),
and errors in the standard list shape: 400 for bad input, 403 for the api_key, 404 for
what does not exist, 405 for a method the resource does not take. No input makes a 500:
the service raises ``ValidationError`` for anything wrong, and the few things Django
itself refuses (a body too large, too many fields) are answered here as 400s.

The views are csrf-exempt: they are called by machines with an api_key, never by a
browser session, and read no cookie-based identity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from governance.errors import Conflict
from open311 import formats, openapi, params, selectors, services, shapes
from open311.formats import JSON, XML

View = Callable[..., HttpResponse]


def jurisdiction_id(request: HttpRequest) -> str:
    """Ours: ``settings.OPEN311_JURISDICTION_ID``, else the domain the site is called by
    (the host without its port)."""
    configured = getattr(settings, "OPEN311_JURISDICTION_ID", "")
    return configured or request.get_host().rsplit(":", 1)[0]


def _descriptions(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    return [
        message if field == "__all__" else f"{field}: {message}"
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _inputs(request: HttpRequest) -> list[QueryDict]:
    return [request.GET, request.POST] if request.method == "POST" else [request.GET]


def _param(request: HttpRequest, name: str) -> str:
    """A parameter from the form body or, failing that, the query string."""
    for source in reversed(_inputs(request)):
        value = source.get(name, "")
        if value.strip():
            return value.strip()
    return ""


def _check_text(request: HttpRequest, path_values: dict[str, str]) -> None:
    """No database stores a NUL character: refuse it in any input, by name."""
    for source in _inputs(request):
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise ValidationError({name.replace("\x00", ""): _("NUL characters are refused.")})
    for name, value in path_values.items():
        if "\x00" in value:
            raise ValidationError({name: _("NUL characters are refused.")})


def _check_jurisdiction(request: HttpRequest) -> None:
    given = _param(request, "jurisdiction_id")
    if given and given.lower() != jurisdiction_id(request).lower():
        raise Http404(_("There is no jurisdiction %(id)s here.") % {"id": given})


def _method_not_allowed(fmt: str, methods: tuple[str, ...]) -> HttpResponse:
    response = formats.errors(
        fmt, 405, [_("This resource takes %(methods)s.") % {"methods": ", ".join(methods)}]
    )
    response["Allow"] = ", ".join(methods)
    return response


def endpoint(*methods: str) -> Callable[[View], View]:
    """The standard's rules for every GeoReport endpoint (see the module's doc)."""
    allowed = tuple(methods) + (("HEAD",) if "GET" in methods else ())

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def handler(request: HttpRequest, fmt: str, **path_values: str) -> HttpResponse:
            if fmt not in (JSON, XML):
                return formats.errors(
                    XML, 404, [_("Unknown format %(format)s: use xml or json.") % {"format": fmt}]
                )
            if request.method not in allowed:
                return _method_not_allowed(fmt, allowed)
            try:
                _check_text(request, path_values)
                _check_jurisdiction(request)
                return view(request, fmt, **path_values)
            except ValidationError as exc:
                return formats.errors(fmt, 400, _descriptions(exc))
            except PermissionDenied as exc:
                return formats.errors(fmt, 403, [str(exc) or _("You may not do this.")])
            except Http404 as exc:
                return formats.errors(fmt, 404, [str(exc) or _("Not found.")])
            except Conflict as exc:
                return formats.errors(fmt, 400, [exc.message])
            except (SuspiciousOperation, MultiPartParserError):
                return formats.errors(fmt, 400, [_("The request could not be read.")])

        return handler

    return decorate


# --- the endpoints --------------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    here = reverse("open311:discovery", kwargs={"fmt": fmt}).rsplit("/", 1)[0]
    return formats.render(fmt, "discovery", shapes.discovery(url=request.build_absolute_uri(here)))


@endpoint("GET")
def services_list(request: HttpRequest, fmt: str) -> HttpResponse:
    rows = [shapes.service_row(category) for category in selectors.service_list()]
    return formats.render(fmt, "services", rows)


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = selectors.service_get(code=code)
    attributes = selectors.service_attributes(category=category)
    return formats.render(
        fmt, "service_definition", shapes.service_definition(category, attributes)
    )


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    query = request.GET
    numbers = params.ids(query.get("service_request_id"), field="service_request_id")
    if numbers:
        tickets = selectors.request_list(numbers=numbers)
    else:
        tickets = selectors.request_list(
            service_codes=params.comma_list(query.get("service_code")),
            window=params.date_window(query),
            statuses=params.statuses(query.get("status")),
        )
    return formats.render(fmt, "service_requests", [shapes.request_row(t) for t in tickets])


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = services.client_for_key(_param(request, "api_key"))
    created = services.request_submit(client=client, submission=params.submission(request.POST))
    return formats.render(fmt, "service_requests", [shapes.posted_row(created)])


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, number: str) -> HttpResponse:
    ticket = selectors.request_get(number=number)
    return formats.render(fmt, "service_requests", [shapes.request_row(ticket)])


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    found = selectors.request_by_token(token=token)
    return formats.render(fmt, "service_requests", [shapes.token_row(found)])


@endpoint("GET")
def updates(request: HttpRequest, fmt: str) -> HttpResponse:
    query = request.GET
    numbers = params.ids(query.get("service_request_id"), field="service_request_id")
    events = selectors.update_list(window=params.date_window(query), numbers=numbers)
    return formats.render(fmt, "service_request_updates", [shapes.update_row(e) for e in events])


def openapi_document(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3 description of these endpoints (they are not DRF views, so
    ``/api/schema/`` does not list them)."""
    return JsonResponse(openapi.document(), json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Anything else under ``/open311/v2/``: a 404 in the standard's shape."""
    return formats.errors_for_path(request.path, 404, [_("There is no such resource.")])
