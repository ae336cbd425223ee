# Runtime image of dfft-registry.
#
# Nothing here is pulled from a registry: the base image is built locally
# from Debian packages by deploy/base-image.sh (debootstrap + docker import),
# and the `dfft` binary is built on the host with cargo (no Rust toolchain
# image can be pulled on the machines this targets, and the host build
# reuses its cargo cache). The build context is a directory holding that
# binary and the health check; deploy/build-image.sh prepares it (debug info
# stripped, symbols kept) and runs:
#
#   docker build -f Dockerfile -t dfft-registry:latest CONTEXT
#
# Build arguments: BASE (the base image tag), DFFT_BIN and HEALTHCHECK
# (paths inside the context). The binary links glibc dynamically: build it on
# a host whose glibc is not newer than the base's (Debian 12: glibc 2.36).
#
# Run: data on the /data volume (keys are created there on first start),
# listens on 0.0.0.0:8080 as the unprivileged user dfft (uid 10001).
# The default command is `dfft serve` with DFFT_DATA=/data and
# DFFT_LISTEN=0.0.0.0:8080, i.e. `dfft serve --data /data --listen 0.0.0.0:8080`;
# set DFFT_ORIGIN (required on first start) and the DFFT_* limits in the
# environment. See docs/operations.md.

ARG BASE=dfft-base:bookworm
FROM ${BASE}

# dfft (10001) runs the registry and owns /data; dfft-monitor (10002, group
# dfft) runs `dfft monitor` and dfft-witness (10003, group dfft) runs `dfft
# witness` on /witness: each can read the others' public files (log.vkey,
# witness*.vkey) through group permission but not their 0600 private keys.
RUN groupadd --system --gid 10001 dfft \
 && useradd --system --uid 10001 --gid dfft --home-dir /data --no-create-home --shell /usr/sbin/nologin dfft \
 && useradd --system --uid 10002 --gid dfft --home-dir /monitor --no-create-home --shell /usr/sbin/nologin dfft-monitor \
 && useradd --system --uid 10003 --gid dfft --home-dir /witness --no-create-home --shell /usr/sbin/nologin dfft-witness \
 && install -d -o dfft -g dfft -m 0750 /data \
 && install -d -o dfft-monitor -g dfft -m 0700 /monitor \
 && install -d -o dfft-witness -g dfft -m 0750 /witness

LABEL org.opencontainers.image.title="dfft-registry" \
      org.opencontainers.image.description="Verifiable registry of cross-border data-transfer recognitions" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV DFFT_DATA=/data \
    DFFT_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info \
    NO_COLOR=1
USER dfft:dfft
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/dfft-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/dfft"]
CMD ["serve"]

# Last, so that rebuilding for a new binary reuses every layer above.
ARG DFFT_BIN=dfft
ARG HEALTHCHECK=healthcheck
COPY ${DFFT_BIN} /usr/local/bin/dfft
COPY ${HEALTHCHECK} /usr/local/bin/dfft-healthcheck
