# OHO's container image: the worker and the command line (which also serves the
# web pages) in one small image, built from this repository.
#
#   docker build -t oho:latest .
#   docker run --env-file oho.env oho:latest                       # the worker
#   docker run --env-file oho.env -p 8080:8080 oho:latest \
#       /usr/local/bin/starter serve --addr 0.0.0.0:8080           # the pages and the API
#   docker run --env-file migrate.env oho:latest /usr/local/bin/starter migrate
#
# The migrations, the pages' templates, styles and words, and the time zone
# database are embedded in the binaries: the image needs no other file. The
# settings are environment variables (README, Configuration; docs/deploy.md).

# The Go of go.mod's go line.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# The modules first, so that a change of the code reuses their layer.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# What 'make build' runs, without cgo so that the binaries need no C library.
ENV CGO_ENABLED=0
RUN go build -o bin/ ./worker ./starter

# distroless "static": CA certificates (for PostgreSQL, Temporal Cloud, SMTP and
# identity providers over TLS), /etc/passwd with the user nonroot (65532), no
# shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/worker /src/bin/starter /usr/local/bin/
USER nonroot:nonroot
# 8080: 'starter serve --addr 0.0.0.0:8080'; 9464: OHO_METRICS_ADDRESS=0.0.0.0:9464.
EXPOSE 8080 9464
# SIGTERM stops either program cleanly (the worker finishes the work in hand,
# the server the requests in flight).
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/worker"]
