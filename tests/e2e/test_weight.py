"""Weight: the report page, without photos, under 150 KB compressed on a phone's first
visit and under 20 KB once the service worker keeps the shell (printed at the end)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.e2e.conftest import WEIGHTS, Traffic, wait_until_offline_ready

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FIRST_VISIT_LIMIT_KB = 150
REPEAT_VISIT_LIMIT_KB = 20


def signed_in_cookie(user, server: str) -> dict:
    """The phone is already signed in: the report page is the first page it loads."""
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": server,
    }


def test_the_report_page_is_light_then_lighter(open_context, server, world, worker, hazard):
    context, page = open_context()
    context.add_cookies([signed_in_cookie(worker, server)])
    traffic = Traffic(context)

    page.goto("/tickets/report/")
    wait_until_offline_ready(page)  # the worker installs: shell, then the grid's data
    first_page = traffic.kilobytes(by_worker=False)
    first_background = traffic.kilobytes(by_worker=True)
    assert page.is_visible("select[name=category]")

    traffic.reset()
    page.goto("/tickets/report/")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # anything the page starts after "load"
    repeat = traffic.kilobytes()
    served_locally = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.workerStart > 0).length"
    )

    WEIGHTS.update(
        {
            "report page, first visit (page)": first_page,
            "report page, first visit (service worker install and grid data)": first_background,
            "report page, repeat visit (page and worker)": repeat,
        }
    )
    assert first_page < FIRST_VISIT_LIMIT_KB
    assert first_page + first_background < FIRST_VISIT_LIMIT_KB
    assert repeat < REPEAT_VISIT_LIMIT_KB
    assert served_locally > 0  # the stylesheets and scripts came from the worker's cache
    assert page.is_visible("select[name=category]")
