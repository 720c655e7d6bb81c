"""Staff views. Actions call services; results are read-only here."""

from django.contrib import admin, messages

from . import services
from .models import Document, Summary


class SummaryInline(admin.TabularInline):
    model = Summary
    fields = ["id", "status", "model", "model_version", "summary_text", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "split", "language", "created_at"]
    list_filter = ["split", "language", "owner"]
    search_fields = ["title", "text", "source_id", "sha256"]
    readonly_fields = ["sha256", "language", "created_at"]
    inlines = [SummaryInline]


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "status", "model", "model_version", "attempts", "created_at"]
    list_filter = ["status", "model", "model_version"]
    search_fields = ["document__title", "summary_text", "error"]
    actions = ["requeue"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Summary._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Run the selected failed or cancelled summaries again")
    def requeue(self, request, queryset):
        count = sum(services.requeue_summary(s) for s in queryset)
        messages.info(request, f"Requeued {count} of {queryset.count()} summaries.")
