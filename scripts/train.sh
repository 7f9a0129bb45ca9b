#!/usr/bin/env bash
# The main job: installs the dataset if missing, builds, and trains (default: ResNet-20 on Fashion-MNIST with
# one in-process worker per core). Any `train` option may follow, e.g. scripts/train.sh --epochs 15.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dotnet build -c Release src/Cli -v quiet -nologo
exec dotnet src/Cli/bin/Release/net10.0/distributed.dll train "$@"
