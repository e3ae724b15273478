"""Settings from the environment: bad values fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import vidsort_site.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | {"VIDSORT_DATA_DIR": str(tmp_path / "data")} | env,
    )


def test_defaults_are_the_embedded_stack(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3", "filesystem://"]
    assert (tmp_path / "data" / "secret_key").exists()
    assert (tmp_path / "data" / "broker" / "queue").is_dir()


def test_the_secret_key_is_kept_between_starts(tmp_path):
    code = "import vidsort_site.settings as s; print(s.SECRET_KEY)"
    env = os.environ | {"VIDSORT_DATA_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    keys = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        ).stdout
        for _ in range(2)
    }
    assert len(keys) == 1 and len(keys.pop().strip()) > 40


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"CELERY_BROKER_URL": "sqs://x"}, "CELERY_BROKER_URL scheme 'sqs' is not supported"),
        ({"VIDSORT_FRAMES": "eight"}, "VIDSORT_FRAMES='eight' is not an integer"),
        ({"VIDSORT_FRAMES": "0"}, "VIDSORT_FRAMES='0' must be at least 1"),
        ({"VIDSORT_DEVICE": "tpu"}, "VIDSORT_DEVICE='tpu' is not one of"),
        ({"VIDSORT_LOW_CONFIDENCE": "1.5"}, "VIDSORT_LOW_CONFIDENCE='1.5' must be between"),
        ({"VIDSORT_HASH": "md5"}, "VIDSORT_HASH='md5' is not one of"),
        ({"VIDSORT_LOG_LEVEL": "loud"}, "VIDSORT_LOG_LEVEL='LOUD' is not one of"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus' is not an IANA time zone"),
    ],
)
def test_bad_values_raise_improperly_configured(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_a_library_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "file.mp4"
    afile.write_bytes(b"x")
    result = load_settings(tmp_path, VIDSORT_LIBRARY=str(afile))
    assert "VIDSORT_LIBRARY" in result.stderr and "is a file" in result.stderr


def test_postgres_and_redis_urls_are_accepted(tmp_path):
    result = load_settings(
        tmp_path,
        DATABASE_URL="postgres://u@db:5432/v",
        CELERY_BROKER_URL="redis://r:6379/0",
        DEBUG="yes",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.postgresql", "redis://r:6379/0"]
