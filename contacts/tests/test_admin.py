from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from contacts.tests.factories import contact_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def test_changelist_search_and_filters(admin_client, workspace):
    contact_factory(workspace=workspace, name="Ana Souza", source="whatsapp")
    response = admin_client.get("/admin/contacts/contact/", {"q": "Souza", "source": "whatsapp"})
    assert response.status_code == 200
    assert b"Ana Souza" in response.content
    assert b"Import CSV" in response.content


def test_admin_import_view_goes_through_the_importer(admin_client, workspace):
    assert admin_client.get("/admin/contacts/contact/import/").status_code == 200
    upload = SimpleUploadedFile("c.csv", b"phone,name\n+5511999990001,Ana\nbad,Bia\n", content_type="text/csv")
    response = admin_client.post(
        "/admin/contacts/contact/import/", {"workspace": str(workspace.pk), "file": upload}, follow=True
    )
    assert response.status_code == 200
    assert b"created 1" in response.content
    assert Contact.objects.get(workspace=workspace).name == "Ana"
    assert Event.objects.filter(workspace=workspace, name="contacts:imported").count() == 1


def test_admin_import_can_create_labels(admin_client, workspace):
    def post(**options: str) -> None:
        upload = SimpleUploadedFile("c.csv", b"phone,labels\n+5511999990001,Evento\n", content_type="text/csv")
        data = {"workspace": str(workspace.pk), "file": upload, **options}
        assert admin_client.post("/admin/contacts/contact/import/", data).status_code == 302

    post()
    assert not Contact.objects.filter(workspace=workspace).exists()  # unknown_label
    post(create_labels="on")
    assert list(Contact.objects.get(workspace=workspace).labels.values_list("name", flat=True)) == ["Evento"]


def test_admin_import_reports_a_bad_file(admin_client, workspace):
    upload = SimpleUploadedFile("c.csv", b"name\nAna\n", content_type="text/csv")
    response = admin_client.post("/admin/contacts/contact/import/", {"workspace": str(workspace.pk), "file": upload})
    assert response.status_code == 200
    assert b"no phone column" in response.content
    assert not Contact.objects.exists()


def test_admin_edit_and_delete_publish_events(admin_client, workspace):
    contact = contact_factory(workspace=workspace, name="Ana")
    url = f"/admin/contacts/contact/{contact.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = {
        "phone": contact.phone,
        "name": "Ana Maria",
        "email": "",
        "company": "",
        "notes": "",
        "tags": "[]",
        "custom_fields": "{}",
        "source": "manual",
        "labels": "",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    contact.refresh_from_db()
    assert contact.name == "Ana Maria"
    assert Event.objects.filter(workspace=workspace, name="contact:updated").exists()
    response = admin_client.post(f"/admin/contacts/contact/{contact.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Event.objects.filter(workspace=workspace, name="contact:deleted").exists()
