#!/usr/bin/env bash
# Builds the wsd image (Dockerfile) and the Redis image
# (deploy/redis.Dockerfile), with docker when a Docker engine answers, else
# with podman and the private deploy/podman/containers.conf.  Without a
# debian:bookworm image, one is made from Debian's own mirror with
# debootstrap (no image registry is needed): debian:bookworm, and
# debian:bookworm-slim without documentation.
#
# An image is built again only when its inputs changed: it carries the label
# wsd.inputs, a hash of its Dockerfile and of every file that one copies.
#
#   deploy/image.sh          build what is missing or stale
#   deploy/image.sh tests    the same, but exit 3 with the reason on the last
#                            line when this machine cannot run a container
#   deploy/image.sh engine   print the engine command
#
#   WSD_IMAGE (wsd:latest)  REDIS_IMAGE (wsd-redis:latest)
#   DEBIAN_MIRROR (http://deb.debian.org/debian)
set -eu
cd "$(dirname "$0")/.."
WSD_IMAGE=${WSD_IMAGE:-wsd:latest}
REDIS_IMAGE=${REDIS_IMAGE:-wsd-redis:latest}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MODE=${1:-build}
CANNOT=3	# the exit status of "this machine cannot run containers"

cannot() {	# a reason to skip (tests) or to fail (build)
	echo "image.sh: $*" >&2
	[ "$MODE" = tests ] && exit $CANNOT
	exit 1
}

# A Docker engine that answers, else podman.
image_engine() {
	if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
		echo docker
	elif command -v podman >/dev/null 2>&1; then
		echo "env CONTAINERS_CONF=$PWD/deploy/podman/containers.conf podman"
	else
		cannot "neither a Docker engine nor podman (make deps installs podman)"
	fi
}

# A hash of the files a build reads: its Dockerfile and what that copies.
image_inputs() {	# $@ = files and folders
	find "$@" -type f ! -path 'ecosystem/.env' ! -path 'ecosystem/logs/*' \
	    -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

image_label() {	# $1 = image: its wsd.inputs label, or nothing
	$E image inspect --format '{{ index .Config.Labels "wsd.inputs" }}' "$1" 2>/dev/null || true
}

# debootstrap's minbase bookworm, imported as the base of the build stage
# (debian:bookworm) and, without documentation, of the images
# (debian:bookworm-slim).
image_base() {
	$E image inspect debian:bookworm >/dev/null 2>&1 && return 0
	command -v debootstrap >/dev/null || cannot "no debian:bookworm image and no debootstrap (make deps)"
	local dir start
	dir=$(mktemp -d "${TMPDIR:-/tmp}/wsd-rootfs.XXXXXX")
	start=$(date +%s)
	echo "image.sh: making debian:bookworm with debootstrap from $MIRROR"
	if ! debootstrap --variant=minbase bookworm "$dir" "$MIRROR" > "$dir.log" 2>&1; then
		tail -5 "$dir.log" >&2
		rm -rf "$dir" "$dir.log"
		cannot "debootstrap could not make the base image from $MIRROR"
	fi
	# As Debian's images do: apt keeps no downloaded packages nor caches
	# in a layer, and fetches no translations.
	cat > "$dir/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	Dir::Cache::pkgcache "";
	Dir::Cache::srcpkgcache "";
	EOF
	echo 'Acquire::Languages "none";' > "$dir/etc/apt/apt.conf.d/docker-no-languages"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/*
	tar -C "$dir" -c . | $E import - debian:bookworm >/dev/null
	# -slim as Debian's own: no documentation, manuals or translations,
	# now or from packages installed later (dpkg path-exclude).
	cat > "$dir/etc/dpkg/dpkg.cfg.d/slim" <<-'EOF'
	path-exclude /usr/share/doc/*
	path-include /usr/share/doc/*/copyright
	path-exclude /usr/share/man/*
	path-exclude /usr/share/groff/*
	path-exclude /usr/share/info/*
	path-exclude /usr/share/lintian/*
	path-exclude /usr/share/locale/*
	EOF
	find "$dir/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
	rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/groff/* "$dir"/usr/share/info/* \
	    "$dir"/usr/share/lintian/* "$dir"/usr/share/locale/*
	tar -C "$dir" -c . | $E import - debian:bookworm-slim >/dev/null
	rm -rf "$dir" "$dir.log"
	echo "image.sh: debian:bookworm made in $(( $(date +%s) - start )) s"
}

# Whether a container runs here at all (privileges, cgroups, runtime).
image_probe() {
	local out
	out=$($E run --rm --network=host debian:bookworm true 2>&1) ||
	    cannot "a container cannot run on this machine: $(echo "$out" | tail -1)"
}

image_build() {	# $1 = image, $2 = Dockerfile, $3... = the other inputs
	local img=$1 file=$2 sum start
	local opts=()
	shift 2
	sum=$(image_inputs "$file" "$@")
	if [ "$(image_label "$img")" = "$sum" ]; then
		echo "image.sh: $img is up to date ($sum)"
		return 0
	fi
	start=$(date +%s)
	# podman: the host network for apt (no bridge), the local base only,
	# and the Docker format, which keeps HEALTHCHECK (OCI drops it).
	case "$E" in *podman*) opts=(--network=host --pull=never --format docker) ;; esac
	$E build "${opts[@]}" --label "wsd.inputs=$sum" -f "$file" -t "$img" . ||
	    { echo "image.sh: building $img failed" >&2; exit 1; }
	echo "image.sh: $img built in $(( $(date +%s) - start )) s ($sum)"
}

E=$(image_engine)
if [ "$MODE" = engine ]; then
	echo "$E"
	exit 0
fi
# One build at a time: test files running in parallel wait for each other.
exec 9> "${TMPDIR:-/tmp}/wsd-image.lock"
flock 9
image_base
[ "$MODE" != tests ] || image_probe
image_build "$REDIS_IMAGE" deploy/redis.Dockerfile
image_build "$WSD_IMAGE" Dockerfile Makefile common supervisor worker ctl \
    init man docs ecosystem deploy/ecosystem.docker.json
