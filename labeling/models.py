"""VidSort's data model.

The folder tree on disk is the source of truth for where a video is; these rows mirror it
(kept in sync by the scan and the sort service) and add what the disk cannot hold:
content hashes, embeddings, predictions, jobs and the label history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Library(models.Model):
    """A root folder on disk. Its first-level sub-folders are the categories."""

    name = models.CharField(max_length=200)
    root = models.CharField(max_length=4096, unique=True, help_text="Absolute path.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    text_enabled = models.BooleanField(
        default=True,
        help_text="Run the text stage (transcripts, on-screen text) in retrains (docs/text.md).",
    )
    # Team labelling (docs/team.md). Off: a key press moves the file, as for one person.
    team_mode = models.BooleanField(
        default=False, help_text="Key presses are votes; a file moves when its label is decided."
    )
    votes_to_decide = models.PositiveSmallIntegerField(
        default=2, help_text="Agreeing labeller votes that decide a video (team mode)."
    )
    batch_size = models.PositiveSmallIntegerField(
        default=16, help_text="Videos per labeller batch, gold included (team mode)."
    )
    gold_per_batch = models.PositiveSmallIntegerField(
        default=4, help_text="Hidden gold-standard videos per batch; at least 2 (team mode)."
    )
    # Playable proxies (docs/player.md): on, every scan queues an H.264 copy of each file a
    # browser cannot play; off, a copy is made when the player first meets such a file.
    proxies_ahead = models.BooleanField(
        default=False,
        help_text="Make playable copies of HEVC and other unplayable files after each scan.",
    )

    class Meta:
        verbose_name_plural = "libraries"

    def __str__(self) -> str:
        return f"{self.name} ({self.root})"


class Folder(models.Model):
    """A category: a first-level sub-folder of the library."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=100)
    prompts = models.JSONField(
        default=list,
        blank=True,
        help_text="Phrases for zero-shot scoring. Empty means 'a video of {name}'.",
    )
    key = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Keyboard key 1-9 in the player."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["library", "name"], name="folder_unique_name"),
            models.UniqueConstraint(
                fields=["library", "key"],
                condition=Q(key__isnull=False),
                name="folder_unique_key",
            ),
            models.CheckConstraint(
                condition=Q(key__isnull=True) | Q(key__gte=1, key__lte=9),
                name="folder_key_1_to_9",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Video(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "ok"
        UNREADABLE = "unreadable", "unreadable"
        MISSING = "missing", "missing"

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="videos")
    path = models.CharField(
        max_length=4096, help_text="Path relative to the library root, with '/' separators."
    )
    filename = models.CharField(max_length=1024, db_index=True)
    folder = models.ForeignKey(
        Folder,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="videos",
        help_text="Empty means unsorted (the file is in the library root).",
    )
    content_hash = models.CharField(max_length=80, db_index=True, blank=True)
    size = models.BigIntegerField(default=0)
    mtime_ns = models.BigIntegerField(default=0)
    duration = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    frame_count = models.IntegerField(null=True, blank=True)
    width = models.IntegerField(null=True, blank=True, help_text="As displayed (rotation applied).")
    height = models.IntegerField(
        null=True, blank=True, help_text="As displayed (rotation applied)."
    )
    codec = models.CharField(max_length=16, blank=True)
    pix_fmt = models.CharField(
        max_length=32, blank=True, help_text="Pixel format of the video stream (yuv420p, …)."
    )
    rotation = models.SmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    error = models.TextField(blank=True)
    extract_error = models.TextField(
        blank=True,
        help_text="Why feature extraction failed for this file (it is retried when the file changes).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["library", "path"], name="video_unique_path"),
        ]
        indexes = [
            # The player's queue: unsorted, playable videos of a library.
            models.Index(
                fields=["library", "status"],
                condition=Q(folder__isnull=True),
                name="video_unsorted_idx",
            ),
            models.Index(fields=["library", "folder", "status"], name="video_folder_idx"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def is_portrait(self) -> bool:
        # width and height are display dimensions: rotation metadata is already applied.
        return bool(self.width and self.height and self.height > self.width)


class Embedding(models.Model):
    """A video's CLIP features for one model: the pooled vector and per-frame vectors."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="embeddings")
    model_id = models.CharField(max_length=200)
    content_hash = models.CharField(
        max_length=80, db_index=True, help_text="Hash of the file the vectors came from."
    )
    dim = models.PositiveIntegerField()
    vector = models.BinaryField(help_text="float32 little-endian, L2-normalised.")
    frame_vectors = models.BinaryField(help_text="float32, frames x dim.")
    frame_times = models.JSONField(default=list, help_text="Seconds, one per frame.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["video", "model_id"], name="embedding_unique_model"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} / {self.model_id}"


class Classifier(models.Model):
    """One trained classifier version. Any process can load it from here."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="classifiers")
    version = models.PositiveIntegerField()
    model_id = models.CharField(max_length=200)
    is_active = models.BooleanField(default=False)
    blob = models.BinaryField(editable=False)
    classes = models.JSONField(default=list, help_text="Folder ids, in the model's order.")
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["library", "version"], name="classifier_unique_version"
            ),
            # At most one active classifier per library, enforced by the database.
            models.UniqueConstraint(
                fields=["library"], condition=Q(is_active=True), name="classifier_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.model_id})"


class Job(models.Model):
    """A background run (a retrain, a scan). The database row is the truth about it."""

    class Kind(models.TextChoices):
        RETRAIN = "retrain", "retrain"
        SCAN = "scan", "scan"
        # Predictions an activated older classifier version lacks (labeling.services.backfill).
        PREDICT = "predict", "predict"

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        LOST = "lost", "lost"
        CANCELLED = "cancelled", "cancelled"

    class Stage(models.TextChoices):
        SCAN = "scan", "scan"
        EXTRACT = "extract", "extract"
        TEXT = "text", "text"
        TRAIN = "train", "train"
        PREDICT = "predict", "predict"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stage_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current stage began (for its ETA)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="Deliveries of the current stage's task; a stage whose task keeps dying "
        "(a worker killed by a file) fails the job instead of looping.",
    )
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    classifier = models.ForeignKey(
        Classifier, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active job of a kind per library, enforced by the database so two
            # clicks on Retrain (or two web processes) cannot start two runs.
            models.UniqueConstraint(
                fields=["library", "kind"],
                condition=Q(state__in=["queued", "running"]),
                name="job_one_active_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"


class Prediction(models.Model):
    class Source(models.TextChoices):
        TRAINED = "trained", "trained"
        ZERO_SHOT = "zero-shot", "zero-shot"
        BLENDED = "blended", "blended"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="predictions")
    classifier_version = models.PositiveIntegerField()
    folder = models.ForeignKey(
        Folder, null=True, on_delete=models.CASCADE, related_name="predictions"
    )
    confidence = models.FloatField()
    margin = models.FloatField()
    entropy = models.FloatField()
    source = models.CharField(max_length=16, choices=Source.choices)
    top = models.JSONField(
        default=list, help_text='[{"folder_id", "folder", "probability"}, …] best first.'
    )
    segments = models.JSONField(
        default=list, help_text='[{"folder_id", "start", "end", "score"}, …]'
    )
    duration_ratio = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["video", "classifier_version"], name="prediction_unique_version"
            ),
        ]
        indexes = [
            # Queue orders read one version's predictions sorted by confidence/margin.
            models.Index(fields=["classifier_version", "confidence"], name="prediction_conf_idx"),
            models.Index(fields=["classifier_version", "margin"], name="prediction_margin_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} v{self.classifier_version}: {self.folder_id} {self.confidence:.2f}"


class LabelEvent(models.Model):
    """One change of a video's folder: the audit trail, undo stack and accuracy record."""

    class Route(models.TextChoices):
        PLAYER = "player", "player"
        API = "api", "API"
        BULK = "bulk", "bulk"
        AUTO_FILE = "auto-file", "auto-file"
        UNDO = "undo", "undo"
        EXTERNAL = "external", "external (moved outside VidSort)"
        IMPORT = "import", "import (found sorted at first scan)"
        VOTE = "vote", "vote"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="label_events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    from_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Names and paths are kept as text too: history must survive a renamed or deleted folder.
    from_name = models.CharField(max_length=100, blank=True)
    to_name = models.CharField(max_length=100, blank=True)
    from_path = models.CharField(max_length=4096, blank=True)
    to_path = models.CharField(max_length=4096, blank=True)
    route = models.CharField(max_length=16, choices=Route.choices)
    predicted_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    predicted_confidence = models.FloatField(null=True, blank=True)
    undone_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undoes"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="labelevent_user_idx")]

    def __str__(self) -> str:
        return f"{self.video_id}: {self.from_name or '(unsorted)'} → {self.to_name or '(unsorted)'}"


class TextEmbedding(models.Model):
    """CLIP text vectors for zero-shot prompts, cached per (prompt, model)."""

    model_id = models.CharField(max_length=200)
    prompt = models.CharField(max_length=500)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_id", "prompt"], name="textembedding_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prompt!r} ({self.model_id})"


class Transcript(models.Model):
    """What is said in a file, per (content hash, engine id): a moved or copied file shares it."""

    class State(models.TextChoices):
        TRANSCRIBED = "transcribed", "transcribed"
        NO_AUDIO = "no_audio", "no audio stream"
        SILENT = "silent", "silent"
        OFF = "off", "off"
        FAILED = "failed", "failed"

    content_hash = models.CharField(max_length=80)
    engine = models.CharField(max_length=200, help_text="Engine id (engine, model, mode).")
    state = models.CharField(max_length=16, choices=State.choices)
    reason = models.TextField(blank=True, help_text="Why it failed, or notes.")
    language = models.CharField(max_length=16, blank=True)
    segments = models.JSONField(
        default=list, help_text='[{"start", "end", "text", "confidence"}, …] in seconds.'
    )
    text = models.TextField(blank=True, help_text="All segments' text, for search and features.")
    audio_seconds = models.FloatField(default=0.0)
    truncated = models.BooleanField(default=False, help_text="Audio went on past the limit.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_hash", "engine"], name="transcript_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.content_hash[:12]} / {self.engine} ({self.state})"


class ScreenText(models.Model):
    """Text burned into a file's frames, per (content hash, engine id)."""

    class State(models.TextChoices):
        READ = "read", "read"
        NO_VIDEO = "no_video", "no video stream"
        OFF = "off", "off"
        FAILED = "failed", "failed"

    content_hash = models.CharField(max_length=80)
    engine = models.CharField(max_length=200, help_text="Engine id (engine, models).")
    state = models.CharField(max_length=16, choices=State.choices)
    reason = models.TextField(blank=True)
    lines = models.JSONField(
        default=list, help_text='[{"time", "end", "text", "confidence", "box"}, …] in seconds.'
    )
    text = models.TextField(blank=True, help_text="All lines' text, for search and features.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_hash", "engine"], name="screentext_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.content_hash[:12]} / {self.engine} ({self.state})"


class MoveIntent(models.Model):
    """The sort journal: a row committed before the disk is touched, closed after.

    An intent still open after a crash tells `vidsort_reconcile` exactly which file was
    being moved where, so it can finish or roll back the move without guessing.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "done"
        ROLLED_BACK = "rolled-back", "rolled back"
        FAILED = "failed", "failed"
        ALERT = "alert", "alert (file not found at either end)"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="move_intents")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    route = models.CharField(max_length=16, choices=LabelEvent.Route.choices)
    from_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    src_path = models.CharField(max_length=4096)
    dst_path = models.CharField(max_length=4096)
    tmp_path = models.CharField(max_length=4096, blank=True)
    content_hash = models.CharField(max_length=80, blank=True)
    size = models.BigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    step = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state"], name="moveintent_state_idx")]

    def __str__(self) -> str:
        return f"{self.src_path} → {self.dst_path} ({self.state})"


class UserPreference(models.Model):
    """Per-user player settings (queue order…)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vidsort_preference"
    )
    queue_order = models.CharField(max_length=32, default="uncertainty+diversity")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.queue_order}"


