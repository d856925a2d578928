from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from mlcontest.contest import leaderboard, models
from mlcontest.contest.courses import check_points
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.groups import clean_group_name


@admin.register(models.User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "role", "email", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Contest", {"fields": ("role",)}))  # type: ignore[misc]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def save_model(self, request: Any, obj: models.ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Only the key's hash is kept, so this message is the one time anybody sees the key.
        token, key = models.ApiToken.issue(obj.user, obj.name)
        obj.pk, obj.key_hash, obj.prefix = token.pk, token.key_hash, token.prefix
        messages.warning(request, f"The new token's key (shown only now): {key}")


@admin.register(models.LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    """Failed sign-ins being counted: deleting a name's rows lifts its lock-out at once."""

    list_display = ("username", "address", "at")
    search_fields = ("username", "address")
    date_hierarchy = "at"


class MembershipForm(forms.ModelForm):
    """A membership an organizer makes in the admin is binding unless they untick it."""

    class Meta:
        model = models.Membership
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["placed_by_organizer"].initial = True


class MembershipInline(admin.TabularInline):
    model = models.Membership
    form = MembershipForm
    extra = 1


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "group", "placed_by_organizer", "joined_at")
    list_filter = ("placed_by_organizer", "group")
    search_fields = ("user__username", "group__name")


class GroupAdminForm(forms.ModelForm):
    def clean_name(self) -> str:
        # The same rules as every other way of naming a group (NFKC, no invisible characters).
        try:
            return clean_group_name(self.cleaned_data["name"])
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None


@admin.register(models.Group)
class GroupAdmin(admin.ModelAdmin):
    form = GroupAdminForm
    list_display = ("name", "public", "invite_code", "created_at")
    search_fields = ("name",)
    inlines = [MembershipInline]

    def save_model(self, request: Any, obj: models.Group, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            leaderboard.group_renamed(obj)


@admin.register(models.Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "size", "version", "created_at")
    search_fields = ("name",)
    # The points are Parquet pieces (DatasetChunk): a form would load them all for nothing.
    exclude = ("preview",)


@admin.register(models.DatasetChunk)
class DatasetChunkAdmin(admin.ModelAdmin):
    """Listed to be seen (and deleted with their dataset); the bytes are pieces of a Parquet
    file, nothing to read or edit by hand."""

    list_display = ("dataset", "version", "part", "seq")
    list_filter = ("part",)
    exclude = ("data",)


class RoundEntryInline(admin.TabularInline):
    model = models.RoundEntry
    extra = 0


@admin.register(models.Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ("name", "dataset", "metric", "state", "course", "starts_at", "ends_at")
    list_filter = ("state", "metric", "course")
    # The show's progress moves by its steps (contest/reveal_show.py), which also renew the
    # boards; an edit here would not.
    readonly_fields = ("revealed_places", "reveal_ended_at")
    inlines = [RoundEntryInline]


class CourseAdminForm(forms.ModelForm):
    def clean_points(self) -> list[int]:
        # The same rule as the course pages, the API and the command line.
        try:
            return check_points(self.cleaned_data["points"])
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None


class CourseRoundInline(admin.TabularInline):
    """The course's rounds, to read; a round is put in a course on the round (or the course
    page), where its other settings are."""

    model = models.Round
    fields = ("name", "state", "revealed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(models.Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseAdminForm
    list_display = ("name", "points", "created_at")
    search_fields = ("name",)
    inlines = [CourseRoundInline]


class JobPictureInline(admin.TabularInline):
    model = models.JobPicture
    extra = 0


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "round",
        "group",
        "algorithm",
        "state",
        "score_test",
        "score_validation",
        "score_mismatch",
        "worker_name",
        "created_at",
    )
    list_filter = ("state", "round", "algorithm", "score_mismatch")
    search_fields = ("group__name", "user__username", "algorithm")
    inlines = [JobPictureInline]


admin.site.register(models.RoundEntry)
admin.site.register(models.JobPicture)


@admin.register(models.PictureData)
class PictureDataAdmin(admin.ModelAdmin):
    """A picture's bytes (the image itself opens from its job's page)."""

    list_display = ("picture", "size")

    @admin.display(description="bytes")
    def size(self, stored: models.PictureData) -> int:
        return len(stored.data)


@admin.register(models.RoundEvent)
class RoundEventAdmin(admin.ModelAdmin):
    list_display = ("round", "action", "by", "at")
    list_filter = ("action", "round")


@admin.register(models.WorkerSeen)
class WorkerSeenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "worker_key", "first_seen_at", "last_seen_at")


@admin.register(models.Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Edits here reach the pages within ``announcements.CACHE_SECONDS`` (a per-process cache)."""

    list_display = ("text", "round", "author", "created_at", "ends_at")
    list_filter = ("round",)
    search_fields = ("text",)
