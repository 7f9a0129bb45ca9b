# Worker node image: `distributed-worker`, which joins the cluster at DISTRIBUTED_CLUSTER__SEEDNODES and trains
# the shards its coordinator assigns. Build from the repository root:
#   docker build -f deploy/worker.Dockerfile -t distributed-worker .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/ src/
RUN dotnet publish src/Worker/Distributed.Worker.csproj -c Release -o /app --nologo -v quiet

# The .NET 10 runtime images ship a libstdc++ with GLIBCXX_3.4.32, so the build's libLibTorchSharp patch is a
# no-op there (it only acts where the host library is older, as on Debian 12).
FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
COPY deploy/entrypoint.sh /entrypoint.sh
# Bind everything inside the container; advertise the container's own IP (entrypoint.sh) so that every replica
# of a scaled service has an address of its own.
ENV DISTRIBUTED_CLUSTER__HOSTNAME=0.0.0.0 \
    DISTRIBUTED_CLUSTER__SEEDNODES=coordinator:4053 \
    DOTNET_gcServer=0
ENTRYPOINT ["/entrypoint.sh", "dotnet", "/app/distributed-worker.dll"]
