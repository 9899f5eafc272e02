#!/bin/sh
# Measures the text-to-video quality of a model on held-out prompts and
# prints the judge's tables: ground truth, the model, and a baseline that
# judges each ground-truth video against another video's caption.
#
#   scripts/eval-default.sh [MODEL] [N]        (from the repository root)
#
# N prompts (default 200) come from `vidit world --seed 4242` (the training
# sets use seeds 1, 2 and 3): one still or linearly moving object, 64x64,
# 17 frames, 8 fps, the default model's world. The model makes one video per
# prompt (seed = its line number, default sampling settings) and `vidit
# eval` judges them against their prompts.
# Environment: VIDIT (default build/vidit), SEED (4242), WORK (folder kept
# for inspection; default out/eval-default), TRUTH (an existing dataset
# folder whose first N videos are the held-out set, in place of the world
# made from SEED; for the experiments' own worlds, e.g. data/exp/easy4_held).
set -eu
MODEL=${1:-models/default.safetensors}
N=${2:-200}
VIDIT=${VIDIT:-build/vidit}
SEED=${SEED:-4242}
W=${WORK:-out/eval-default}

rm -rf "$W"
mkdir -p "$W"
if [ -n "${TRUTH:-}" ]; then
    mkdir -p "$W/truth"
    head -n "$N" "$TRUTH/captions.jsonl" > "$W/truth/captions.jsonl"
    sed -n 's/.*"file":"\([^"]*\)".*/\1/p' "$W/truth/captions.jsonl" |
        while read -r f; do ln -s "$(cd "$TRUTH" && pwd)/$f" "$W/truth/$f"; done
    SEED="from $TRUTH"
else
    "$VIDIT" world --out "$W/truth" --n "$N" --seed "$SEED" --max-objects 1 \
        --motions still,linear --size 64x64 --frames 17 --fps 8 --format y4m --quiet
fi

# One prompt per line, taken from the JSON lines' "caption" member (the
# world's captions hold no quotes or backslashes).
sed -n 's/.*"caption":"\([^"]*\)".*/\1/p' "$W/truth/captions.jsonl" > "$W/prompts.txt"
if [ "$(wc -l < "$W/prompts.txt")" -ne "$N" ]; then
    echo "$0: could not read $N captions from $W/truth/captions.jsonl" >&2
    exit 1
fi

start=$(date +%s)
"$VIDIT" generate --model "$MODEL" --prompts "$W/prompts.txt" -o "$W/generated" \
    --format y4m --quiet
end=$(date +%s)

# Baseline: every ground-truth video judged against the next video's caption.
awk 'NR == FNR { cap[NR] = $0; n = NR; next }
     { sub(/"caption":"[^"]*"/, "\"caption\":\"" cap[FNR % n + 1] "\""); print }' \
    "$W/prompts.txt" "$W/truth/captions.jsonl" > "$W/truth/other_captions.jsonl"

echo "## ground truth ($N videos, seed $SEED, y4m)"
"$VIDIT" eval "$W/truth" --table
echo
echo "## $MODEL ($N prompts; generation took $((end - start)) s in all)"
"$VIDIT" eval "$W/generated" --table
echo
echo "## baseline: ground truth judged against another video's caption"
"$VIDIT" eval "$W/truth/other_captions.jsonl" --table
