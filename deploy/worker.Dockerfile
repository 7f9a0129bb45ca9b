# Worker node image: `distributed-worker`, which joins the cluster at DISTRIBUTED_CLUSTER__SEEDNODES and trains
# the shards its coordinator assigns. Build from the repository root; docker-compose.yml does:
#   docker build -f deploy/worker.Dockerfile -t distributed-worker .
# Same layout as coordinator.Dockerfile: official SDK and runtime-deps images by default, both build arguments, and
# a `prebuilt` target for an application published on the host.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY deploy/entrypoint.sh /entrypoint.sh
# Bind everything inside the container; advertise the container's own IP (entrypoint.sh) so that every replica
# of a scaled service has an address of its own.
ENV DISTRIBUTED_CLUSTER__HOSTNAME=0.0.0.0 \
    DISTRIBUTED_CLUSTER__SEEDNODES=coordinator:4053
ENTRYPOINT ["/entrypoint.sh", "/app/distributed-worker"]

FROM runtime AS prebuilt
ARG PUBLISHED=published
COPY ${PUBLISHED}/native/ /app/
COPY ${PUBLISHED}/managed/ /app/

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/ src/
RUN dotnet publish src/Worker/Distributed.Worker.csproj -c Release -r linux-x64 --self-contained \
      -o /app --nologo -v quiet

FROM runtime AS final
COPY --from=build /app /app/
