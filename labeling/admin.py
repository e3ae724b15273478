"""Admin: inspect videos, folders, labels, jobs. History rows are read-only.

What the disk holds is never changed by editing a row: a folder's name goes through the
rename service (which moves the directory and the videos' paths), and a library's root
and a video's place are read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from labeling.models import (
    Classifier,
    Embedding,
    Folder,
    Job,
    LabelEvent,
    Library,
    Membership,
    MoveIntent,
    Prediction,
    TokenScope,
    Video,
)
from labeling.selectors.roles import owners_count
from labeling.services.autofile import FolderPlan
from labeling.services.folders import FolderError, folder_name_validate, folder_rename


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and derived data: editing them by hand would corrupt the record."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


AUTOFILE_ADMIN_THRESHOLD = 0.95
# By precision: each folder's threshold chosen so that 97 % of what it files is expected right.
AUTOFILE_ADMIN_PRECISION = 0.97


def _autofile(
    request: HttpRequest,
    queryset: QuerySet[Library],
    *,
    dry_run: bool,
    target_precision: float | None = None,
) -> None:
    from labeling.services.autofile import videos_autofile
    from labeling.services.errors import ServiceError as SortError

    for library in queryset:
        try:
            report = videos_autofile(
                library=library,
                user=request.user,
                threshold=AUTOFILE_ADMIN_THRESHOLD,
                dry_run=dry_run,
                target_precision=target_precision,
            )
        except SortError as exc:
            messages.error(request, f"{library.name}: {exc}")
            continue
        if report.classifier_version is None:
            messages.warning(request, f"{library.name}: no active classifier; train one first.")
            continue
        shown = ", ".join(
            f"{i.filename} → {i.folder} ({i.confidence:.2f})" for i in report.items[:20]
        )
        more = f" … and {len(report.items) - 20} more" if len(report.items) > 20 else ""
        verb = "would move" if dry_run else "moved"
        count = len(report.items) if dry_run else report.moved
        level = messages.SUCCESS if report.success else messages.ERROR
        text = f"{library.name}: {verb} {count} video(s){': ' + shown + more if shown else ''}"
        if report.failed:
            failures = "; ".join(f"{i.filename}: {i.detail}" for i in report.items if not i.ok)
            text += f". {report.failed} FAILED: {failures}"
        messages.add_message(request, level, text)
        if report.folders:
            messages.info(request, f"{library.name}: " + _plan_text(report.folders))


def _plan_text(plans: list[FolderPlan]) -> str:
    """Per folder: the threshold chosen, the expected precision and how many it files."""
    parts = []
    for plan in plans:
        if plan.threshold is None:
            parts.append(f"{plan.folder}: {plan.target_precision:.0%} not reached (more labels)")
        else:
            parts.append(
                f"{plan.folder}: ≥ {plan.threshold:.3f}, expected precision "
                f"{plan.expected_precision:.1%} (on {plan.support} labelled), {plan.count} video(s)"
            )
    return "; ".join(parts)


LAST_OWNER = "the last owner of a library keeps the owner role; make another user owner first"


class MembershipForm(forms.ModelForm):
    """Refuses to demote a library's last owner (as PUT /api/members does)."""

    class Meta:
        model = Membership
        fields = ["library", "user", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        was = self.instance
        if (
            was.pk is not None
            and was.role == Membership.Role.OWNER
            and data.get("role") != Membership.Role.OWNER
            and owners_count(library=was.library) <= 1
        ):
            raise forms.ValidationError(LAST_OWNER)
        return data


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    """A library that has an owner keeps one after the edit."""

    def clean(self) -> None:
        super().clean()
        library = self.instance
        if library.pk is None or not owners_count(library=library):
            return
        owners = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("role") == Membership.Role.OWNER
        ]
        if not owners:
            raise forms.ValidationError(LAST_OWNER)


class MembershipInline(admin.TabularInline):
    """Who holds which role in the library (docs/team.md, "Roles")."""

    model = Membership
    formset = MembershipInlineFormSet
    extra = 1
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


