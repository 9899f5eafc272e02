#!/bin/sh
# Where along the noise path does a model lose what the prompt asks for?
# Each held-out world video is noised to strength S and denoised with its own
# caption (`vidit generate --edit VIDEO --strength S`), and the judge scores
# the results: at small S the model only cleans up the video's own object and
# motion; at S = 1 it makes everything from noise (text to video). The
# strength at which a metric falls tells which noise levels the model has
# not learned.
#
#   scripts/eval-strength.sh [MODEL] [N] [STRENGTHS]   (from the repository root)
#
# N videos (default 40) from `vidit world --seed 4242` (as scripts/eval-default.sh),
# STRENGTHS default "0.2 0.5 0.8 1". Environment: VIDIT (default build/vidit),
# WORK (default out/eval-strength).
set -eu
MODEL=${1:-models/default.safetensors}
N=${2:-40}
STRENGTHS=${3:-0.2 0.5 0.8 1}
VIDIT=${VIDIT:-build/vidit}
W=${WORK:-out/eval-strength}

rm -rf "$W"
mkdir -p "$W"
"$VIDIT" world --out "$W/truth" --n "$N" --seed 4242 --max-objects 1 \
    --motions still,linear --size 64x64 --frames 17 --fps 8 --format y4m --quiet
sed -n 's/.*"caption":"\([^"]*\)".*/\1/p' "$W/truth/captions.jsonl" > "$W/prompts.txt"

for s in $STRENGTHS; do
    out="$W/s$s"
    mkdir -p "$out"
    cp "$W/truth/captions.jsonl" "$out/"
    i=0
    while IFS= read -r caption; do
        f=$(printf %06d "$i")
        "$VIDIT" generate "$caption" --model "$MODEL" --edit "$W/truth/$f.y4m" --strength "$s" \
            --seed "$i" -o "$out/$f.y4m" --quiet
        i=$((i + 1))
    done < "$W/prompts.txt"
    echo "## strength $s ($N videos)"
    "$VIDIT" eval "$out" --table | grep -E '^adherence'
    echo
done
