"""Hypothesis settings shared by the property tests: reproducible in CI (a derandomized
run, no example database written into the working tree), no per-example deadline (the
database-backed properties take milliseconds each on a loaded machine)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# ``PROPERTY_EXAMPLES=2000`` digs deeper than the default run.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))

PROPERTIES = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
