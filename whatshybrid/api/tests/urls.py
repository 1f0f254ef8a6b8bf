"""Test-only URLconf: the real routes plus small viewsets over existing models, so the shared
plumbing (paging, idempotency, roles, tenancy) is exercised exactly as domain apps use it."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from django.urls import include, path
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from contacts.models import Contact
from crm.models import Label
from whatshybrid import urls as real_urls
from whatshybrid.api.errors import Conflict
from whatshybrid.api.permissions import MANAGER_ROLES
from whatshybrid.api.serializers import StrictModelSerializer
from whatshybrid.api.views import WorkspaceViewSet

# Lets a test hold a request "in flight" (the concurrent Idempotency-Key case).
slow_started = threading.Event()
slow_release = threading.Event()


class ProbeLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color", "description", "created_at", "updated_at"]


class ProbeLabelInputSerializer(StrictModelSerializer):
    class Meta:
        model = Label
        fields = ["name", "color", "description"]


class ProbeLabelViewSet(WorkspaceViewSet):
    model = Label
    resource_name = "labels"
    object_name = "label"
    serializer_class = ProbeLabelSerializer
    input_serializer_class = ProbeLabelInputSerializer
    max_page_size = 20
    role_requirements = {"destroy": MANAGER_ROLES}

    def narrow_queryset(self, queryset: Any) -> Any:
        order = self.request.query_params.get("order")
        return queryset.order_by(*order.split(",")) if order else queryset

    def perform_create(self, data: dict[str, Any]) -> Label:
        if Label.objects.filter(workspace=self.request.workspace, name__iexact=data["name"]).exists():
            raise Conflict("A label with this name exists.", code="LABEL_EXISTS")
        return Label.objects.create(workspace=self.request.workspace, **data)

    def perform_update(self, instance: Label, data: dict[str, Any]) -> Label:
        for key, value in data.items():
            setattr(instance, key, value)
        instance.save()
        return instance

    def perform_destroy(self, instance: Label) -> None:
        instance.delete()

    @action(detail=False, methods=["post"])
    def slow(self, request: Request) -> Response:
        slow_started.set()
        slow_release.wait(timeout=30)
        label = Label.objects.create(workspace=request.workspace, name=f"slow {Label.objects.count()}")
        return Response({"label": {"id": str(label.pk)}}, status=201)

    @action(detail=False, methods=["post"])
    def rich(self, request: Request) -> Response:
        label = Label.objects.create(workspace=request.workspace, name=f"rich {Label.objects.count()}")
        return Response({"id": label.pk, "at": label.created_at, "amount": Decimal("1.50")}, status=201)

    @action(detail=False, methods=["post"])
    def crash(self, request: Request) -> Response:
        raise RuntimeError("boom")


class ProbeContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "phone", "name", "last_interaction_at", "created_at", "updated_at"]


class ProbeContactViewSet(WorkspaceViewSet):
    """Contacts ordered by a nullable column: keyset paging must place NULLs consistently."""

    model = Contact
    resource_name = "contacts"
    object_name = "contact"
    serializer_class = ProbeContactSerializer
    http_method_names = ["get"]

    def narrow_queryset(self, queryset: Any) -> Any:
        order = self.request.query_params.get("order")
        return queryset.order_by(*order.split(",")) if order else queryset


router = SimpleRouter(trailing_slash="")
router.register("probe/labels", ProbeLabelViewSet, basename="probe-label")
router.register("probe/contacts", ProbeContactViewSet, basename="probe-contact")

urlpatterns = [path("api/v1/", include(router.urls)), *real_urls.urlpatterns]

handler400 = real_urls.handler400
handler403 = real_urls.handler403
handler404 = real_urls.handler404
handler500 = real_urls.handler500
