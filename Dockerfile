# roomcast: a small runtime image. Build stage on Debian 12 with the project's own install
# script; runtime is `scratch` holding only the binary, the shared libraries it links, and web/
# (with web/vendor/, the page's npm libraries, fetched here).
#
#   podman build --format docker -t roomcast .   (or docker build; the docker format keeps
#                                                  the HEALTHCHECK, OCI drops it)
#   podman run --rm -p 3000:3000 -e ROOMCAST_PUBLIC_URL=http://<this host's LAN IP>:3000 roomcast

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --node && rm -rf /var/lib/apt/lists/*
COPY . .
# The page's JavaScript libraries, pinned in scripts/web-vendor/package-lock.json (npm ci checks
# their integrity hashes), into web/vendor/.
# A build behind a TLS-intercepting proxy may mount the host's CA bundle at /run/host-ca.crt
# (podman build --volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro …, as
# tests/container/smoke.sh does); npm then trusts what the host trusts. Nothing of it is kept.
RUN if [ -r /run/host-ca.crt ]; then export npm_config_cafile=/run/host-ca.crt; fi; \
    scripts/web-vendor.sh
# The unit tests run here (UNIT_TESTS=0 skips them: CI's smoke build, whose release stage ran
# every test on the same sources minutes before); the integration suite runs in CI.
ARG UNIT_TESTS=1
RUN cmake --preset release -DROOMCAST_BUILD_BENCH=OFF \
 && if [ "$UNIT_TESTS" = 1 ]; then \
      cmake --build --preset release --target roomcast roomcast_unit_tests \
      && ctest --preset release -L unit --output-on-failure; \
    else cmake --build --preset release --target roomcast; fi
# Gather the binary, its shared libraries (as ldd resolves them) and the web client.
RUN mkdir -p /rootfs/app /rootfs/tmp \
 && cp build/release/roomcast /rootfs/app/roomcast \
 && strip /rootfs/app/roomcast \
 && cp -r web /rootfs/app/web \
 && ldd build/release/roomcast | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' \
    | xargs -I{} cp --parents -L {} /rootfs/ \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
ENV PORT=3000 HOST=0.0.0.0 ROOMCAST_WEB_ROOT=/app/web ROOMCAST_LOG_FORMAT=json
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 CMD ["/app/roomcast", "--healthcheck"]
ENTRYPOINT ["/app/roomcast"]