@admin.register(Library)
class LibraryAdmin(admin.ModelAdmin):
    list_display = ["name", "root", "video_count", "folder_count", "last_scan_at"]
    inlines = [MembershipInline]
    readonly_fields = ["created_at", "last_scan_at"]
    actions = [
        "autofile_dry_run",
        "autofile_now",
        "autofile_precision_dry_run",
        "autofile_precision_now",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Library | None = None) -> list[str]:
        # Every video path is relative to the root: pointing the row elsewhere would
        # leave them all naming files that are not there.
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else ["root", *fields]

    @admin.action(
        description=f"Auto-file: dry run (list videos predicted ≥ {AUTOFILE_ADMIN_THRESHOLD})"
    )
    def autofile_dry_run(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        _autofile(request, queryset, dry_run=True)

    @admin.action(description=f"Auto-file: move videos predicted ≥ {AUTOFILE_ADMIN_THRESHOLD}")
    def autofile_now(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        _autofile(request, queryset, dry_run=False)

    @admin.action(
        description=f"Auto-file at {AUTOFILE_ADMIN_PRECISION * 100:.0f}%% expected precision: dry run"
    )
    def autofile_precision_dry_run(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        _autofile(request, queryset, dry_run=True, target_precision=AUTOFILE_ADMIN_PRECISION)

    @admin.action(
        description=f"Auto-file at {AUTOFILE_ADMIN_PRECISION * 100:.0f}%% expected precision: move"
    )
    def autofile_precision_now(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        _autofile(request, queryset, dry_run=False, target_precision=AUTOFILE_ADMIN_PRECISION)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Library]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_videos=Count("videos", distinct=True), n_folders=Count("folders", distinct=True)
            )
        )

    @admin.display(description="videos", ordering="n_videos")
    def video_count(self, obj: Library) -> int:
        return obj.n_videos  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="folders", ordering="n_folders")
    def folder_count(self, obj: Library) -> int:
        return obj.n_folders  # type: ignore[attr-defined]  # annotated by get_queryset


class FolderAdminForm(forms.ModelForm):
    """Refuses the names the folder service refuses, as a form error."""

    class Meta:
        model = Folder
        fields = ["library", "name", "prompts", "key"]

    def clean_name(self) -> str:
        try:
            return folder_name_validate(name=self.cleaned_data["name"])
        except FolderError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    form = FolderAdminForm
    list_display = ["name", "key", "video_count", "library", "prompts", "created_at"]
    list_filter = ["library"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Folder | None = None) -> list[str]:
        # The directory lives in its library: moving the row would leave the files behind.
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else ["library", *fields]

    def save_model(
        self, request: HttpRequest, obj: Folder, form: forms.ModelForm, change: bool
    ) -> None:
        if change and "name" in form.changed_data:
            stored = Folder.objects.select_related("library").get(pk=obj.pk)
            try:
                folder_rename(folder=stored, name=obj.name)
            except FolderError as exc:
                obj.name = stored.name
                request._vidsort_rename_refused = True  # type: ignore[attr-defined]
                messages.error(request, f"Not renamed: {exc}")
        super().save_model(request, obj, form, change)

    def response_change(self, request: HttpRequest, obj: Folder) -> HttpResponse:
        if getattr(request, "_vidsort_rename_refused", False):
            return HttpResponseRedirect(request.path)  # back to the form, no "changed" banner
        return super().response_change(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Folder]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_videos=Count("videos", filter=~Q(videos__status=Video.Status.MISSING)))
        )

    @admin.display(description="videos", ordering="n_videos")
    def video_count(self, obj: Folder) -> int:
        return obj.n_videos  # type: ignore[attr-defined]  # annotated by get_queryset


