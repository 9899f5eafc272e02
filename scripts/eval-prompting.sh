#!/bin/sh
# Measures vidit's ways of prompting (image to video, extension, editing,
# connecting) on held-out toy-world videos and prints one markdown table.
#
#   scripts/eval-prompting.sh MODEL [N]        (from the repository root)
#
# N videos (default 20; seed 4242, never trained on: the training sets use
# other seeds), 64x64, 17 frames, one still or linearly moving object. For
# video i, with its own caption and seed i:
#   i2v      its first frame as --image -> PSNR of the generated first frame
#            against that image; `vidit eval` adherence of the 17 frames.
#   extend   its first 9 frames, --extend to a 17-frame clip (9 + 12 new
#            frames) -> `vidit eval` velocity error and direction accuracy.
#   edit     the whole video, --edit --strength $STRENGTH with the caption's
#            object colour changed (red -> orange, orange -> yellow, ...,
#            skipping the background's colour) -> `vidit eval` colour and
#            direction accuracy against the new caption.
#   connect  first 9 frames of video i, last 9 of video i+1 (mod N), a
#            17-frame clip -> PSNR of the clip's first 5 frames against A's
#            last 5 (the given prefix) and of its last 4 against B's frames
#            1..4 (the given suffix; 17 frames = 5 latents: a = 1, b = 1).
# PSNR means treat identical frames ("inf") as 100 dB.
# Environment: VIDIT (default build/vidit), STRENGTH (0.6), WORK (a folder
# to keep the videos in; default a temporary one, removed at the end).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 MODEL [N]" >&2
    exit 2
fi
MODEL=$1
N=${2:-20}
VIDIT=${VIDIT:-build/vidit}
STRENGTH=${STRENGTH:-0.6}
if [ -n "${WORK:-}" ]; then
    mkdir -p "$WORK"
    W=$WORK
    KEEP=1
else
    W=$(mktemp -d)
    KEEP=0
fi
GEN="$VIDIT generate --model $MODEL --size 64x64 --quiet"

"$VIDIT" world --seed 4242 --max-objects 1 --motions still,linear --n "$N" --size 64x64 \
    --frames 17 --format y4m --out "$W/world" --quiet
mkdir -p "$W/i2v" "$W/ext" "$W/edit" "$W/conn" "$W/in"
: > "$W/i2v/captions.jsonl"
: > "$W/ext/captions.jsonl"
: > "$W/edit/captions.jsonl"
: > "$W/psnr.txt"

# The caption of every line of captions.jsonl, in order (world captions hold
# no quotes or backslashes).
sed 's/.*"caption":"\([^"]*\)".*/\1/' "$W/world/captions.jsonl" > "$W/captions.txt"

# The object's and the background's colours from the truth of every line.
sed 's/.*"background":"\([a-z]*\)".*"objects":\[{"colour":"\([a-z]*\)".*/\2 \1/' \
    "$W/world/captions.jsonl" > "$W/colours.txt"

# The caption with the object's colour word replaced by the next palette
# colour that is neither the object's nor the background's.
recolour() {
    printf '%s\n' "$1" | awk -v obj="$2" -v bg="$3" '
    BEGIN {
        n = split("red orange yellow green cyan blue purple pink white gray black", pal, " ")
        for (k = 1; k <= n; k++) if (pal[k] == obj) break
        for (j = 1; j < n; j++) {
            new = pal[(k + j - 1) % n + 1]
            if (new != bg) break
        }
    }
    {
        for (w = 1; w <= NF; w++) {
            word = $w
            tail = ""
            if (match(word, /[,:;.]+$/)) { tail = substr(word, RSTART); word = substr(word, 1, RSTART - 1) }
            if (word == "grey") word = "gray"
            if (word == obj) {
                $w = new tail
                # the article before it follows the new colour: a/an
                if (w > 1 && ($(w - 1) == "a" || $(w - 1) == "an"))
                    $(w - 1) = (new ~ /^[aeiou]/) ? "an" : "a"
                break
            }
        }
        print
    }'
}

