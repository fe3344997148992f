"""Security pieces that span the project: login lock-out (django-axes), the
Content-Security-Policy middleware. Rate limits live in ``governance.throttling``."""
