# syntax=docker/dockerfile:1
#
# One image per orderflow app, all from this file:
#
#   docker build --build-arg APP=orders -t orderflow/orders:dev .      (`make images` builds every app)
#
# The binary is static (CGO_ENABLED=0, -trimpath) and runs as the distroless "nonroot" user (65532) on a
# read-only root filesystem, as k8s/base/patches/dapr-service.yaml requires; it needs no shell, no CA
# bundle of its own (it only talks to its sidecar over loopback) and no writable directory.
#
# The base images are pinned by tag: the Go toolchain of go.mod, and distroless "static" on Debian 12 as the
# "nonroot" variant. To pin them by digest as well (recommended in CI), pass the digests that
# `docker buildx imagetools inspect <image>` prints:
#   --build-arg GO_IMAGE=golang:1.26.8@sha256:<digest>
#   --build-arg RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:<digest>
ARG GO_IMAGE=golang:1.26.8
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
# The module and build caches persist across builds (BuildKit cache mounts), so only changed packages rebuild.
COPY go.mod go.sum ./
COPY apps/ apps/
COPY internal/ internal/
ARG APP
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    if [ -z "$APP" ] || [ ! -f "apps/$APP/main.go" ]; then \
      echo "build with --build-arg APP=<app>, one of: $(ls apps | tr '\n' ' ')" >&2; exit 1; \
    fi && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
      go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/app ./apps/$APP

FROM ${RUNTIME_IMAGE}
ARG APP
LABEL org.opencontainers.image.title="orderflow-${APP}" \
      org.opencontainers.image.description="orderflow ${APP} service (runs beside a Dapr 1.18 sidecar)"
COPY --from=build /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]
