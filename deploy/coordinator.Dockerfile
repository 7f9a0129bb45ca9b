# Coordinator image: `distributed train --cluster ...`; the default command trains ResNet-20 on the mounted
# Fashion-MNIST once MIN_WORKERS workers have joined. Build from the repository root:
#   docker build -f deploy/coordinator.Dockerfile -t distributed-coordinator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/ src/
RUN dotnet publish src/Cli/Distributed.Cli.csproj -c Release -o /app --nologo -v quiet

# GLIBCXX patch: a no-op on the .NET 10 runtime images (their libstdc++ is new enough).
FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
COPY deploy/entrypoint.sh /entrypoint.sh
ENV DISTRIBUTED_CLUSTER__HOSTNAME=0.0.0.0 \
    DISTRIBUTED_CLUSTER__PUBLICHOSTNAME=coordinator \
    DISTRIBUTED_CLUSTER__PORT=4053 \
    DISTRIBUTED_CLUSTER__TENSORPORT=4054 \
    DOTNET_gcServer=0
EXPOSE 4053 4054
ENTRYPOINT ["/entrypoint.sh", "dotnet", "/app/distributed.dll"]
CMD ["train", "--cluster", "--min-workers", "2", "--data", "/data/fashion-mnist", "--output", "/runs/compose"]
