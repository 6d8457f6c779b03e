#!/usr/bin/env bash
# `make test-image` runs this first: a Docker engine that answers, and a local Debian base image.
#
# Docker Hub cannot be reached from the project's machines, so the Dockerfile's default base
# (python:3.11-slim-bookworm) cannot be pulled. Debian's own packages can: debootstrap builds a
# minimal bookworm (its python3 is 3.11, the version the Dockerfile's default base carries) and
# `docker import` turns it into an image the Dockerfile takes as its BASE_IMAGE build argument.
# The base is built once per tag; delete the tag (`docker rmi TAG`) to build it again.
#
# Usage: tests/image/prepare.sh TAG   (prints nothing but progress; exits non-zero on failure)
set -euo pipefail

tag=${1:?usage: prepare.sh BASE_IMAGE_TAG}
suite=bookworm
# ca-certificates: pip (at build time) and Google's APIs (at run time) speak TLS; netbase: the
# /etc/services and /etc/protocols that python:*-slim carries and socket look-ups expect.
packages=python3,python3-venv,ca-certificates,netbase

# --- the engine: Debian's docker.io, started in the background if nothing answers
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "prepare.sh: install docker.io and debootstrap (Debian packages), or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log=${TMPDIR:-/tmp}/courtside-dockerd.log
  if pgrep -x dockerd >/dev/null; then
    # Starting or stopping: a second one would refuse to start over the first one's pid file.
    echo "prepare.sh: waiting for the running dockerd"
  else
    echo "prepare.sh: starting dockerd (log: $log)"
    nohup dockerd >"$log" 2>&1 &
  fi
  # dockerd answers within seconds; poll it rather than sleeping a fixed time.
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "prepare.sh: dockerd did not start, see $log" >&2; exit 1; }
fi

# --- the base image, once per tag
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "prepare.sh: base image $tag is there"
  exit 0
fi
root=$(mktemp -d "${TMPDIR:-/tmp}/courtside-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "prepare.sh: debootstrap $suite ($packages) into $root"
# DEBIAN_MIRROR, when set, replaces debootstrap's default mirror.
debootstrap --variant=minbase --include="$packages" "$suite" "$root" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >/dev/null
# Trust what this machine trusts: a CA it added the Debian way (/usr/local/share/ca-certificates,
# e.g. an egress proxy's) joins the base's bundle, and pip is pointed at that bundle, because
# the build's `pip install` goes out through the same egress as the machine's own pip.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root"/usr/local/share/ca-certificates/
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root"/etc/pip.conf
# What a base image does not need: downloaded packages, package lists, documentation.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/*
# An imported image has no configuration at all: give it the PATH and UTF-8 locale that
# python:3.11-slim-bookworm sets, so the Dockerfile behaves the same on either base.
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$tag" >/dev/null
echo "prepare.sh: base image $tag built"
