#!/bin/sh
# Builds the libFuzzer target for the safetensors reader with clang and runs
# it for $1 seconds over the seed corpus (fuzz/corpus/safetensors).
set -eu
secs=${1:-30}
out=build-fuzz
mkdir -p $out fuzz/artifacts
srcs="fuzz/fuzz_safetensors.c src/core/safetensors.c src/core/json.c src/core/tensor.c src/core/error.c src/core/alloc.c src/core/strbuf.c src/core/utf8.c"
clang -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Iinclude -Isrc $srcs -o $out/fuzz_safetensors
work=$out/corpus
rm -rf "$work"; mkdir -p "$work"
cp fuzz/corpus/safetensors/* "$work"/
status=0
$out/fuzz_safetensors -max_total_time="$secs" -max_len=4096 -artifact_prefix=fuzz/artifacts/ \
    -print_final_stats=1 "$work" > $out/fuzz.log 2>&1 || status=$?
tail -n 5 $out/fuzz.log
if [ "$status" -ne 0 ]; then
    echo "fuzz: the safetensors reader failed (exit $status); see $out/fuzz.log and fuzz/artifacts/"
    exit 1
fi
echo "fuzz: safetensors reader ran ${secs}s with no crash"
