"""Retrain, job status, cancel and classifier versions."""

from __future__ import annotations

from datetime import UTC

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import REVIEWER, VIEWER
from labeling.api.errors import Conflict
from labeling.models import Classifier, Job
from labeling.selectors.jobs import (
    classifiers_newest_first,
    jobs_of_library,
    jobs_recent,
    retrain_status,
)
from labeling.services.learning import (
    ActivationRefused,
    classifier_rollback_report,
    zero_shot_status,
)
from labeling.services.library import library_current
from labeling.services.retrain import job_cancel, jobs_mark_lost, retrain_request


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    classifier_version = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "stage",
            "progress",
            "created_at",
            "started_at",
            "stage_started_at",
            "heartbeat_at",
            "finished_at",
            "error",
            "model_id",
            "classifier_version",
            "metrics",
        ]

    def get_progress(self, job: Job) -> dict:
        return {"done": job.progress_done, "total": job.progress_total}

    def get_classifier_version(self, job: Job) -> int | None:
        return job.metrics.get("classifier_version") if job.metrics else None


class ClassifierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Classifier
        fields = ["id", "version", "model_id", "is_active", "created_at", "metrics"]


class RetrainProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class RetrainStatusSerializer(serializers.Serializer):
    running = serializers.BooleanField()
    last_result = serializers.CharField(
        allow_null=True, help_text='"success", or why the last finished retrain did not succeed.'
    )
    job = serializers.IntegerField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    progress = RetrainProgressSerializer(allow_null=True)
    # UTC as stored (a "Z" suffix), whatever TIME_ZONE says.
    started = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    eta_seconds = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    classifier = ClassifierSerializer(allow_null=True)
    zero_shot = serializers.BooleanField()
    zero_shot_note = serializers.CharField(allow_null=True)


class RetrainStartedSerializer(serializers.Serializer):
    status = serializers.CharField()
    job = serializers.IntegerField()


class RetrainRunningSerializer(RetrainStartedSerializer):
    error = serializers.CharField()
    detail = serializers.CharField()


class RetrainView(APIView):
    roles_required = {"POST": REVIEWER}

    @extend_schema(
        request=None,
        responses={201: RetrainStartedSerializer, 409: RetrainRunningSerializer},
    )
    def post(self, request: Request) -> Response:
        job, created = retrain_request(library=library_current(), user=request.user)
        if created:
            answer = RetrainStartedSerializer({"status": "started", "job": job.pk})
            return Response(answer.data, status=status.HTTP_201_CREATED)
        running = {"status": "running", "job": job.pk, "error": "conflict"}
        running["detail"] = f"retrain {job.pk} is already {job.state}"
        return Response(RetrainRunningSerializer(running).data, status=status.HTTP_409_CONFLICT)


class RetrainStatusView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(responses={200: RetrainStatusSerializer})
    def get(self, request: Request) -> Response:
        jobs_mark_lost()  # a dead worker never leaves "running" on screen
        answer = retrain_status(library=library_current(), zero_shot=zero_shot_status())
        return Response(RetrainStatusSerializer(answer).data)


class JobListSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)


class JobListView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(operation_id="jobs_list", responses={200: JobListSerializer})
    def get(self, request: Request) -> Response:
        jobs_mark_lost()
        jobs = jobs_recent(library=library_current())
        return Response(JobListSerializer({"jobs": jobs}).data)


def _job_of_current_library(job_id: int) -> Job:
    return get_object_or_404(jobs_of_library(library=library_current()), pk=job_id)


class JobDetailView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(responses={200: JobSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        jobs_mark_lost()
        return Response(JobSerializer(_job_of_current_library(job_id)).data)


class JobCancelView(APIView):
    roles_required = {"POST": REVIEWER}

    @extend_schema(request=None, responses={200: JobSerializer})
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_of_current_library(job_id)
        if not job_cancel(job=job):
            raise Conflict(
                f"job {job.pk} is {job.state}; only queued or running jobs can be cancelled"
            )
        return Response(JobSerializer(job).data)


class ClassifierListSerializer(serializers.Serializer):
    classifiers = ClassifierSerializer(many=True)


class ClassifierListView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(operation_id="classifiers_list", responses={200: ClassifierListSerializer})
    def get(self, request: Request) -> Response:
        classifiers = classifiers_newest_first(library=library_current())
        return Response(ClassifierListSerializer({"classifiers": classifiers}).data)


# The activated version, and what its rollback left to predict (schema of the answer).
class ClassifierActivatedSerializer(ClassifierSerializer):
    unpredicted = serializers.IntegerField(
        help_text="Unsorted videos this version had no prediction for (added after it was "
        "trained); the predict job fills them in."
    )
    job = serializers.IntegerField(
        allow_null=True, help_text="The predict job (see /api/jobs/<id>); null: none needed."
    )

    class Meta(ClassifierSerializer.Meta):
        fields = [*ClassifierSerializer.Meta.fields, "unpredicted", "job"]


class ClassifierActivateView(APIView):
    roles_required = {"POST": REVIEWER}

    @extend_schema(request=None, responses={200: ClassifierActivatedSerializer})
    def post(self, request: Request, classifier_id: int) -> Response:
        classifier = get_object_or_404(
            classifiers_newest_first(library=library_current()), pk=classifier_id
        )
        try:
            rollback = classifier_rollback_report(classifier=classifier)
        except ActivationRefused as exc:
            raise Conflict(str(exc)) from exc
        answer = dict(ClassifierSerializer(rollback.classifier).data)
        answer["unpredicted"] = rollback.unpredicted
        answer["job"] = rollback.job.pk if rollback.job else None
        return Response(answer)


urlpatterns = [
    re_path(r"^retrain/?$", RetrainView.as_view(), name="retrain"),
    re_path(r"^retrain/status/?$", RetrainStatusView.as_view(), name="retrain-status"),
    re_path(r"^jobs/?$", JobListView.as_view(), name="job-list"),
    re_path(r"^jobs/(?P<job_id>\d+)/?$", JobDetailView.as_view(), name="job-detail"),
    re_path(r"^jobs/(?P<job_id>\d+)/cancel/?$", JobCancelView.as_view(), name="job-cancel"),
    re_path(r"^classifiers/?$", ClassifierListView.as_view(), name="classifier-list"),
    re_path(
        r"^classifiers/(?P<classifier_id>\d+)/activate/?$",
        ClassifierActivateView.as_view(),
        name="classifier-activate",
    ),
]
