# wsd in a container: build on Debian bookworm with the -dev packages, run on
# bookworm-slim with only the runtime libraries, as an unprivileged user.
#
#   make image     (podman or docker; makes debian:bookworm with debootstrap
#                   when no registry has it; podman needs --format docker to
#                   keep the HEALTHCHECK)
#   docker compose -f deploy/docker-compose.prod.yml up -d     (docs/deploy.md)

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config libuv1-dev libjansson-dev libhiredis-dev \
      libjwt-dev libwebsockets-dev libssl-dev libpq-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY common/ common/
COPY supervisor/ supervisor/
COPY worker/ worker/
COPY ctl/ ctl/
COPY init/ init/
COPY man/ man/
COPY docs/ docs/
COPY ecosystem/ ecosystem/
# A private object folder; install lays out bin, man pages, the example
# ecosystem and the init files under /out, copied as they are below.
RUN make -j"$(nproc)" O=/tmp/build BINDIR=/tmp/build/bin all \
 && make O=/tmp/build BINDIR=/tmp/build/bin install DESTDIR=/out PREFIX=/usr/local \
 && rm -rf /out/etc/init.d /out/usr/local/lib/systemd

FROM debian:bookworm-slim
# libwebsockets loads its libuv event-loop plugin at run time.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1 libjansson4 libhiredis0.14 libjwt0 libwebsockets17 \
      libwebsockets-evlib-uv libssl3 libpq5 libyaml-0-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/wsd \
      --create-home --shell /usr/sbin/nologin wsd \
 && chmod 0700 /var/lib/wsd
COPY --from=build /out/ /
COPY deploy/ecosystem.docker.json /etc/wsd/ecosystem.json
ENV WSD_HOME=/var/lib/wsd
USER wsd
WORKDIR /var/lib/wsd
EXPOSE 3002
# wsd answers on its control socket once it runs; the worker's own /health
# (Redis link included) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["wsctl", "ping"]
# SIGTERM: wsd stops every instance gracefully (drain, close 1001), exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["wsd", "--foreground"]
CMD ["-f", "/etc/wsd/ecosystem.json", "--env", "production"]
