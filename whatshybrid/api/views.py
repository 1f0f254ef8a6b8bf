"""Base views. Every workspace endpoint derives from ``WorkspaceAPIView`` or ``WorkspaceViewSet``.

The tenancy rule lives here once: querysets are filtered by the workspace that authentication
resolved from the token (membership checked in the database on every request), and an object
of another workspace is a 404, never a 403, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import Model, QuerySet
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from whatshybrid.api.filters import WorkspaceFilterBackend, WorkspaceFilterSet
from whatshybrid.api.idempotency import (
    IdempotentReplay,
    idempotency_begin,
    idempotency_finish,
    idempotency_release,
)
from whatshybrid.api.pagination import ResourcePagination
from whatshybrid.api.params import check_query_params
from whatshybrid.api.permissions import HasWorkspaceRole
from whatshybrid.api.throttling import GeneralRateThrottle

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class WorkspaceRequestMixin:
    """Authentication resolves ``request.workspace``/``request.membership``; POSTs are idempotent."""

    permission_classes: ClassVar[list] = [IsAuthenticated, HasWorkspaceRole]
    throttle_classes: ClassVar[list] = [GeneralRateThrottle]
    # Serve on the pool for long requests (whatshybrid.wsgi_bridge); a viewset action sets it
    # with ``@action(..., runs_long=True)``.
    runs_long = False
    _idempotency_record = None

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        context = request.auth
        request.workspace = getattr(context, "workspace", None)
        request.membership = getattr(context, "membership", None)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Every endpoint, filters or not: no NUL and no oversized value reaches a query.
        check_query_params(request.query_params)
        self._idempotency_record = idempotency_begin(request)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, IdempotentReplay):
            return Response(exc.body, status=exc.status_code, headers={"Idempotent-Replayed": "true"})
        try:
            return super().handle_exception(exc)
        except BaseException:
            # A crash skips finalize_response: free the key so the client's retry runs for real
            # instead of meeting "in progress" until the record expires.
            if self._idempotency_record is not None:
                idempotency_release(self._idempotency_record)
                self._idempotency_record = None
            raise

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency_record is not None:
            idempotency_finish(self._idempotency_record, response)
            self._idempotency_record = None
        return response

    def workspace_context(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "view": self,
            "workspace": getattr(self.request, "workspace", None),
            "membership": getattr(self.request, "membership", None),
        }


class WorkspaceAPIView(WorkspaceRequestMixin, APIView):
    """A workspace endpoint that is not a collection (settings, dashboards, actions)."""

    def get_serializer_context(self) -> dict[str, Any]:
        return self.workspace_context()


class WorkspaceViewSet(WorkspaceRequestMixin, GenericViewSet):
    """A workspace-owned collection with the standard envelope.

    Subclasses set ``model``, ``resource_name`` ("contacts"), ``object_name`` ("contact"),
    ``serializer_class`` (output) and ``input_serializer_class``, narrow with
    ``narrow_queryset`` and write through services in ``perform_create``/``perform_update``/
    ``perform_destroy``, and filter lists with a ``filterset_class`` (a ``WorkspaceFilterSet``).
    They may not override ``get_queryset`` or ``get_object``: that is the tenancy boundary.
    """

    model: ClassVar[type[Model]]
    resource_name: ClassVar[str]
    object_name: ClassVar[str]
    input_serializer_class: ClassVar[type | None] = None
    max_page_size: ClassVar[int | None] = None
    # Set where the extension's "sync all" lists without a limit and reads only the first page.
    default_page_size: ClassVar[int | None] = None
    filter_backends: ClassVar[list] = [WorkspaceFilterBackend]
    filterset_class: ClassVar[type] = WorkspaceFilterSet
    # The actions whose queryset the filterset narrows (and whose schema lists its parameters).
    filter_actions: ClassVar[tuple[str, ...]] = ("list",)
    lookup_value_regex = UUID_PATTERN
    http_method_names: ClassVar[list[str]] = ["get", "post", "put", "patch", "delete", "options"]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ("get_queryset", "get_object"):
            if method in cls.__dict__:
                raise TypeError(f"{cls.__name__} must narrow with narrow_queryset(), not override {method}().")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **self.workspace_context()}

    # --- reads -------------------------------------------------------------------------------
    def get_queryset(self) -> QuerySet:
        workspace = getattr(self.request, "workspace", None)
        if workspace is None:
            return self.model.objects.none()
        return self.narrow_queryset(self.model.objects.filter(workspace=workspace))

    def narrow_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def get_object(self) -> Any:
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        try:
            pk = uuid.UUID(str(lookup))
        except ValueError:
            raise NotFound()
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise NotFound(f"{self.object_name.replace('_', ' ').capitalize()} not found.")
        self.check_object_permissions(self.request, obj)
        return obj

    def get_serializer_class(self) -> type:
        if self.action in {"create", "update", "partial_update"} and self.input_serializer_class:
            return self.input_serializer_class
        return self.serializer_class

    def output(self, instance: Any, *, many: bool = False) -> Any:
        return self.serializer_class(instance, many=many, context=self.get_serializer_context()).data

    def object_response(self, instance: Any, *, status_code: int = status.HTTP_200_OK, **extra: Any) -> Response:
        return Response({self.object_name: self.output(instance), **extra}, status=status_code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        rows, meta = ResourcePagination().paginate(
            queryset,
            request,
            default_limit=self.default_page_size or settings.PAGE_SIZE_DEFAULT,
            max_limit=self.max_page_size or settings.PAGE_SIZE_MAX,
        )
        return Response({self.resource_name: self.output(rows, many=True), **meta})

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.object_response(self.get_object())

    # --- writes ------------------------------------------------------------------------------
    def validated_input(self, *, instance: Any = None, partial: bool = False) -> dict[str, Any]:
        serializer = self.get_serializer(instance, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.perform_create(self.validated_input())
        return self.object_response(instance, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The extension sends partial bodies with PUT, so PUT and PATCH are both partial.
        instance = self.get_object()
        instance = self.perform_update(instance, self.validated_input(instance=instance, partial=True))
        return self.object_response(instance)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        object_id = str(instance.pk)
        self.perform_destroy(instance)
        label = self.object_name.replace("_", " ").capitalize()
        return Response({"message": f"{label} deleted.", "id": object_id})

    def perform_create(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def perform_update(self, instance: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def perform_destroy(self, instance: Any) -> None:
        raise NotImplementedError
