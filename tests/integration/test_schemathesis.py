"""Schemathesis against the live schema, in-process on the WSGI app, with a token.

Every operation of /api/schema/ gets generated requests, valid ones and invalid ones,
against a real demo library with predictions (PostgreSQL, the Redis broker). Checks: no
5xx, a documented status code, a documented content type, and a body that matches the
schema (errors included: they must have the one {"error", "detail"} shape). Sorting
endpoints run too: they move files of this test's own copy of the demo library.

Bounded: MAX_EXAMPLES per operation and generation mode, no shrinking, no deadline.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from labeling.services.extraction import embeddings_extract, encoder_get, videos_needing_embeddings
from labeling.services.learning import classifier_train, predictions_compute
from labeling.services.scan import library_get_or_create, library_scan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = 10


@pytest.fixture
def demo_library(real_services, make_demo, settings_override):
    root = make_demo(36)
    settings_override.VIDSORT_LIBRARY = root
    library = library_get_or_create(root=root)
    library_scan(library=library)
    ids = videos_needing_embeddings(library=library, model_id=encoder_get().model_id)
    embeddings_extract(video_ids=list(ids.values_list("pk", flat=True)), workers=0)
    classifier = classifier_train(library=library, encoder=encoder_get()).classifier
    predictions_compute(classifier=classifier, encoder=encoder_get())
    return library


def _has_inputs(operation) -> bool:
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


@pytest.fixture
def settings_override(settings):
    settings.VIDSORT_CLIP_MODEL = "vidsort-tiny"
    settings.VIDSORT_CLIP_PRETRAINED = ""
    return settings


@pytest.fixture
def token(db, owner_everywhere) -> str:
    # An owner: every operation is fuzzed past the role check (tests/labeling/test_roles_schema.py
    # covers the refusals).
    user = owner_everywhere(get_user_model().objects.create_user("fuzz", password="x-12345678"))
    return Token.objects.create(user=user).key


def test_every_operation_answers_without_5xx_and_as_documented(demo_library, token):
    import redis
    from django.conf import settings as django_settings

    from vidsort_site.wsgi import application

    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    checks = [
        schemathesis.checks.not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                case.call_and_validate(headers=headers, checks=checks)

            if mode == GenerationMode.NEGATIVE and not _has_inputs(operation):
                continue  # no parameters and no body: there is no invalid request to make
            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()  # queued retrains
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
