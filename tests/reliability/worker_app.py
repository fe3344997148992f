"""The project's Celery app, for the worker processes the fault tests start.

The same app as ``celery -A governance worker`` (tasks, routes, late acknowledgement), with
one change when the test asks for it: a short broker visibility timeout, so the task of a
worker that was killed comes back within seconds instead of the production hour.
"""

from __future__ import annotations

import os

from governance.celery import app

__all__ = ["app"]

_timeout = os.environ.get("RELIABILITY_VISIBILITY_TIMEOUT")
if _timeout:
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": int(_timeout),
        # look for messages whose worker vanished every second, not every hundred
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

if os.environ.get("RELIABILITY_WEBHOOKS_TO_LOOPBACK"):
    from django.conf import settings

    # the test's receiver listens on the loopback address, which production refuses
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_TIMEOUT = 30
