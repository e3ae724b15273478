# One image for every VidSort service: web (gunicorn), Celery workers, beat and Flower.
#   docker compose build                                   CUDA torch (default; the GPU worker needs it)
#   docker compose build --build-arg TORCH_VARIANT=cpu     CPU-only torch: about 1.5 GB smaller, for laptops
# (or set TORCH_VARIANT=cpu in .env). See docs/deploy.md.
# No BuildKit-only syntax: Docker's classic builder (Debian's docker-compose 1.29 without
# DOCKER_BUILDKIT=1) builds it too, and nothing is fetched from Docker Hub but the base
# image, which PYTHON_IMAGE replaces (docs/deploy.md, "Without Docker Hub").

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the pinned requirements ------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VARIANT=cuda
# Where the CPU variant takes torch and torchvision from: PyTorch's CPU index, a mirror
# of it, or empty for the same place as every other package.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# A PyPI mirror, an extra index, or PIP_NO_INDEX=1 to install only from
# docker/offline/wheels. Empty: pypi.org.
ARG PIP_INDEX_URL=
ARG PIP_EXTRA_INDEX_URL=
ARG PIP_NO_INDEX=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
COPY requirements-ocr.txt /tmp/requirements-ocr.txt
# Optional (docs/deploy.md, "Without Docker Hub"): docker/offline/ca.crt, a CA bundle pip
# trusts instead of its own (a network that intercepts TLS), and docker/offline/wheels/,
# wheels pip looks in first. Only this stage sees them; the runtime image leaves them out.
COPY docker/offline/ /tmp/offline/
# torch and torchvision keep the pins from requirements.txt in both variants: the CPU
# wheels (2.x.y+cpu) satisfy "==2.x.y", so the second install leaves them in place.
# Empty index variables are unset: pip would read an empty PIP_INDEX_URL as an index at "".
RUN set -eu; \
    [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    [ -n "$PIP_EXTRA_INDEX_URL" ] || unset PIP_EXTRA_INDEX_URL; \
    [ -n "$PIP_NO_INDEX" ] || unset PIP_NO_INDEX; \
    if [ -s /tmp/offline/ca.crt ]; then export PIP_CERT=/tmp/offline/ca.crt; fi; \
    if [ -d /tmp/offline/wheels ]; then export PIP_FIND_LINKS=/tmp/offline/wheels; fi; \
    case "$TORCH_VARIANT" in \
      cpu) grep -E '^(torch|torchvision)==' /tmp/requirements.txt > /tmp/torch.txt; \
           pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} -r /tmp/torch.txt ;; \
      cuda) ;; \
      *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 1 ;; \
    esac; \
    pip install -r /tmp/requirements.txt; \
    pip install --no-deps -r /tmp/requirements-ocr.txt

# --- source: the code, without the build-only files of docker/offline ------------------
FROM ${PYTHON_IMAGE} AS source
COPY . /src
RUN rm -rf /src/docker/offline

# --- runtime ----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# The container user's ids. Match them to the owner of your video folder (id -u, id -g)
# so that sorting can move files in the bind-mounted library.
ARG VIDSORT_UID=1000
ARG VIDSORT_GID=1000
ARG TORCH_VARIANT=cuda
LABEL org.opencontainers.image.title="VidSort" \
      org.opencontainers.image.description="Sort a folder of short videos with CLIP and active learning" \
      org.vidsort.torch-variant="${TORCH_VARIANT}"

# ffmpeg: probing and decoding; tini: reaps ffmpeg children and forwards signals.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --non-unique --gid "${VIDSORT_GID}" vidsort \
 && useradd --non-unique --uid "${VIDSORT_UID}" --gid "${VIDSORT_GID}" \
      --home-dir /home/vidsort --create-home --shell /usr/sbin/nologin vidsort \
 && mkdir -p /data /models /static /library \
 && chown vidsort:vidsort /data /models /static /library

COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=vidsort_site.settings \
    VIDSORT_DATA_DIR=/data \
    VIDSORT_LIBRARY=/library \
    VIDSORT_MODEL_CACHE=/models \
    STATIC_ROOT=/static \
    HF_HOME=/models/huggingface \
    TORCH_HOME=/models/torch

WORKDIR /app
# Owned by root and read-only for the app user: the code cannot be changed at run time.
COPY --from=source /src /app
RUN chmod 0755 /app/docker/entrypoint.sh /app/docker/healthcheck.py

USER vidsort
EXPOSE 8000
# The web check; compose gives workers, beat and Flower their own (see docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["python", "/app/docker/healthcheck.py", "web"]
ENTRYPOINT ["tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]
