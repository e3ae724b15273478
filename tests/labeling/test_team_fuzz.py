"""Schemathesis on the team operations only, against a small team library: no 5xx, the
documented status codes, content types and bodies, for valid and invalid requests.
(tests/integration/test_schemathesis.py fuzzes the whole API on a demo library; this one
runs in seconds on byte-string videos, as a labeller and as an owner.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from pytest_django.fixtures import Settings
from rest_framework.authtoken.models import Token
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.labeling.team_setup import add_user, team_library

pytestmark = pytest.mark.django_db(transaction=True)

TEAM_PATHS = (
    "/api/batches",
    "/api/votes",
    "/api/review",
    "/api/decisions",
    "/api/gold",
    "/api/team/",
    "/api/v1/",
)
MAX_EXAMPLES = 8


@pytest.mark.parametrize("role", ["labeller", "owner"])
def test_team_operations_answer_as_documented(
    settings: Settings, library_dir: Path, role: str
) -> None:
    from vidsort_site.wsgi import application

    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=6)
    token = Token.objects.create(user=add_user(team, "fuzz", role)).key
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
        if not operation.path.startswith(TEAM_PATHS) and not operation.path.endswith("/votes"):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:  # noqa: ANN001
                case.call_and_validate(headers=headers, checks=checks)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
