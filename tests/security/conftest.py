"""Fixtures of the security tests.

Rate limits count in the cache, which outlives a test (and, with Redis, the test run), so
every test here gets a cache of its own, empty at the start and cleared at the end. The
limits are lifted for the rest of the suite (``TESTING`` in the settings); the
``low_rates`` fixture brings them down to where a test can reach them.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from django.core.cache import cache

from governance.throttling import CACHE_ERRORS

_caches = itertools.count(1)


@pytest.fixture(autouse=True)
def _own_empty_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"security-{next(_caches)}",
        }
    }
    cache.clear()
    yield
    with contextlib.suppress(*CACHE_ERRORS):  # a test may have pointed it at a dead Redis
        cache.clear()


@pytest.fixture
def low_rates(settings):
    """Budgets a test can spend: 3 per hour everywhere, 5 per hour for signed-in users."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "user": "5/hour",
            "anon": "3/hour",
            "anonymous-report": "2/hour",
        },
    }
    settings.ANONYMOUS_POST_RATES = {
        "/tickets/report/": "3/hour",
        "/accounts/login/": "3/hour",
        "/admin/login/": "3/hour",
        "/api/v1/auth/token/": "3/hour",
    }
    return settings