class Membership(models.Model):
    """A user's role in one library. Superusers are owners of every library."""

    class Role(models.TextChoices):
        OWNER = "owner", "owner"
        REVIEWER = "reviewer", "reviewer"
        LABELLER = "labeller", "labeller"
        VIEWER = "viewer", "viewer"

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["library", "user"]
        constraints = [
            models.UniqueConstraint(fields=["library", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.library_id}: {self.role}"


class TokenScope(models.Model):
    """Limits on an API token beyond its user's role (a token never exceeds its user)."""

    token = models.OneToOneField(
        "authtoken.Token", on_delete=models.CASCADE, related_name="scope", primary_key=True
    )
    read_only = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"token of {self.token_id}: {'read-only' if self.read_only else 'full'}"


class GoldStandard(models.Model):
    """A video whose folder a reviewer vouches for; mixed hidden into labeller batches."""

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="gold")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gold {self.video_id}: {self.folder_id}"


class Batch(models.Model):
    """A labeller's unit of work: videos to vote on, with hidden gold videos among them."""

    class State(models.TextChoices):
        OPEN = "open", "open"
        ACCEPTED = "accepted", "accepted"
        DISCARDED = "discarded", "discarded (a gold answer was wrong)"

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="batches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    video_ids = models.JSONField(default=list, help_text="In the order shown, gold included.")
    gold_video_ids = models.JSONField(default=list, help_text="Never shown to the labeller.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    gold_correct = models.PositiveSmallIntegerField(default=0)
    gold_total = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.user_id}: {self.state}"


class Vote(models.Model):
    """One labeller's answer for one video (team mode). Votes of discarded batches never count."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="votes"
    )
    counts = models.BooleanField(
        default=True, help_text="False when its batch was discarded or it was withdrawn."
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One standing vote per labeller per video; withdrawn ones stay for audit.
            models.UniqueConstraint(
                fields=["video", "user"],
                condition=Q(withdrawn_at__isnull=True),
                name="vote_one_standing_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"vote {self.user_id} on {self.video_id}: {self.folder_id}"


class GoldAnswer(models.Model):
    """A labeller's answer on a hidden gold video: the check, never a vote."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="gold_answers")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    folder = models.ForeignKey(Folder, null=True, on_delete=models.SET_NULL, related_name="+")
    correct = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gold answer {self.user_id} on {self.video_id}: {self.correct}"


class Decision(models.Model):
    """The decided label of a video in team mode; the file moves once, when it is made."""

    class Kind(models.TextChoices):
        STRONG = "strong", "strong (enough labellers agree)"
        WEAK = "weak", "weak (majority after a dispute)"
        REVIEWER = "reviewer", "reviewer"

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="decision")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The labellers' consensus stays apart from a reviewer's answer, so they can be compared.
    consensus_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label_event = models.ForeignKey(
        LabelEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"decision {self.video_id}: {self.folder_id} ({self.kind})"


class TikTokItem(models.Model):
    """One video of an imported TikTok data export (favourited and/or liked), by its numeric
    id; ``video`` is the library file whose name holds that id, once there is one."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="tiktok_items")
    tiktok_id = models.CharField(max_length=32, help_text="TikTok's numeric video id.")
    link = models.CharField(max_length=2048, help_text="The link as the export wrote it.")
    favorited_at = models.DateTimeField(null=True, blank=True)
    liked_at = models.DateTimeField(null=True, blank=True)
    video = models.ForeignKey(
        Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="tiktok_items"
    )
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-favorited_at", "-liked_at", "tiktok_id"]
        constraints = [
            models.UniqueConstraint(fields=["library", "tiktok_id"], name="tiktok_unique_id"),
        ]

    def __str__(self) -> str:
        return f"tiktok {self.tiktok_id}"
