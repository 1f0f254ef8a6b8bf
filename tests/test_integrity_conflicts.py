"""A write that loses a race at commit (a referenced row deleted meanwhile) is a 409, never a 500.

Found by the schema fuzzer on PostgreSQL: PATCH /tasks/:id with a contact_id whose contact a
concurrent DELETE removed between validation and COMMIT raised a deferred foreign-key violation.
"""

from __future__ import annotations

from django.db import IntegrityError
from rest_framework.test import APIRequestFactory

from whatshybrid.api.errors import api_exception_handler


def test_integrity_error_becomes_a_409_conflict() -> None:
    request = APIRequestFactory().patch("/api/v1/tasks/x")
    exc = IntegrityError('insert or update on table "tasks_task" violates foreign key constraint')
    response = api_exception_handler(exc, {"request": request})
    assert response is not None
    assert response.status_code == 409
    assert response.data["code"] == "CONFLICT"
    assert response.data["message"]
