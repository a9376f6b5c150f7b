#!/usr/bin/env bash
# Prints the image to build deploy/Dockerfile FROM (its PYTHON_IMAGE build-arg), and on stderr
# which one it is: the Dockerfile's own base when it can be pulled, otherwise a Debian bookworm
# stand-in made with debootstrap (no Docker Hub here). The stand-in carries this host's CA
# bundle, with pip pointed at it: registry traffic may pass a TLS-intercepting proxy. It is kept
# in podman's storage, tagged by a hash of this script and the bundle, so later runs reuse it.
set -euo pipefail
REAL=${PRICING_BASE_IMAGE:-docker.io/library/python:3.11.11-slim-bookworm}
CA=/etc/ssl/certs/ca-certificates.crt

if podman image exists "$REAL" || timeout 90 podman pull -q "$REAL" >/dev/null 2>&1; then
  echo "base image: $REAL (the Dockerfile's own)" >&2
  echo "$REAL"
  exit 0
fi
key=$(cat "$0" "$CA" | sha256sum | cut -c1-12)
tag=localhost/pricing-base-bookworm:$key
if podman image exists "$tag"; then
  echo "base image: $tag (stand-in, cached: $REAL cannot be pulled here)" >&2
  echo "$tag"
  exit 0
fi
echo "base image: building stand-in $tag with debootstrap ($REAL cannot be pulled here)" >&2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,passwd \
  bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
cp "$CA" "$root/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "$tag"
