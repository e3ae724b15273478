#!/usr/bin/env bash
# Build the four base images of the VidSort stack from Debian packages, for hosts that
# cannot pull from Docker Hub (docs/deploy.md, "Without Docker Hub"). Needs a Debian
# mirror (or apt proxy) and, without any Debian image at hand, debootstrap (run as root).
#
#   docker/base/build.sh              build, then print the .env lines that use them
#   DEBIAN_IMAGE=debian:bookworm-slim docker/base/build.sh     start from that image
#
# DEBIAN_IMAGE: the Debian bookworm image to start from. Default: debian:bookworm-slim
#   when it is present or can be pulled, else one made here with debootstrap.
# DEBIAN_MIRROR: the mirror debootstrap and apt use (default http://deb.debian.org/debian).
# PREFIX: the images' name prefix (default vidsort-local).
# DOCKER: the docker command (default docker).
# Running it again is quick: Docker's build cache keeps every unchanged step.
set -euo pipefail
cd "$(dirname "$0")"

DOCKER=${DOCKER:-docker}
PREFIX=${PREFIX:-vidsort-local}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

log() { printf '[base] %s\n' "$*" >&2; }

debian_image() {
  if [ -n "${DEBIAN_IMAGE:-}" ]; then
    echo "$DEBIAN_IMAGE"
    return
  fi
  local own="$PREFIX/debian:$SUITE"
  if $DOCKER image inspect "$own" > /dev/null 2>&1; then
    echo "$own"
    return
  fi
  if $DOCKER image inspect debian:bookworm-slim > /dev/null 2>&1 \
    || timeout 60 $DOCKER pull -q debian:bookworm-slim > /dev/null 2>&1; then
    echo debian:bookworm-slim
    return
  fi
  command -v debootstrap > /dev/null || {
    log "no Debian image and no debootstrap: apt-get install debootstrap, or set DEBIAN_IMAGE"
    exit 1
  }
  local root
  root=$(mktemp -d /var/tmp/vidsort-rootfs.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  log "debootstrap $SUITE from $MIRROR (about a minute)"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" > "$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    exit 1
  }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | $DOCKER import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$own" > /dev/null
  rm -rf "$root"
  trap - EXIT
  echo "$own"
}

BASE=$(debian_image)
log "Debian image: $BASE"

# BuildKit when this docker client has it built in or as buildx; the classic builder
# otherwise. Host networking: a daemon without its default bridge can still build.
if $DOCKER buildx version > /dev/null 2>&1 \
  || [ "$($DOCKER version --format '{{.Client.Version}}' | cut -d. -f1)" -lt 23 ]; then
  export DOCKER_BUILDKIT=1
else
  export DOCKER_BUILDKIT=0
fi

build() {
  local name=$1 tag=$2
  log "building $PREFIX/$name:$tag"
  $DOCKER build --quiet --network host --build-arg "DEBIAN_IMAGE=$BASE" \
    --label org.vidsort.base-image=1 -t "$PREFIX/$name:$tag" "$name" > /dev/null
}
build python 3.11-bookworm
build postgres 15-bookworm
build redis 7-bookworm
build nginx 1.22-bookworm

cat << ENV
PYTHON_IMAGE=$PREFIX/python:3.11-bookworm
POSTGRES_IMAGE=$PREFIX/postgres:15-bookworm
REDIS_IMAGE=$PREFIX/redis:7-bookworm
NGINX_IMAGE=$PREFIX/nginx:1.22-bookworm
ENV
