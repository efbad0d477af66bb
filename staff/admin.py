from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import LibraryRole, PoiAdministrator, StaffUser


class LibraryRoleInline(admin.TabularInline):
    model = LibraryRole
    extra = 0
    autocomplete_fields = ["organisation"]


class PoiAdministratorInline(admin.TabularInline):
    model = PoiAdministrator
    extra = 0


@admin.register(StaffUser)
class StaffUserAdmin(UserAdmin):
    """Staff accounts are national: only the national administrator manages them."""

    inlines = [LibraryRoleInline, PoiAdministratorInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_superuser"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
