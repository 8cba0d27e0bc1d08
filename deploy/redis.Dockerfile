# Redis and Sentinel from Debian's own packages, on the same base as the wsd
# image, for hosts without an image registry (the container tests use it).
# It runs as root like the official image does: the compose commands read the
# secret, write the configuration, then drop to the redis user (setpriv).
#
#   deploy/image.sh       (REDIS_IMAGE, default wsd-redis:latest)
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      redis-server redis-sentinel \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis -m 0750 /data
WORKDIR /data
EXPOSE 6379 26379
CMD ["redis-server", "--protected-mode", "no"]
