# syntax=docker/dockerfile:1
# One image for every VidSort service: web (gunicorn), Celery workers, beat and Flower.
#   docker compose build                                   CUDA torch (default; the GPU worker needs it)
#   docker compose build --build-arg TORCH_VARIANT=cpu     CPU-only torch: about 1.5 GB smaller, for laptops
# (or set TORCH_VARIANT=cpu in .env). See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the pinned requirements ------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VARIANT=cuda
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
# torch and torchvision keep the pins from requirements.txt in both variants: the CPU
# wheels (2.x.y+cpu) satisfy "==2.x.y", so the second install leaves them in place.
RUN --mount=type=cache,target=/root/.cache/pip \
    set -eu; \
    case "$TORCH_VARIANT" in \
      cpu) grep -E '^(torch|torchvision)==' /tmp/requirements.txt > /tmp/torch.txt; \
           pip install --index-url https://download.pytorch.org/whl/cpu -r /tmp/torch.txt ;; \
      cuda) ;; \
      *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 1 ;; \
    esac; \
    pip install -r /tmp/requirements.txt

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
COPY . /app
RUN chmod 0755 /app/docker/entrypoint.sh /app/docker/healthcheck.py

USER vidsort
EXPOSE 8000
# The web check; compose gives workers, beat and Flower their own (see docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["python", "/app/docker/healthcheck.py", "web"]
ENTRYPOINT ["tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]
