#!/usr/bin/env bash
# Debian packages the test suite needs: ffmpeg (test videos), chromium + chromium-driver
# (browser tests), nginx and docker-compose (the full-stack checks), espeak-ng and
# fonts-dejavu-core (text-stage test media). Installed only when missing.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
# Validates docker-compose.yml in tests (no Docker engine needed for `config`).
command -v docker-compose >/dev/null || need+=(docker-compose)
# Test media for the text stage (mlpipeline/textmedia.py): spoken sentences and burned-in words.
command -v espeak-ng >/dev/null || need+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Please install these Debian packages first: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
