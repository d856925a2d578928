"""The contest's tables. Rules that span several tables live in the sibling modules."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    WORKER = "worker", "Worker"
    ORGANIZER = "organizer", "Organizer"


class User(AbstractUser):
    """Django's user with a contest role.

    A worker may fetch job parameters and full datasets and post results, nothing more; an
    organizer manages everything. Staff and superusers count as organizers.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)

    @property
    def is_organizer(self) -> bool:
        return self.role == Role.ORGANIZER or self.is_staff or self.is_superuser

    @property
    def is_worker(self) -> bool:
        return self.role == Role.WORKER or self.is_organizer

    @property
    def shown_role(self) -> str:
        """The role as lists and ``/api/me/`` show it: staff and superusers are organizers
        (``is_organizer``), even a row saved before ``save`` kept them so."""
        return str(Role.ORGANIZER if self.is_organizer else self.role)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # ``mlcontest manage createsuperuser`` and the admin's staff box give no role: a
        # superuser stored as a student would be listed as one while acting as an organizer.
        if (self.is_staff or self.is_superuser) and self.role != Role.ORGANIZER:
            self.role = Role.ORGANIZER
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "role"}
        super().save(*args, **kwargs)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def hash_token_key(key: str) -> str:
    """What the database keeps of a key. The key is 256 random bits, so a fast hash is as good
    as a slow one: there is nothing to guess by trying likely keys."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


TOKEN_PREFIX_LENGTH = 8


class ApiToken(models.Model):
    """A secret for scripts and workers without a session (``Authorization: Token <key>``).

    Only the key's hash is stored, and its first characters to tell tokens apart in lists: the
    key itself is shown once, when :meth:`issue` makes it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, blank=True)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """A new token for ``user`` and its key, which nobody can read back later."""
        key = new_token()
        token = cls.objects.create(
            user=user, name=name, key_hash=hash_token_key(key), prefix=key[:TOKEN_PREFIX_LENGTH]
        )
        return token, key

    @classmethod
    def find(cls, key: str) -> ApiToken | None:
        """The token with this key, its user read in the same query."""
        return cls.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()

    def __str__(self) -> str:
        return f"{self.user} / {self.name or self.pk} ({self.prefix}…)"


def new_invite_code() -> str:
    return secrets.token_hex(4)


