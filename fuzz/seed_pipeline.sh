#!/usr/bin/env bash
# Seeds the pipeline target with small real captures (shared test captures and lab fixtures).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/pipeline
for f in ../../shared/captures/*/*.pcap ../tests/fixtures/lab/*.pcap; do
  [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "corpus/pipeline/$(basename "$f")"
done
ls corpus/pipeline | wc -l
