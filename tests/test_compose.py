"""The Docker stack's files, checked without a Docker engine.

scripts/compose-smoke.sh builds and runs the stack for real (.ci/run, after the suite);
these checks are the quick part. docker-compose.yml is parsed and interpolated with .env.example the way compose does it,
then checked against what the application really reads (vidsort_site/settings.py). When
a compose implementation is installed (`docker compose` or Debian's `docker-compose`),
it validates the file too; `nginx -t` checks the nginx template rendered for a local run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
EXPOSE = REPO / "docker" / "compose.expose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
NGINX_TEMPLATE = REPO / "docker" / "nginx" / "vidsort.conf.template"
SETTINGS = REPO / "vidsort_site" / "settings.py"
IN_CI = os.environ.get("CI", "").lower() == "true"

APP_SERVICES = {"web", "worker", "worker-gpu", "beat", "flower"}
ALL_SERVICES = APP_SERVICES | {"postgres", "redis", "nginx"}
# Settings every VidSort process needs from the stack (the defaults are for the embedded
# run: SQLite, a filesystem broker and a key file in the data folder).
REQUIRED_APP_ENV = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "VIDSORT_LIBRARY",
    "VIDSORT_DATA_DIR",
    "VIDSORT_MODEL_CACHE",
    "VIDSORT_CLIP_MODEL",
    "VIDSORT_CLIP_PRETRAINED",
    "VIDSORT_DEVICE",
}


# --- Helpers: .env parsing, compose interpolation, nginx rendering -----------------------


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: $$, ${X}, ${X:-default}, ${X-default}, ${X:?error}."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        present = name in env and (env[name] != "" or operator in (None, "-", "?"))
        if operator in (":-", "-"):
            return env[name] if present else argument
        if operator in (":?", "?"):
            if not present:
                raise MissingVariable(f"{name}: {argument}")
            return env[name]
        return env.get(name, "")

    return _VARIABLE.sub(replace, value)


def load_compose(env: dict[str, str], *files: Path) -> dict:
    merged: dict = {}
    for path in files or (COMPOSE,):
        data = interpolate(yaml.safe_load(path.read_text()), env)
        for service, spec in data.get("services", {}).items():
            merged.setdefault("services", {}).setdefault(service, {}).update(spec)
        merged.setdefault("volumes", {}).update(data.get("volumes") or {})
    return merged


def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def settings_env_reads() -> dict[str, str]:
    """Environment variable -> the helper settings.py reads it with (env_str, os.environ…)."""
    source = SETTINGS.read_text()
    reads = {}
    for function, name in re.findall(
        r"\b(env_str|env_bool|env_int|env_float|env_list|env_choice|os\.environ\.get|os\.getenv)\(\s*\"([A-Z][A-Z0-9_]*)\"",
        source,
    ):
        reads.setdefault(name, function)
    return reads


def settings_string_defaults() -> dict[str, str]:
    source = SETTINGS.read_text()
    # Literal defaults only ("X", "value") — not computed ones like "" if … else ….
    return dict(
        re.findall(r"env_(?:str|choice)\(\s*\"([A-Z0-9_]+)\",\s*\"([^\"]*)\"\s*[,)]", source)
    )


def service_env(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def command_text(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def mounts(service: dict) -> dict[str, tuple[str, str]]:
    """container path -> (source, mode)."""
    result = {}
    for volume in service.get("volumes") or []:
        parts = volume.split(":")
        source, target = parts[0], parts[1]
        result[target] = (source, parts[2] if len(parts) > 2 else "rw")
    return result


def render_nginx_config(
    directory: Path,
    *,
    port: int,
    upstream: str,
    static_root: Path,
    library_root: Path,
    accel_prefix: str,
) -> Path:
    """The docker template, filled in like the nginx image does, in a runnable main file."""
    values = {
        "NGINX_PORT": str(port),
        "NGINX_UPSTREAM": upstream,
        "NGINX_STATIC_ROOT": str(static_root),
        "NGINX_LIBRARY_ROOT": str(library_root),
        "NGINX_ACCEL_PREFIX": accel_prefix,
    }

    def fill(match: re.Match) -> str:
        return values[match.group(1)]  # a KeyError means the template grew a variable

    server = re.sub(r"\$\{(NGINX_[A-Z_]+)\}", fill, NGINX_TEMPLATE.read_text())
    (directory / "vidsort.conf").write_text(server)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir(exist_ok=True)
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    # Running as root (a CI container), workers would drop to nobody and could not read
    # pytest's private temp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(
        f"""{user}
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 128; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/vidsort.conf;
}}
"""
    )
    return main


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


# --- The compose file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose(env_example())


def test_it_has_every_service(compose):
    assert set(compose["services"]) == ALL_SERVICES


def test_required_secrets_have_no_default():
    # Without them compose must refuse to start rather than run with a known password.
    for name in (
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "FLOWER_PASSWORD",
        "LIBRARY_PATH",
    ):
        env = env_example()
        del env[name]
        with pytest.raises(MissingVariable, match=name):
            load_compose(env)


def test_web_migrates_collects_static_and_runs_gunicorn_gthread(compose):
    web = compose["services"]["web"]
    assert web["command"] == ["web"]
    entrypoint = ENTRYPOINT.read_text()
    for step in (
        "manage.py migrate --noinput",
        "manage.py collectstatic --noinput",
        "exec gunicorn vidsort_site.wsgi",
        "--worker-class gthread",
    ):
        assert step in entrypoint
    assert entrypoint.index("migrate") < entrypoint.index("gunicorn")
    assert "8000" in web["expose"] and "ports" not in web  # only nginx is published


def test_the_cpu_worker_takes_both_queues_unless_told(compose):
    command = command_text(compose["services"]["worker"])
    assert "celery -A vidsort_site worker -Q" in command
    assert service_env(compose["services"]["worker"])["WORKER_QUEUES"] == "default,gpu,text"
    env = env_example() | {"WORKER_QUEUES": "default"}
    assert service_env(load_compose(env)["services"]["worker"])["WORKER_QUEUES"] == "default"


def test_the_gpu_worker_reserves_a_gpu_in_a_profile(compose):
    gpu = compose["services"]["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["command"][:5] == ["celery", "-A", "vidsort_site", "worker", "-Q"]
    assert gpu["command"][5] == "gpu"
    assert gpu["command"][gpu["command"].index("--concurrency") + 1] == "1"
    assert "%h" in gpu["command"][gpu["command"].index("-n") + 1]  # unique when scaled
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert device.get("device_ids") or device.get("count")
    assert service_env(gpu)["VIDSORT_DEVICE"] == "cuda"
    # No other service needs a GPU, so `docker compose up` works without one.
    for name, service in compose["services"].items():
        if name != "worker-gpu":
            assert "deploy" not in service and "profiles" not in service


def test_beat_and_flower(compose):
    assert command_text(compose["services"]["beat"]).startswith("celery -A vidsort_site beat")
    flower = compose["services"]["flower"]
    command = command_text(flower)
    assert "celery -A vidsort_site flower" in command and "--port=5555" in command
    assert '--basic-auth="${FLOWER_USER:?}:${FLOWER_PASSWORD:?}"' in command
    assert {"FLOWER_USER", "FLOWER_PASSWORD"} <= set(service_env(flower))
    assert any(port.endswith(":5555") for port in flower["ports"])


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])
    for name in ("web", "worker", "worker-gpu", "beat", "nginx"):
        depends = compose["services"][name]["depends_on"]
        assert all(item["condition"] == "service_healthy" for item in depends.values()), name


def test_workers_wait_for_web_so_migrations_ran(compose):
    for name in ("worker", "worker-gpu", "beat"):
        assert "web" in compose["services"][name]["depends_on"]


def test_the_library_is_mounted_at_the_same_path_everywhere(compose):
    services = compose["services"]
    library_path = env_example()["LIBRARY_PATH"]
    target = service_env(services["web"])["VIDSORT_LIBRARY"]
    for name in ("web", "worker", "worker-gpu", "beat", "nginx"):
        assert mounts(services[name])[target][0] == library_path, name
    assert mounts(services["nginx"])[target][1] == "ro"
    assert service_env(services["nginx"])["NGINX_LIBRARY_ROOT"] == target
    for name in APP_SERVICES - {"flower"}:
        assert service_env(services[name])["VIDSORT_LIBRARY"] == target


def test_models_postgres_and_static_volumes(compose):
    services = compose["services"]
    for name in ("web", "worker", "worker-gpu"):
        cache = service_env(services[name])["VIDSORT_MODEL_CACHE"]
        assert mounts(services[name])[cache][0] == "models"
    assert mounts(services["postgres"])["/var/lib/postgresql/data"][0] == "pgdata"
    static_root = service_env(services["web"])["STATIC_ROOT"]
    assert mounts(services["web"])[static_root][0] == "static"
    nginx_static = service_env(services["nginx"])["NGINX_STATIC_ROOT"]
    assert mounts(services["nginx"])[nginx_static] == ("static", "ro")
    assert {"models", "pgdata", "static"} <= set(compose["volumes"])


def test_nginx_and_django_agree_on_the_accel_prefix(compose):
    services = compose["services"]
    prefix = service_env(services["web"])["VIDSORT_ACCEL_REDIRECT_PREFIX"]
    assert prefix.startswith("/") and prefix == service_env(services["nginx"])["NGINX_ACCEL_PREFIX"]
    assert service_env(services["nginx"])["NGINX_UPSTREAM"] == "web:8000"
    template_mount = mounts(services["nginx"])["/etc/nginx/templates/default.conf.template"]
    assert (REPO / template_mount[0]).resolve() == NGINX_TEMPLATE


def test_app_environment_is_what_settings_read(compose):
    reads = settings_env_reads()
    # Read outside settings.py: gunicorn's size (the entrypoint), the admin account
    # (manage.py vidsort_admin), the worker's queues and Flower's login (their commands).
    commands_source = "\n".join(
        p.read_text() for p in (REPO / "labeling" / "management" / "commands").glob("*.py")
    )
    elsewhere = ENTRYPOINT.read_text() + commands_source
    for name in APP_SERVICES:
        service = compose["services"][name]
        env = service_env(service)
        assert REQUIRED_APP_ENV <= set(env), (name, REQUIRED_APP_ENV - set(env))
        for variable in env:
            assert (
                variable in reads or variable in elsewhere or variable in command_text(service)
            ), f"{name} passes {variable}, which nothing reads"


def test_empty_defaults_only_where_settings_treat_empty_as_default():
    reads = settings_env_reads()
    literal_defaults = settings_string_defaults()
    raw = COMPOSE.read_text()
    for name in re.findall(r"\$\{([A-Z_]+):-\}", raw):
        if name in reads:
            # env_str("X", default) returns "" for X="": that would replace the default,
            # unless the default is "" itself (settings.py then picks the real one).
            assert reads[name] != "env_str" or literal_defaults.get(name) == "", name


def test_defaults_match_the_settings_defaults():
    defaults = settings_string_defaults()
    for name, default in re.findall(r"\$\{([A-Z_]+):?-([^}]*)\}", COMPOSE.read_text()):
        # An empty default means "let settings.py decide" (see the test above).
        if name in defaults and default != "":
            assert default == defaults[name], name


def test_settings_load_with_the_compose_environment(compose, tmp_path):
    env = service_env(compose["services"]["web"])
    # Paths inside the container do not exist here; everything else as the stack has it.
    env |= {
        "VIDSORT_DATA_DIR": str(tmp_path / "data"),
        "VIDSORT_LIBRARY": str(tmp_path / "library"),
        "VIDSORT_MODEL_CACHE": str(tmp_path / "models"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; import django; django.setup(); "
            "print(s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL.split('@')[1], "
            "s.VIDSORT_ACCEL_REDIRECT_PREFIX, s.DEBUG)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "vidsort_site.settings"} | env,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.split() == ["postgres", "redis:6379/0", "/_protected/library", "False"]


def test_every_variable_is_in_env_example_with_a_comment():
    lines = ENV_EXAMPLE.read_text().splitlines()
    documented = {}
    for index, line in enumerate(lines):
        if line and not line.startswith("#") and "=" in line:
            documented[line.split("=", 1)[0]] = index
    used = set()
    for path in (COMPOSE, EXPOSE):
        used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", path.read_text()))
    used.add("COMPOSE_PROFILES")
    assert used - set(documented) == set()
    for name in used:
        assert lines[documented[name] - 1].startswith("#"), f"{name} has no comment above it"


# Read by settings.py but deliberately not in .env.example: the stack fixes them, or they
# are for tests and benchmarks only.
NOT_IN_ENV_EXAMPLE = {
    "DATABASE_URL",  # assembled from POSTGRES_* in docker-compose.yml
    "CELERY_BROKER_URL",  # assembled from REDIS_* in docker-compose.yml
    "VIDSORT_LIBRARY",  # /library in the containers (LIBRARY_PATH is the host side)
    "VIDSORT_DATA_DIR",  # /data, the appdata volume
    "VIDSORT_MODEL_CACHE",  # /models, the models volume
    "STATIC_ROOT",  # /static, the static volume nginx serves
    "VIDSORT_ACCEL_REDIRECT_PREFIX",  # fixed in web; must match NGINX_ACCEL_PREFIX
    "CELERY_TASK_ALWAYS_EAGER",  # tests only: tasks run in the calling process
    "VIDSORT_SEARCH_RANDOM_TEXT",  # bench/api.py only: meaningless rankings
}


def test_every_setting_is_in_env_example_or_excluded_on_purpose():
    reads = set(settings_env_reads())
    documented = set(env_example())
    assert NOT_IN_ENV_EXAMPLE <= reads, NOT_IN_ENV_EXAMPLE - reads  # no stale exclusions
    assert reads - documented - NOT_IN_ENV_EXAMPLE == set()
    assert not NOT_IN_ENV_EXAMPLE & documented


def test_every_setting_in_env_example_reaches_every_vidsort_container(compose):
    for variable in set(settings_env_reads()) - NOT_IN_ENV_EXAMPLE:
        for name in APP_SERVICES:
            assert variable in service_env(compose["services"][name]), (name, variable)
    # An empty value in .env means the default of settings.py, not an empty setting.
    env = env_example() | {"VIDSORT_SCAN_INTERVAL_SECONDS": "120", "VIDSORT_HTTPS": "true"}
    web = service_env(load_compose(env)["services"]["web"])
    assert (web["VIDSORT_SCAN_INTERVAL_SECONDS"], web["VIDSORT_HTTPS"]) == ("120", "true")


def test_the_expose_override_publishes_only_on_the_given_address():
    env = env_example() | {"EXPOSE_ADDRESS": "10.1.2.3"}
    merged = load_compose(env, COMPOSE, EXPOSE)
    assert merged["services"]["postgres"]["ports"] == ["10.1.2.3:5432:5432"]
    assert merged["services"]["redis"]["ports"] == ["10.1.2.3:6379:6379"]
    with pytest.raises(MissingVariable, match="EXPOSE_ADDRESS"):
        load_compose(env_example(), EXPOSE)


# --- The image -----------------------------------------------------------------------------


def test_the_dockerfile():
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert re.search(r"^USER vidsort$", text, re.M)  # never root at run time
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    assert "ffmpeg" in text
    assert "ARG TORCH_VARIANT=cuda" in text
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert '--index-url "$TORCH_INDEX_URL"' in text
    # The pins stay in requirements.txt alone; the CPU variant reads them from there.
    requirements = (REPO / "requirements.txt").read_text()
    assert re.search(r"^torch==\d", requirements, re.M)
    assert re.search(r"^torchvision==\d", requirements, re.M)
    assert "grep -E '^(torch|torchvision)==' /tmp/requirements.txt" in text
    assert not re.search(r"torch==\d", text)


def test_dockerignore_keeps_local_state_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".venv", "data", ".env", ".git"):
        assert entry in ignored
    # The build stage reads docker/offline (CA bundle, wheels); the runtime image not.
    assert not any(entry == "docker" or entry.startswith("docker/") for entry in ignored)
    assert "COPY docker/offline/ /tmp/offline/" in DOCKERFILE.read_text()
    assert "rm -rf /src/docker/offline" in DOCKERFILE.read_text()


def test_the_dockerfile_builds_without_docker_hub_or_buildkit():
    text = DOCKERFILE.read_text()
    # A "# syntax=" line makes BuildKit fetch its frontend from Docker Hub; --mount and
    # heredocs need BuildKit, which Debian's docker-compose 1.29 does not use by default.
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    assert "--mount=" not in text and "<<" not in text
    # Every stage starts from PYTHON_IMAGE, so one build argument replaces Docker Hub.
    assert set(re.findall(r"^FROM (\S+)", text, re.M)) == {"${PYTHON_IMAGE}"}


def test_compose_passes_every_build_argument_the_dockerfile_declares(compose):
    declared = set(re.findall(r"^ARG ([A-Z_]+)", DOCKERFILE.read_text(), re.M))
    for name in APP_SERVICES:
        args = compose["services"][name]["build"]["args"]
        assert set(args) <= declared, set(args) - declared
    args = compose["services"]["web"]["build"]["args"]
    assert declared - set(args) == set(), "declared but not settable from .env"
    assert args["PYTHON_IMAGE"] == env_example()["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"


def test_every_image_can_be_replaced_from_env(compose):
    defaults = {
        "postgres": ("POSTGRES_IMAGE", "postgres:17-alpine"),
        "redis": ("REDIS_IMAGE", "redis:7-alpine"),
        "nginx": ("NGINX_IMAGE", "nginx:1.27-alpine"),
    }
    for service, (variable, default) in defaults.items():
        assert compose["services"][service]["image"] == default
        assert env_example()[variable] == default
    env = env_example() | {
        "POSTGRES_IMAGE": "mirror.lan/pg:17",
        "REDIS_IMAGE": "mirror.lan/redis:7",
        "NGINX_IMAGE": "mirror.lan/nginx:1",
        "PYTHON_IMAGE": "mirror.lan/python:3.11",
        "PIP_INDEX_URL": "https://pypi.lan/simple",
        "TORCH_INDEX_URL": "",
    }
    services = load_compose(env)["services"]
    assert services["postgres"]["image"] == "mirror.lan/pg:17"
    assert services["redis"]["image"] == "mirror.lan/redis:7"
    assert services["nginx"]["image"] == "mirror.lan/nginx:1"
    args = services["worker"]["build"]["args"]
    assert args["PYTHON_IMAGE"] == "mirror.lan/python:3.11"
    assert args["PIP_INDEX_URL"] == "https://pypi.lan/simple"
    assert args["TORCH_INDEX_URL"] == ""  # empty: the same index as everything else


def test_the_local_base_images_keep_the_upstream_contract():
    base = REPO / "docker" / "base"
    postgres = (base / "postgres" / "entrypoint.sh").read_text()
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PGDATA"):
        assert name in postgres
    assert "ENV PATH=/usr/lib/postgresql/" in (base / "postgres" / "Dockerfile").read_text()
    assert "PGDATA=/var/lib/postgresql/data" in (base / "postgres" / "Dockerfile").read_text()
    nginx = (base / "nginx" / "entrypoint.sh").read_text()
    assert "NGINX_ENVSUBST_FILTER" in nginx and "/etc/nginx/templates/" in nginx
    assert "wget" in (base / "nginx" / "Dockerfile").read_text()  # the compose healthcheck
    assert "WORKDIR /data" in (base / "redis" / "Dockerfile").read_text()
    assert "python-is-python3" in (base / "python" / "Dockerfile").read_text()
    build = (base / "build.sh").read_text()
    for variable in ("PYTHON_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE", "NGINX_IMAGE"):
        assert f"{variable}=" in build and variable in ENV_EXAMPLE.read_text()


def test_git_ignores_env_but_not_env_example():
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0

    assert ignored(".env")
    assert ignored("docker/offline/ca.crt") and ignored("docker/offline/wheels/x.whl")
    assert not ignored(".env.example") and not ignored("docker/offline/.gitkeep")


# --- Real tools, when installed -------------------------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize(
    "args",
    [[], ["--profile", "gpu"], ["-f", "docker-compose.yml", "-f", "docker/compose.expose.yml"]],
    ids=["default", "gpu-profile", "expose"],
)
def test_a_compose_implementation_accepts_the_file(args, tmp_path):
    command = _compose_command()
    if command is None:
        message = "no compose implementation installed (Debian: apt-get install docker-compose)"
        if IN_CI:  # test.sh installs Debian's docker-compose: CI must not skip this
            pytest.fail(message + " (CI=true: a missing tool fails the run)")
        pytest.skip(message)
    env_file = tmp_path / "env"
    env_file.write_text(
        ENV_EXAMPLE.read_text().replace("EXPOSE_ADDRESS=\n", "EXPOSE_ADDRESS=10.0.0.5\n")
    )
    process = subprocess.run(
        [*command, "--env-file", str(env_file), *args, "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
    )
    assert process.returncode == 0, process.stderr


def test_nginx_accepts_the_rendered_config(tmp_path):
    nginx = nginx_binary()
    if nginx is None:
        if IN_CI:
            pytest.fail("nginx is not installed (./scripts/system-deps.sh installs it)")
        pytest.skip("nginx is not installed (./scripts/system-deps.sh installs it)")
    (tmp_path / "static").mkdir()
    (tmp_path / "library").mkdir()
    config = render_nginx_config(
        tmp_path,
        port=18080,
        upstream="127.0.0.1:18000",
        static_root=tmp_path / "static",
        library_root=tmp_path / "library",
        accel_prefix="/_protected/library",
    )
    process = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 0, process.stderr
    assert "syntax is ok" in process.stderr