class Group(models.Model):
    """A team of students. Public groups are open to anyone; private ones need the invite code."""

    name = models.CharField(max_length=64, unique=True)
    public = models.BooleanField(default=True)
    invite_code = models.CharField(max_length=32, default=new_invite_code)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="contest_groups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    joined_at = models.DateTimeField(default=timezone.now)
    placed_by_organizer = models.BooleanField(
        default=False,
        help_text="An organizer put the student here (roster, add-member, admin): the student "
        "cannot leave or switch by themselves; an organizer can still move them.",
    )

    class Meta:
        constraints = [
            # A student plays for one group at a time (see docs/rules.md).
            models.UniqueConstraint(fields=["user"], name="one_group_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class Split(models.TextChoices):
    TRAINING = "training", "Training"
    TEST = "test", "Test"
    VALIDATION = "validation", "Validation"


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    CLUSTERING = "clustering", "Clustering"


class Dataset(models.Model):
    """A named table of points. ``version`` changes whenever the points change, so that
    workers know when their cached copy is stale."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="Where the points came from.")
    feature_names = models.JSONField(default=list)
    class_labels = models.JSONField(default=list, help_text="Every label, sorted.")
    version = models.CharField(max_length=64, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # What pages and lists show, kept beside the points so that showing a dataset costs the
    # same for 150 points and for 70,000 (the points themselves are in DatasetChunk).
    size = models.PositiveIntegerField(default=0, help_text="Number of points.")
    split_sizes = models.JSONField(default=dict, help_text="Points per split.")
    missing_values = models.PositiveBigIntegerField(
        default=0, help_text="Empty feature cells, filled in by each job (its page says how)."
    )
    preview = models.JSONField(
        default=dict, help_text="The scatter plot's points, projected when the points were stored."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def training_points(self) -> int:
        """How many points the jobs of a round on this dataset are fitted on (read off the row:
        the points themselves may be 70,000 rows in DatasetChunk)."""
        return int(self.split_sizes.get(Split.TRAINING, 0))


class DatasetChunk(models.Model):
    """A piece (at most ``dataset_store.CHUNK_BYTES``) of one of a dataset version's Parquet
    files (``contest.columnar``). The points live in the database, not on one server's disk,
    so that every server process behind one database can serve them; in pieces, so that a
    server streams a file without holding it whole, on SQLite and PostgreSQL alike."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="chunks")
    version = models.CharField(max_length=64)
    part = models.CharField(max_length=16)
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "version", "part", "seq"], name="dataset_chunk_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.version} {self.part} #{self.seq}"


def default_points() -> list[int]:
    """Points per final rank, first place first; a rank beyond the list earns 0."""
    return [10, 8, 6, 5, 4, 3, 2, 1]


class Course(models.Model):
    """Rounds one class plays one after another, with standings across them: each revealed
    round gives points per final rank (``contest.course_standings``, docs/rules.md)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    points = models.JSONField(
        default=default_points,
        help_text="Points per final rank: the first number for rank 1, the second for rank 2, "
        "...; a rank beyond the list earns 0.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoundState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("round state", "Draft")
    OPEN = "open", pgettext_lazy("round state", "Open")
    CLOSED = "closed", pgettext_lazy("round state", "Closed")


class Round(models.Model):
    """One game: a dataset, the algorithms allowed on it, a metric, a time window and quotas."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="rounds")
    metric = models.CharField(max_length=32)
    allowed_algorithms = models.JSONField(
        default=list, blank=True, help_text="Algorithm names; empty allows every one of the task."
    )
    state = models.CharField(max_length=8, choices=RoundState.choices, default=RoundState.DRAFT)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The first close: the final ranking counts the jobs submitted before it and "
        "the final choices as they stood then. Set once, never changed.",
    )
    reveal_show = models.BooleanField(
        default=False,
        help_text="At the first close the organizer reveals the final ranking place by place on "
        "the projector (last place first); students see the places revealed so far and the "
        "validation scores once the show ends. Otherwise everything is revealed at once.",
    )
    revealed_places = models.PositiveIntegerField(
        default=0, help_text="During the show: how many places, counted from the last, are out."
    )
    reveal_ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When the organizer ended the show (everything out)."
    )
    job_quota = models.PositiveIntegerField(default=20, help_text="Jobs per group in this round.")
    queued_quota = models.PositiveIntegerField(
        default=3, help_text="Jobs a group may have waiting at once."
    )
    time_limit_seconds = models.PositiveIntegerField(default=60)
    memory_limit_mb = models.PositiveIntegerField(default=2048)
    final_choice_allowed = models.BooleanField(
        default=False,
        help_text="Groups may mark one job as their final choice for the validation ranking; "
        "otherwise their job with the best test score counts.",
    )
    prediction_uploads = models.BooleanField(
        default=False,
        help_text="Groups may also upload predictions made anywhere (a CSV of id and label for "
        "the test and validation points), scored like any job (contest/uploads.py).",
    )
    diagnostics = models.BooleanField(
        default=False,
        help_text="Workers also compute diagnostics on the training split: a cross-validation "
        "score beside the test score, learning and validation curves and more "
        "(worker/diagnostics.py); they cost refits, within the job's time limit.",
    )
    leaderboard_version = models.PositiveBigIntegerField(
        default=0, help_text="Grows whenever the leaderboard may have changed (cheap polling)."
    )
    groups = models.ManyToManyField(Group, through="RoundEntry", related_name="rounds", blank=True)
    course = models.ForeignKey(
        Course,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rounds",
        help_text="The course whose standings this round counts in (none: a round on its own).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class RoundEntry(models.Model):
    """A group taking part in a round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="entries")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="entries")
    joined_at = models.DateTimeField(default=timezone.now)
    final_job = models.ForeignKey(
        "Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The job the group chose for the final ranking (if the round allows it).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "group"], name="round_entry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group} in {self.round}"


class RoundEvent(models.Model):
    """Who changed a round, and when: opened, closed, reopened, edited."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.round} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class JobState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("job state", "Queued")
    RUNNING = "running", pgettext_lazy("job state", "Running")
    DONE = "done", pgettext_lazy("job state", "Done")
    FAILED = "failed", pgettext_lazy("job state", "Failed")


class Job(models.Model):
    """An algorithm with parameters, run by a worker on its round's dataset."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="jobs")
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
        help_text="Empty for an organizer's baseline job.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    algorithm = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)

    # The claim: which worker runs the job and until when its lease holds.
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    worker_key = models.CharField(max_length=128, blank=True, help_text="The claiming session.")
    worker_name = models.CharField(max_length=128, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The result. score_* are the server's own; worker_score_* what the worker claimed.
    success = models.BooleanField(null=True)
    score_test = models.FloatField(null=True, blank=True)
    score_validation = models.FloatField(null=True, blank=True)
    worker_score_test = models.FloatField(null=True, blank=True)
    worker_score_validation = models.FloatField(null=True, blank=True)
    score_mismatch = models.BooleanField(default=False)
    extra_scores_test = models.JSONField(null=True, blank=True)
    extra_scores_validation = models.JSONField(null=True, blank=True)
    labels_training = models.JSONField(null=True, blank=True)
    labels_test = models.JSONField(null=True, blank=True)
    labels_validation = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    timings = models.JSONField(
        null=True, blank=True, help_text="Seconds per step, from the worker."
    )
    result_digest = models.CharField(max_length=64, blank=True)
    diagnostics = models.JSONField(
        null=True,
        blank=True,
        help_text="The worker's diagnostics on the training split (cv_score, cv_std, cv_folds; "
        "silhouette): computed from training labels only, shown, never ranked.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "created_at", "id"], name="job_queue_order"),
            models.Index(fields=["state", "lease_expires_at"], name="job_lease"),
            # In the leaderboard's own order, so that the best job is the first entry read.
            models.Index(
                fields=["round", "group", "state", "-score_test", "created_at", "id"],
                name="job_round_group_best",
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.algorithm}, {self.state})"

    @property
    def is_baseline(self) -> bool:
        return self.group_id is None

    def params_summary(self) -> str:
        """One line for job lists, with the registry's names and readings (an empty SVM gamma
        is 'scale'); a retired parameter of an old job, which changed nothing, is left out."""
        from mlcontest.algorithms import REGISTRY

        algorithm = REGISTRY.get(self.algorithm)
        if algorithm is None:
            pairs = [(key, str(value)) for key, value in self.params.items()]
        else:
            kept = {k: v for k, v in self.params.items() if k not in algorithm.retired}
            pairs = algorithm.shown_params(kept)
        return ", ".join(f"{key}={value}" for key, value in sorted(pairs))


class WorkerSeen(models.Model):
    """The last sign of life of each worker process (one row per claiming session)."""

    worker_key = models.CharField(max_length=128, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=128, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.name or self.worker_key


def picture_path(picture: JobPicture, filename: str) -> str:
    return f"jobs/{picture.job_id}/{filename}"


class JobPicture(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="pictures")
    filename = models.CharField(max_length=200)
    image = models.FileField(upload_to=picture_path)
    content_type = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "filename"]
        constraints = [
            models.UniqueConstraint(fields=["job", "filename"], name="picture_filename_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.filename}"


class PictureData(models.Model):
    """A picture's bytes, in the database, so that every server machine serves every picture
    without a shared disk (``contest/pictures.py``). A table of its own: listing a job's
    pictures reads no image. A picture stored before this table has none, and its file in
    ``MEDIA_ROOT`` is read instead (migration 0011 copies the files it finds)."""

    picture = models.OneToOneField(
        JobPicture, on_delete=models.CASCADE, primary_key=True, related_name="stored"
    )
    data = models.BinaryField()


class LoginAttempt(models.Model):
    """A password check that did not succeed (or is under way), for login throttling.

    Rows rather than counters: every server process and machine sees the same rows, an attempt
    is counted before its password is checked (so parallel guesses cannot all slip under the
    limit), and a sliding window is a filter on ``at``. See ``contest/login_throttle.py``."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="login_attempt_name"),
            models.Index(fields=["address", "at"], name="login_attempt_address"),
            models.Index(fields=["at"], name="login_attempt_at"),
        ]


class Announcement(models.Model):
    """A short message from an organizer ("5 minutes left") shown on every page, or on one
    round's pages, until it ends (``contest/announcements.py``)."""

    text = models.CharField(max_length=280)
    round = models.ForeignKey(
        Round,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="announcements",
        help_text="Empty: every page of the site; else the round's pages only.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Shown until then; empty: until an organizer takes it down (which sets it).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text
