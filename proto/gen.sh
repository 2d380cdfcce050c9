#!/bin/sh
# Regenerates chain/chainpb from proto/. Needs protoc (Debian: protobuf-compiler)
# and protoc-gen-go v1.36.11 (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11).
# The generated code is committed: building idledger needs neither.
set -e
cd "$(dirname "$0")/.."
protoc --proto_path=proto --go_out=. --go_opt=module=github.com/idledger/idledger proto/idledger/v1/*.proto
