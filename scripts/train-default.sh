#!/bin/sh
# Re-creates models/default.safetensors, the default text-to-video model,
# from nothing but this repository: toy-world data, the VAE (unless
# models/vae.safetensors exists), then DiT stages, the first three each beside
# a stage of the VAE's decoder:
#   1. the whole VAE (configs/vae.json)
#   2. the DiT (configs/t2v_default.json) | the decoder (configs/vae_decoder.json)
#   3. the DiT with the object-weighted loss (configs/t2v_objects.json,
#      --init from stage 2) | the decoder with foreground weights and latent
#      noise (configs/vae_decoder_fg.json, --init from stage 2)
#   4. the DiT again at half the learning rate with timesteps shifted
#      towards noise, bf16 products where the CPU has them
#      (configs/t2v_objects2.json) | the decoder on whole 17-frame clips
#      (configs/vae_decoder_long.json)
#   5. the last decoder into models/vae.safetensors, and the DiT re-exported
#      with it
#   6. the DiT with 1x2x2 patches (configs/t2v_patch2.json, --init from
#      stage 4 where the shapes agree) into models/default.safetensors.
# DIT_BUDGET and DEC_BUDGET (seconds) stop the DiT and decoder stages early;
# run again to go on.
#
#   sh scripts/train-default.sh
#
# Every stage resumes: finished data folders are kept (captions.jsonl is
# written last, atomically), `vidit vae train` and `vidit train` continue
# from their checkpoints, and the latent cache is reused while the data and
# the VAE are unchanged. After an interruption, run the same command again.
# Sized for a 2-core machine: see the report in runs/*/log.csv.
set -eu
cd "$(dirname "$0")/.."

VIDIT=build/vidit
# Idle OpenMP threads sleep instead of spinning: about 10% slower on an idle
# machine, but a run that shares the cores with anything else (a build, a
# test) otherwise slows down 2-3x at every barrier (measured on the VAE).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# The world the default model knows: one object, still or moving in a
# straight line, on a plain background.
WORLD="--max-objects 1 --motions still,linear --fps 8 --format y4m --quiet"

make -j2 "$VIDIT"
mkdir -p data/t2v models runs

world() { # folder count seed size frames
    if [ ! -f "data/t2v/$1/captions.jsonl" ]; then
        rm -rf "data/t2v/$1"
        $VIDIT world --out "data/t2v/$1" --n "$2" --seed "$3" --size "$4" --frames "$5" $WORLD
    fi
}
world 64x64x17 2000 1 64x64 17
world 64x48x17 600 2 64x48 17
world 64x64x9 600 3 64x64 9
# Held-out prompts for the samples judged during training: a seed never
# trained on.
world heldout 16 999 64x64 17

install() { # run-folder file -> models/file, atomically
    cp "$1" "models/$2.tmp"
    mv "models/$2.tmp" "models/$2"
}

# 1. The VAE (about 55 minutes on 2 cores).
if [ ! -f models/vae.safetensors ]; then
    $VIDIT vae train --config configs/vae.json --data data/t2v/64x64x17 --out runs/vae
    install runs/vae/vae.safetensors vae.safetensors
fi

# A DiT stage on one core and, beside it on the other, a decoder stage:
# dit-config dit-init(or "") dec-config dec-init dec-run
pair() {
    $VIDIT train --config "$1" ${2:+--init "$2"} --threads 1 ${MATMUL:+--matmul $MATMUL} \
        ${DIT_BUDGET:+--time-budget $DIT_BUDGET} &
    dit=$!
    if [ ! -f "$5/done" ]; then
        OMP_NUM_THREADS=1 $VIDIT vae train --config "$3" --init "$4" --data data/t2v/64x64x17 \
            --out "$5" ${DEC_BUDGET:+--time-budget $DEC_BUDGET}
        touch "$5/done"
    fi
    wait $dit
}

# Stops (to be run again) when a DiT stage's run has not finished: run stage
finished() {
    if [ ! -f "$1/final.safetensors" ]; then
        echo "train-default: stage $2 stopped early (DIT_BUDGET); run again to go on" >&2
        exit 0
    fi
}

# A new DiT run reuses the previous one's latent cache (same data, same
# latent space): from-run to-run
seed_cache() {
    mkdir -p "$2"
    if [ ! -f "$2/latents.safetensors" ] && [ -f "$1/latents.safetensors" ]; then
        cp "$1/latents.safetensors" "$2/"
    fi
}

# 2. The DiT on the VAE's latents, and at the same time, one core each, the
# VAE's decoder alone (configs/vae_decoder.json): its encoder is frozen, so
# the latents the DiT learns stay the same while reconstructions sharpen.
# Small products gain little from a second thread, so two one-thread jobs
# get more done than one two-thread job after the other.
pair configs/t2v_default.json "" configs/vae_decoder.json models/vae.safetensors runs/vae_dec

# 3. The DiT again with the object-weighted loss (small objects count as
# much as the background around them), from stage 2's weights; beside it the
# decoder with foreground weights and noisy latents, so that it draws the
# DiT's slightly-off latents as clean shapes. Same latent space throughout.
finished runs/t2v_default 2
seed_cache runs/t2v_default runs/t2v_objects
pair configs/t2v_objects.json runs/t2v_default/model.safetensors configs/vae_decoder_fg.json \
    runs/vae_dec/vae.safetensors runs/vae_fg

# 4. The DiT once more, from stage 3's weights, at half the learning rate,
# with timesteps shifted towards noise (where stage 3 had not learned to
# start a motion: scripts/eval-strength.sh) and bf16 products where the CPU
# has them (1.5x faster steps); beside it the decoder on whole 17-frame
# clips: trained on 9-frame clips (3 latent frames), it decoded latent
# frames 3 and 4 at 28.9 and 25.5 dB against 31.3 for 1 and 2 (`vidit vae
# eval` prints PSNR by latent frame).
finished runs/t2v_objects 3
seed_cache runs/t2v_objects runs/t2v_objects2
grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && MATMUL=bf16
pair configs/t2v_objects2.json runs/t2v_objects/model.safetensors configs/vae_decoder_long.json \
    runs/vae_fg/vae.safetensors runs/vae_long
MATMUL=

# 5. The last decoder goes into models/vae.safetensors; running the finished
# DiT run again re-exports it with that VAE.
finished runs/t2v_objects2 4
if ! cmp -s runs/vae_long/vae.safetensors models/vae.safetensors; then
    install runs/vae_long/vae.safetensors vae.safetensors
    $VIDIT train --config configs/t2v_objects2.json
fi

# 6. The DiT on patches of 1x2x2 latent values (320 tokens, each 8x8
# pixels) instead of 1x4x4 (80 tokens of 16x16 pixels): its blocks, text
# encoder and timestep MLP start from stage 4 (`--init` takes the tensors
# whose shapes agree), the patch embedding and the final layer start fresh.
# Both cores, bf16 products where the CPU has them.
grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && MATMUL=bf16
$VIDIT train --config configs/t2v_patch2.json --init runs/t2v_objects2/final.safetensors \
    ${MATMUL:+--matmul $MATMUL} ${DIT_BUDGET:+--time-budget $DIT_BUDGET}
MATMUL=
finished runs/t2v_patch2 6
install runs/t2v_patch2/final.safetensors default.safetensors
$VIDIT generate "a red circle moves right on a blue background" -o runs/t2v_patch2/example.mp4 --scale 4
