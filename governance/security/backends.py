"""The authentication backend that puts django-axes' lock-out in front of every sign-in."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class AxesBackend(AxesStandaloneBackend):
    """django-axes' guard, for sign-ins that come from a client.

    Every sign-in over HTTP passes its request to ``authenticate()``: Django's login view,
    the admin's, and DRF's token endpoint (its serializer hands on the request it got in
    its context). ``authenticate()`` without a request (the shell, a management command,
    a test checking a password) is no attempt by a client and has no address to count;
    axes itself would raise, so it is left to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
