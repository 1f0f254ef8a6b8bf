from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import AuthSession, Membership, User, Workspace
from accounts.services import membership_remove


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user", "workspace")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
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
    list_filter = ("plan",)
    search_fields = ("name", "id")
    readonly_fields = ("credits",)  # moves only through the credit ledger, never by hand
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name")
    list_select_related = ("user", "workspace")
    raw_id_fields = ("user", "workspace")

    def delete_model(self, request, obj: Membership) -> None:
        membership_remove(membership=obj)


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "workspace", "created_at", "last_refreshed_at", "revoked_at", "revoke_reason")
    list_filter = ("revoke_reason",)
    search_fields = ("user__email", "id")
    list_select_related = ("user", "workspace")
    raw_id_fields = ("user", "workspace")