class HistoryInline(admin.TabularInline):
    """A video's history and predictions, shown beside it: never added or removed by hand."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LabelEventInline(HistoryInline):
    model = LabelEvent
    fk_name = "video"
    fields = (
        "created_at",
        "route",
        "user",
        "from_name",
        "to_name",
        "predicted_folder",
        "predicted_confidence",
        "undone_by",
    )
    readonly_fields = fields
    ordering = ["-created_at"]


class PredictionInline(HistoryInline):
    model = Prediction
    fields = (
        "classifier_version",
        "folder",
        "confidence",
        "margin",
        "source",
        "created_at",
    )
    readonly_fields = fields
    ordering = ["-classifier_version"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "folder",
        "status",
        "duration_s",
        "resolution",
        "codec",
        "size",
        "updated_at",
    ]
    list_filter = ["status", "folder", "library", "codec"]
    search_fields = ["filename", "path", "content_hash"]
    list_select_related = ["folder"]
    inlines = [LabelEventInline, PredictionInline]
    # The folder is changed by sorting (which moves the file); editing the row alone would
    # make the database disagree with the disk.
    readonly_fields = [
        "library",
        "path",
        "filename",
        "folder",
        "content_hash",
        "size",
        "mtime_ns",
        "duration",
        "fps",
        "frame_count",
        "width",
        "height",
        "codec",
        "rotation",
        "status",
        "error",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="duration", ordering="duration")
    def duration_s(self, obj: Video) -> str:
        return f"{obj.duration:.1f} s" if obj.duration else "–"

    @admin.display(description="size (w×h)")
    def resolution(self, obj: Video) -> str:
        return f"{obj.width}×{obj.height}" if obj.width else "–"


@admin.register(Embedding)
class EmbeddingAdmin(ReadOnlyAdmin):
    list_display = ["video", "model_id", "dim", "frame_count", "created_at"]
    list_filter = ["model_id"]
    search_fields = ["video__filename", "content_hash"]
    exclude = ["vector", "frame_vectors"]

    @admin.display(description="frames")
    def frame_count(self, obj: Embedding) -> int:
        return len(obj.frame_times)


@admin.register(Classifier)
class ClassifierAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "library",
        "model_id",
        "is_active",
        "accuracy",
        "labels",
        "created_at",
    ]
    list_filter = ["library", "is_active", "model_id"]
    exclude = ["blob"]
    actions = ["activate_version"]

    @admin.display(description="CV accuracy")
    def accuracy(self, obj: Classifier) -> str:
        value = obj.metrics.get("accuracy")
        return f"{value:.3f}" if isinstance(value, float) else "–"

    @admin.display(description="labels")
    def labels(self, obj: Classifier) -> int | None:
        return obj.metrics.get("n_labels")

    @admin.action(description="Activate this version (rollback)")
    def activate_version(self, request: HttpRequest, queryset: QuerySet[Classifier]) -> None:
        from labeling.services.learning import ActivationRefused, classifier_rollback

        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", level="error")
            return
        try:
            classifier = classifier_rollback(classifier=queryset.get())
        except ActivationRefused as exc:
            self.message_user(request, f"Not activated: {exc}", level="error")
            return
        self.message_user(request, f"Classifier v{classifier.version} is now active.")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "state",
        "stage",
        "progress",
        "created_at",
        "finished_at",
        "error",
    ]
    list_filter = ["kind", "state", "stage", "library"]

    @admin.display(description="progress")
    def progress(self, obj: Job) -> str:
        return f"{obj.progress_done}/{obj.progress_total}" if obj.progress_total else "–"


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ["video", "classifier_version", "folder", "confidence", "margin", "source"]
    list_filter = ["classifier_version", "source", "folder"]
    search_fields = ["video__filename"]
    list_select_related = ["video", "folder"]


@admin.register(LabelEvent)
class LabelEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "video",
        "route",
        "user",
        "from_name",
        "to_name",
        "predicted_folder",
        "predicted_confidence",
        "undone_by",
    ]
    list_filter = ["route", "user", "to_folder", "from_folder", "created_at"]
    search_fields = ["video__filename", "from_path", "to_path"]
    list_select_related = ["video", "user", "predicted_folder"]
    date_hierarchy = "created_at"


@admin.register(MoveIntent)
class MoveIntentAdmin(ReadOnlyAdmin):
    """The sort journal: open entries are repaired by `manage.py vidsort_reconcile`."""

    list_display = [
        "created_at",
        "video",
        "state",
        "step",
        "route",
        "user",
        "src_path",
        "dst_path",
        "error",
        "finished_at",
    ]
    list_filter = ["state", "route", "step"]
    search_fields = ["src_path", "dst_path", "video__filename"]
    list_select_related = ["video", "user"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Roles per library; superusers are owners everywhere without a row."""

    form = MembershipForm
    list_display = ["user", "library", "role", "created_at"]
    list_filter = ["role", "library"]
    search_fields = ["user__username", "library__name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if (
            isinstance(obj, Membership)
            and obj.role == Membership.Role.OWNER
            and owners_count(library=obj.library) <= 1
        ):
            return False  # the last owner stays
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # A bulk delete could remove a library's last owner; delete one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(TokenScope)
class TokenScopeAdmin(admin.ModelAdmin):
    """An API token's limit beyond its user's role: read-only (GET) or full."""

    list_display = ["token", "token_user", "read_only"]
    list_filter = ["read_only"]
    search_fields = ["token__user__username"]
    raw_id_fields = ["token"]

    @admin.display(description="user")
    def token_user(self, obj: TokenScope) -> str:
        return str(obj.token.user)