i=0
while [ "$i" -lt "$N" ]; do
    f=$(printf '%06d' "$i")
    j=$(( (i + 1) % N ))
    g=$(printf '%06d' "$j")
    cap=$(sed -n "$((i + 1))p" "$W/captions.txt")
    cols=$(sed -n "$((i + 1))p" "$W/colours.txt")
    new=$(recolour "$cap" ${cols% *} ${cols#* })
    src="$W/world/$f.y4m"
    # image to video
    "$VIDIT" video convert "$src" "$W/in/$f.png" --frames 1 2>/dev/null
    $GEN "$cap" --image "$W/in/$f.png" --frames 17 --seed "$i" -o "$W/i2v/$f.y4m"
    p=$("$VIDIT" video psnr "$W/i2v/$f.y4m" "$W/in/$f.png" --frames 1)
    echo "i2v $p" >> "$W/psnr.txt"
    printf '{"file":"%s.y4m","caption":"%s"}\n' "$f" "$cap" >> "$W/i2v/captions.jsonl"
    # extension of the first 9 frames
    "$VIDIT" video convert "$src" "$W/in/${f}_9.y4m" --frames 9 2>/dev/null
    $GEN "$cap" --extend "$W/in/${f}_9.y4m" --frames 17 --seed "$i" -o "$W/ext/$f.y4m"
    printf '{"file":"%s.y4m","caption":"%s"}\n' "$f" "$cap" >> "$W/ext/captions.jsonl"
    # editing with another object colour
    $GEN "$new" --edit "$src" --strength "$STRENGTH" --seed "$i" -o "$W/edit/$f.y4m"
    printf '{"file":"%s.y4m","caption":"%s"}\n' "$f" "$new" >> "$W/edit/captions.jsonl"
    # connecting video i's start to video j's end
    "$VIDIT" video convert "$W/world/$g.y4m" "$W/in/${g}_end.y4m" --start 8 2>/dev/null
    $GEN "$cap" --connect "$W/in/${f}_9.y4m" "$W/in/${g}_end.y4m" --frames 17 --seed "$i" \
        -o "$W/conn/$f.y4m"
    p=$("$VIDIT" video psnr "$W/conn/$f.y4m" "$W/in/${f}_9.y4m" --a-start 0 --b-start -5 --frames 5)
    echo "conn_start $p" >> "$W/psnr.txt"
    p=$("$VIDIT" video psnr "$W/conn/$f.y4m" "$W/in/${g}_end.y4m" --a-start -4 --b-start 1 --frames 4)
    echo "conn_end $p" >> "$W/psnr.txt"
    i=$((i + 1))
done

# metric NAME from `vidit eval DIR --table` (its "mean" column)
metric() {
    "$VIDIT" eval "$1" --table 2>/dev/null | awk -v m="$2" '$2 == m { print $3 }'
}
psnr_mean() {
    awk -v k="$1" '$1 == k { v = ($2 == "inf") ? 100 : $2; s += v; n++ }
        END { if (n) printf "%.2f", s / n; else print "n/a" }' "$W/psnr.txt"
}

echo "| mode | measure | value |"
echo "|---|---|---|"
echo "| image to video | PSNR of the first frame vs the image (dB) | $(psnr_mean i2v) |"
echo "| image to video | every constraint (adherence) | $(metric "$W/i2v" every_constraint) |"
echo "| image to video | colour accuracy | $(metric "$W/i2v" colour) |"
echo "| extension (9 -> 21 frames) | velocity error | $(metric "$W/ext" velocity_error) |"
echo "| extension (9 -> 21 frames) | direction accuracy | $(metric "$W/ext" direction) |"
echo "| edit (strength $STRENGTH, new colour) | colour accuracy vs the new caption | $(metric "$W/edit" colour) |"
echo "| edit (strength $STRENGTH, new colour) | direction accuracy | $(metric "$W/edit" direction) |"
echo "| connect (17 frames) | PSNR of the first 5 frames vs A's last 5 (dB) | $(psnr_mean conn_start) |"
echo "| connect (17 frames) | PSNR of the last 4 frames vs B's frames 1..4 (dB) | $(psnr_mean conn_end) |"
echo
echo "$N held-out videos (vidit world --seed 4242), model $MODEL, default sampling settings."
[ "$KEEP" = 1 ] || rm -rf "$W"
