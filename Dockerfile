# The release image, ghcr.io/cachewarm/cachewarm:VERSION, built by
# GoReleaser (dockers_v2 in .goreleaser.yaml), which puts each platform's
# static binary at $TARGETPLATFORM/cachewarm in the build context.
#
# distroless/static: CA certificates (rediss://, https origins), tzdata and
# a nonroot user, no package manager. Plus a static busybox as /bin/sh and
# /bin/cat, and nothing else of it: examples/k8s-indexed-job.yaml runs
# cachewarm from a short sh script (the retry of its own shard, SIGTERM
# handed on, the report printed to the log). busybox picks the applet from
# the name it is run as, so two plain copies need no RUN, and a cross-platform
# build no emulator. The musl image's busybox is static: that image has no
# libc.
FROM busybox:1.37-musl AS busybox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=busybox /bin/busybox /bin/sh
COPY --from=busybox /bin/busybox /bin/cat
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/cachewarm /usr/bin/cachewarm
USER nonroot:nonroot
ENTRYPOINT ["/usr/bin/cachewarm"]
