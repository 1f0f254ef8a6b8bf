from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import selectors, services
from contacts.api.filters import ContactFilterSet
from contacts.api.serializers import (
    ContactImportInputSerializer,
    ContactImportSerializer,
    ContactInputSerializer,
    ContactSerializer,
    ImportResultsSerializer,
)
from contacts.importing import IMPORT_FLAGS, parse_csv, parse_json_rows
from contacts.models import Contact, ContactImport
from whatshybrid.api.parsers import FieldCheckedJSONParser
from whatshybrid.api.permissions import ALL_ROLES
from whatshybrid.api.views import UUID_PATTERN, WorkspaceViewSet

ContactObjectSerializer = inline_serializer(name="ContactObject", fields={"contact": ContactSerializer()})
ContactDetailSerializer = inline_serializer(
    name="ContactDetail",
    fields={
        "contact": ContactSerializer(),
        "conversations": serializers.ListField(child=serializers.DictField()),
        "deals": serializers.ListField(child=serializers.DictField()),
        "tasks": serializers.ListField(child=serializers.DictField()),
    },
)
ContactImportReplySerializer = inline_serializer(
    name="ContactImportReply",
    fields={
        "message": serializers.CharField(),
        "results": ImportResultsSerializer(),
        "job_id": serializers.UUIDField(required=False),
        "job": ContactImportSerializer(required=False),
    },
)
ContactImportStatusSerializer = inline_serializer(
    name="ContactImportStatus", fields={"job": ContactImportSerializer(), "results": ImportResultsSerializer()}
)


@extend_schema_view(
    create=extend_schema(responses={201: ContactObjectSerializer}),
    update=extend_schema(responses={200: ContactObjectSerializer}),
    partial_update=extend_schema(responses={200: ContactObjectSerializer}),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(WorkspaceViewSet):
    """Contacts: one per phone identity per workspace."""

    model = Contact
    resource_name = "contacts"
    object_name = "contact"
    serializer_class = ContactSerializer
    input_serializer_class = ContactInputSerializer
    filterset_class = ContactFilterSet
    max_page_size = settings.CONTACTS_PAGE_SIZE_MAX
    parser_classes: ClassVar[list] = [FieldCheckedJSONParser, MultiPartParser, FormParser]
    role_requirements: ClassVar[dict] = {"import_status": ALL_ROLES}

    @extend_schema(operation_id="contacts_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: ContactDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        return Response({"contact": self.output(contact), **selectors.contact_related(contact=contact)})

    def perform_create(self, data: dict[str, Any]) -> Contact:
        return services.contact_create(workspace=self.request.workspace, **data)

    def perform_update(self, instance: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_update(contact=instance, data=data)

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(contact=instance)

    @extend_schema(
        request={
            "application/json": ContactImportInputSerializer,
            "multipart/form-data": ContactImportInputSerializer,
        },
        responses={200: ContactImportReplySerializer, 202: ContactImportReplySerializer},
    )
    # runs_long: a whole import of up to CONTACTS_IMPORT_ASYNC_ROWS rows (whatshybrid.wsgi_bridge).
    @action(detail=False, methods=["post"], url_path="import", url_name="import", runs_long=True)
    def import_contacts(self, request: Request) -> Response:
        """JSON ``{contacts: [...]}`` or a CSV ``file``; large imports answer 202 with a job id."""
        options = ContactImportInputSerializer(data=request.data, context=self.get_serializer_context())
        options.is_valid(raise_exception=True)
        data = options.validated_data
        if "file" in data:
            rows = parse_csv(data["file"].read(settings.IMPORT_MAX_BYTES + 1))
        else:
            rows = parse_json_rows(data["contacts"])
        flags = {name: data[name] for name in IMPORT_FLAGS}
        if len(rows) > settings.CONTACTS_IMPORT_ASYNC_ROWS:
            job = services.contact_import_start(workspace=request.workspace, rows=rows, user=request.user, **flags)
            return Response(
                {
                    "message": f"Import of {len(rows)} rows queued.",
                    "job_id": str(job.pk),
                    "job": ContactImportSerializer(job).data,
                    "results": job.results(),
                },
                status=status.HTTP_202_ACCEPTED,
            )
        results = services.contact_import_sync(workspace=request.workspace, rows=rows, **flags)
        verb = "Checked" if data["dry_run"] else "Imported"
        return Response({"message": f"{verb} {len(rows)} rows.", "results": results})

    @extend_schema(responses={200: ContactImportStatusSerializer})
    @action(
        detail=False,
        methods=["get"],
        url_path=rf"import/(?P<job_id>{UUID_PATTERN})",
        url_name="import-status",
    )
    def import_status(self, request: Request, job_id: str) -> Response:
        job = ContactImport.objects.filter(workspace=request.workspace, pk=job_id).first()
        if job is None:
            raise NotFound("Import not found.")
        body = ContactImportSerializer(job).data
        return Response({"job": body, "results": body["results"]})
