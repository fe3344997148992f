"""The write path every viewset shares: validate the request shape, call the one service
that owns the change, answer with the object as the list shows it (re-read through the
scoped queryset, so annotations and masking are the same as everywhere else)."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response


class ServiceWriteMixin:
    """``create`` and ``partial_update`` through services; ``update`` means a partial one.

    Subclasses set ``write_serializer_class`` and implement ``perform_service_create(data)``
    and ``perform_service_update(obj, data)``, each returning the saved object.
    """

    write_serializer_class: Any = None
    update_serializer_class: Any = None  # when updates take another shape than creation

    def _read(self, obj, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _payload(self, request: Request, *, partial: bool) -> dict[str, Any]:
        shape = (partial and self.update_serializer_class) or self.write_serializer_class
        payload = shape(data=request.data, partial=partial, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def create(self, request: Request, *args, **kwargs) -> Response:
        obj = self.perform_service_create(self._payload(request, partial=False))
        return self._read(obj, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        obj = self.get_object()
        obj = self.perform_service_update(obj, self._payload(request, partial=True))
        return self._read(obj)

    def update(self, request: Request, *args, **kwargs) -> Response:
        return self.partial_update(request, *args, **kwargs)
