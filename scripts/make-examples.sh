#!/bin/sh
# Makes the README's example pictures (docs/img/*.gif) with a model: four
# text-to-video prompts, then every other way of prompting on inputs from
# the toy world (seed 4242, never trained on).
#
#   sh scripts/make-examples.sh [MODEL]        (from the repository root)
#
# Environment: VIDIT (default build/vidit).
set -eu
MODEL=${1:-models/default.safetensors}
VIDIT=${VIDIT:-build/vidit}
OUT=docs/img
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
GEN="$VIDIT generate --model $MODEL --quiet --scale 2"
mkdir -p "$OUT"

# Text to video: the prompts under the README's first table, seeds 0..3.
i=0
for p in "a red circle moves to the right on a blue background" \
         "a large yellow square on a black background" \
         "a green triangle moves up on a white background" \
         "a small white circle moves down on a purple background"; do
    $GEN "$p" --seed $i -o "$OUT/t2v_$i.gif"
    i=$((i + 1))
done

# Inputs: two held-out world videos and the first frame of the first.
"$VIDIT" world --seed 4242 --max-objects 1 --motions linear --n 2 --size 64x64 --frames 17 \
    --format y4m --out "$W/world" --quiet
A="$W/world/000000.y4m"
B="$W/world/000001.y4m"
caption() { sed -n "$1p" "$W/world/captions.jsonl" | sed 's/.*"caption":"\([^"]*\)".*/\1/'; }
truth() { sed -n "1p" "$W/world/captions.jsonl" | sed "s/.*\"objects\":\[{\"$1\":\"\([a-z]*\)\".*/\1/"; }
CA=$(caption 1)
BG=$(sed -n 1p "$W/world/captions.jsonl" | sed 's/.*"background":"\([a-z]*\)".*/\1/')
OBJ=$(truth colour)
for NEW in green orange pink; do
    [ "$NEW" != "$OBJ" ] && [ "$NEW" != "$BG" ] && break
done
WORD=$OBJ
[ "$OBJ" = gray ] && WORD='gr[ae]y'
EDIT=$(printf '%s\n' "$CA" | sed "s/\b$WORD\b/$NEW/; s/\b\([Aa]\) \([aeiou]\)/\1n \2/")
ffmpeg -loglevel error -y -i "$A" -frames:v 1 "$W/a0.png"

$GEN "$CA" --image "$W/a0.png" --seed 0 -o "$OUT/mode_image.gif"
$GEN "$CA" --extend "$A" --seed 0 -o "$OUT/mode_extend.gif"
$GEN "$EDIT" --edit "$A" --strength 0.6 --seed 0 -o "$OUT/mode_edit.gif"
$GEN "$CA" --connect "$A" "$B" --seed 0 -o "$OUT/mode_connect.gif"
$GEN "a red circle moves to the right on a blue background" --loop --seed 0 -o "$OUT/mode_loop.gif"
ffmpeg -loglevel error -y -i "$A" -vf scale=128:128:flags=neighbor "$OUT/mode_input_a.gif"
ffmpeg -loglevel error -y -i "$B" -vf scale=128:128:flags=neighbor "$OUT/mode_input_b.gif"
echo "input A: $CA"
echo "edit prompt: $EDIT"
echo "wrote $OUT/t2v_0..3.gif, $OUT/mode_*.gif"
