#!/usr/bin/env bash
# Regenerates src/Quant.Net.Onnx/Protobuf/Onnx.g.cs from onnx.proto3 (copied from github.com/onnx/onnx, Apache-2.0,
# with one added line: option csharp_namespace = "Quant.Net.Onnx.Protobuf").
# protoc comes from the Google.Protobuf.Tools NuGet package (same version as the Google.Protobuf runtime we reference).
set -euo pipefail
cd "$(dirname "$0")"
version=$(grep -oP 'Google.Protobuf" Version="\K[^"]+' ../../Directory.Packages.props)
tools="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version/tools"
[ -x "$tools/linux_x64/protoc" ] || { echo "restore Google.Protobuf.Tools $version first (any project referencing it)"; exit 1; }
"$tools/linux_x64/protoc" --proto_path=. --proto_path="$tools" --csharp_out=../../src/Quant.Net.Onnx/Protobuf \
  --csharp_opt=internal_access,file_extension=.g.cs onnx.proto3
