"""Retrain, job status, cancel and classifier versions."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.errors import Conflict
from labeling.models import Classifier, Job
from labeling.services.learning import ActivationRefused, classifier_rollback, zero_shot_status
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


def _eta_seconds(job: Job) -> float | None:
    """Seconds left in the current stage, at the rate this stage has gone so far.

    Measured from the stage's own start: the job's total time would count earlier
    stages (scan, a long extraction) against the progress of this one.
    """
    if job.state != Job.State.RUNNING or not job.progress_done:
        return None
    if job.progress_done >= job.progress_total:
        return None
    started = job.stage_started_at or job.started_at
    if started is None:
        return None
    elapsed = (timezone.now() - started).total_seconds()
    return round(elapsed / job.progress_done * (job.progress_total - job.progress_done), 1)


def retrain_status_payload(library) -> dict:
    jobs_mark_lost()  # a dead worker never leaves "running" on screen
    job = Job.objects.filter(library=library, kind=Job.Kind.RETRAIN).order_by("-created_at").first()
    finished = (
        Job.objects.filter(library=library, kind=Job.Kind.RETRAIN)
        .exclude(state__in=Job.ACTIVE_STATES)
        .order_by("-created_at")
        .first()
    )
    if finished is None:
        last_result = None
    elif finished.state == Job.State.SUCCEEDED:
        last_result = "success"
    else:
        last_result = finished.error or f"{finished.state.capitalize()}"
    active = Classifier.objects.filter(library=library, is_active=True).first()
    zero_shot_on, zero_shot_note = zero_shot_status()
    return {
        "running": bool(job and job.state in Job.ACTIVE_STATES),
        "last_result": last_result,
        "job": job.pk if job else None,
        "state": job.state if job else None,
        "stage": job.stage if job else None,
        "progress": {"done": job.progress_done, "total": job.progress_total} if job else None,
        "started": job.started_at if job else None,
        "eta_seconds": _eta_seconds(job) if job else None,
        "error": job.error if job else "",
        "classifier": ClassifierSerializer(active).data if active else None,
        # Day-0 predictions need a text-aligned model; say so when it is off.
        "zero_shot": zero_shot_on,
        "zero_shot_note": zero_shot_note,
    }


class RetrainView(APIView):
    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "RetrainStarted",
                {"status": serializers.CharField(), "job": serializers.IntegerField()},
            ),
            409: inline_serializer(
                "RetrainRunning",
                {"status": serializers.CharField(), "job": serializers.IntegerField()},
            ),
        },
    )
    def post(self, request: Request) -> Response:
        job, created = retrain_request(library=library_current(), user=request.user)
        if created:
            return Response({"status": "started", "job": job.pk}, status=status.HTTP_201_CREATED)
        return Response(
            {
                "status": "running",
                "job": job.pk,
                "error": "conflict",
                "detail": f"retrain {job.pk} is already {job.state}",
            },
            status=status.HTTP_409_CONFLICT,
        )


class RetrainStatusView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(retrain_status_payload(library_current()))


class JobListView(APIView):
    @extend_schema(
        operation_id="jobs_list",
        responses={200: inline_serializer("JobList", {"jobs": JobSerializer(many=True)})},
    )
    def get(self, request: Request) -> Response:
        jobs_mark_lost()
        jobs = Job.objects.filter(library=library_current()).order_by("-created_at")[:100]
        return Response({"jobs": JobSerializer(jobs, many=True).data})


class JobDetailView(APIView):
    @extend_schema(responses={200: JobSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        jobs_mark_lost()
        job = get_object_or_404(Job, pk=job_id, library=library_current())
        return Response(JobSerializer(job).data)


class JobCancelView(APIView):
    @extend_schema(request=None, responses={200: JobSerializer})
    def post(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(Job, pk=job_id, library=library_current())
        if not job_cancel(job=job):
            raise Conflict(
                f"job {job.pk} is {job.state}; only queued or running jobs can be cancelled"
            )
        return Response(JobSerializer(job).data)


class ClassifierListView(APIView):
    @extend_schema(
        operation_id="classifiers_list",
        responses={
            200: inline_serializer(
                "ClassifierList", {"classifiers": ClassifierSerializer(many=True)}
            )
        },
    )
    def get(self, request: Request) -> Response:
        classifiers = Classifier.objects.filter(library=library_current()).order_by("-version")
        return Response({"classifiers": ClassifierSerializer(classifiers, many=True).data})


class ClassifierActivateView(APIView):
    @extend_schema(request=None, responses={200: ClassifierSerializer})
    def post(self, request: Request, classifier_id: int) -> Response:
        classifier = get_object_or_404(Classifier, pk=classifier_id, library=library_current())
        try:
            classifier = classifier_rollback(classifier=classifier)
        except ActivationRefused as exc:
            raise Conflict(str(exc)) from exc
        return Response(ClassifierSerializer(classifier).data)


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
