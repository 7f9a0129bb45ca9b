# Coordinator image: `distributed train --cluster ...` (the parameter server, the dashboard and /metrics on 5080).
# Build from the repository root; docker-compose.yml does (`docker compose build`):
#   docker build -f deploy/coordinator.Dockerfile -t distributed-coordinator .
# The default target publishes inside the official .NET SDK image. Both base images are build arguments, so a
# machine that cannot pull them builds from its own (deploy/container-cluster-test.sh: `--target prebuilt` with an
# application published on the host, on a Debian base made with debootstrap).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

# What every variant shares. The application is self-contained (its .NET runtime is in /app), so the base only
# needs the native dependencies (glibc, libstdc++, OpenSSL for TLS): runtime-deps, or a Debian minbase.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY deploy/entrypoint.sh /entrypoint.sh
ENV DISTRIBUTED_CLUSTER__HOSTNAME=0.0.0.0 \
    DISTRIBUTED_CLUSTER__PUBLICHOSTNAME=coordinator \
    DISTRIBUTED_CLUSTER__PORT=4053 \
    DISTRIBUTED_CLUSTER__TENSORPORT=4054
EXPOSE 4053 4054 5080
# entrypoint.sh ends in exec, so the coordinator is PID 1 and gets `docker stop`'s SIGTERM itself: it finishes the
# step in flight, writes checkpoint.bin and exits 143.
ENTRYPOINT ["/entrypoint.sh", "/app/distributed"]
CMD ["train", "--cluster", "--min-workers", "2", "--data", "/data/fashion-mnist", "--output", "/runs/compose", \
     "--dashboard-address", "0.0.0.0"]

# `--target prebuilt --build-arg PUBLISHED=DIR`: DIR (inside the build context) holds
# `dotnet publish -r linux-x64 --self-contained` output made on the host. Native libraries first: they are most of
# the bytes and change only with the package versions, so a source change rebuilds only the small second layer.
FROM runtime AS prebuilt
ARG PUBLISHED=published
COPY ${PUBLISHED}/native/ /app/
COPY ${PUBLISHED}/managed/ /app/

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/ src/
# build/PatchLibTorchSharp.targets runs after publish: a no-op on the official images (their libstdc++ has
# GLIBCXX_3.4.32), the needed patch on a Debian 12 build image.
# ErrorOnDuplicatePublishOutputFiles: Training references the worker executable, whose apphost and .json files come
# both from its RID-less and its linux-x64 build; the coordinator image never starts the worker.
RUN dotnet publish src/Cli/Distributed.Cli.csproj -c Release -r linux-x64 --self-contained \
      -p:ErrorOnDuplicatePublishOutputFiles=false -o /app --nologo -v quiet

FROM runtime AS final
COPY --from=build /app /app/
