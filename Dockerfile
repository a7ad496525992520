# statusrelay in a container: the watcher and its dashboard, state on a volume.
#
#   docker build -t statusrelay .
#   docker run -d --name statusrelay -p 127.0.0.1:8080:8080 \
#     -v statusrelay-state:/var/lib/statusrelay -v "$PWD/statusrelay.toml:/etc/statusrelay/statusrelay.toml:ro" \
#     -e STATUSRELAY_HTTP_TOKEN=… statusrelay
#
# The config must set state = "/var/lib/statusrelay/statusrelay.db" and, because the container
# listens on 0.0.0.0, http_token = "env:STATUSRELAY_HTTP_TOKEN".

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p statusrelay \
 && install -D -m 0755 target/release/statusrelay /out/statusrelay \
 && install -d -m 0700 /out/state

# glibc, CA certificates and a non-root user (65532), no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/statusrelay /usr/local/bin/statusrelay
COPY --from=build --chown=65532:65532 /out/state /var/lib/statusrelay
USER 65532:65532
WORKDIR /var/lib/statusrelay
VOLUME ["/var/lib/statusrelay"]
EXPOSE 8080
# mimalloc commits its arenas as they fill and returns freed memory at once (peak RSS,
# BENCHMARKS.md).
ENV MIMALLOC_ARENA_EAGER_COMMIT=0 MIMALLOC_PURGE_DELAY=0
HEALTHCHECK --interval=30s --timeout=6s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/statusrelay", "health", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/statusrelay"]
CMD ["run", "--config", "/etc/statusrelay/statusrelay.toml", "--listen", "0.0.0.0:8080"]
