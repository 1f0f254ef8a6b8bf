from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.hashing import HashingBusy
from accounts.models import AuthSession, Membership, RefreshTokenRecord, User, Workspace
from accounts.services import (
    login_attempt_begin,
    login_attempt_end,
    membership_remove,
    workspace_create,
    workspace_update,
)
from whatshybrid.admin_scoping import ScopingFilter
from whatshybrid.api.errors import RateLimitedError
from whatshybrid.api.throttling import client_ip


class LimitedAdminLoginForm(AdminAuthenticationForm):
    """The admin login shares the API login's attempt budget and log (operators hold every workspace)."""

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        ip_address = client_ip(self.request) if self.request is not None else None
        try:
            login_attempt_begin(email=email, ip_address=ip_address, channel="admin")
        except RateLimitedError as exc:
            raise ValidationError(exc.message, code="rate_limited") from None
        try:
            data = super().clean()
        except HashingBusy as exc:  # every hash turn taken (accounts.backends): the form says so
            raise ValidationError(exc.message, code="busy") from None
        except ValidationError:
            login_attempt_end(email=email, ip_address=ip_address, channel="admin", succeeded=False)
            raise
        login_attempt_end(email=email, ip_address=ip_address, channel="admin", succeeded=True)
        return data


admin.site.login_form = LimitedAdminLoginForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user", "workspace")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_staff", "date_joined")
    # memberships__workspace also lets the assignee lookup popups list one workspace's members.
    list_filter = ("is_active", "is_staff", "is_superuser", ("memberships__workspace", ScopingFilter))
    search_fields = ("email", "name")
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "plan", "credits", "timezone", "created_at")
    list_filter = ("plan", "default_country")
    search_fields = ("name", "id")
    list_select_related = False  # no foreign keys to join
    readonly_fields = ("credits",)  # moves only through the credit ledger, never by hand
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        if change:
            changed = {field: form.cleaned_data[field] for field in form.changed_data if field != "settings"}
            if "settings" in form.changed_data:
                # The form edits the whole object: keys removed here must go, not be merged back.
                obj.settings = form.cleaned_data["settings"]
            workspace_update(workspace=obj, data=changed)
        else:
            workspace_create(name=obj.name, owner=None, workspace=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name")
    list_select_related = ("user", "workspace")
    raw_id_fields = ("user", "workspace")

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_remove(membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for membership in queryset.select_related("user", "workspace"):
            membership_remove(membership=membership)


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "workspace", "created_at", "last_refreshed_at", "revoked_at", "revoke_reason")
    list_filter = ("revoke_reason",)
    search_fields = ("user__email", "id")
    list_select_related = ("user", "workspace")
    raw_id_fields = ("user", "workspace")


@admin.register(RefreshTokenRecord)
class RefreshTokenRecordAdmin(admin.ModelAdmin):
    list_display = ("jti", "session", "issued_at", "expires_at", "used_at", "grace_reuses")
    list_filter = ("used_at",)
    search_fields = ("jti", "session__id", "session__user__email")
    list_select_related = ("session", "session__user")
    raw_id_fields = ("session",)
