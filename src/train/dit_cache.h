/* The latent cache of text-to-video training: every training video encoded
 * once by the VAE (the posterior mean), normalised per channel to
 * (z - mean) / std, and kept in memory and in one safetensors file of the
 * run folder, so the training loop never runs the VAE.
 *
 * A video of F frames contributes its first 1 + tc floor((F - 1) / tc)
 * frames (tc: the VAE's time compression); videos whose sides are not
 * multiples of `multiple` (the VAE's spatial compression times the DiT's
 * patch) are skipped and counted. Latents of one (T, H, W) form a bucket.
 *
 * The file is keyed by a hash of the VAE file's bytes and of every data
 * folder (its captions.jsonl and each video's path, size and modification
 * time): a cache whose key matches is read back; any other is rebuilt.
 * The normalisation uses the VAE file's latent statistics when it has
 * them, else statistics measured over the cache itself. */
#ifndef VD_TRAIN_DIT_CACHE_H
#define VD_TRAIN_DIT_CACHE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "models/vae.h"
#include "train/progress.h"
#include "vidit.h"

typedef struct vd_latent_cache {
    int n, Z, skipped;
    int *T, *H, *W;        /* latent extent per item */
    int *bucket;           /* bucket index per item */
    size_t *offset;        /* floats into data */
    float *data;
    char **captions;
    double fps;            /* of the first video */
    float mean[VD_VAE_MAX_LATENT], std[VD_VAE_MAX_LATENT];
    uint64_t key;
    /* Buckets: distinct (T, H, W) in order of first appearance. */
    int n_buckets;
    int bT[16], bH[16], bW[16], bcount[16];
    int *bitems;           /* items grouped by bucket; bstart[b] is the first */
    int bstart[16];
} vd_latent_cache;

/* Loads `path` when its key matches, else encodes the data folders with the
 * VAE (loaded from vae_path) and writes `path`. *rebuilt (may be NULL) tells
 * which. progress (may be NULL) gets notes. stop (may be NULL) is polled
 * between videos: when it becomes non-zero the encoding stops, nothing is
 * written, and the result is VD_ERR_ARG with the message "cancelled". */
vd_status vd_latent_cache_open(vd_latent_cache *c, const char *path, const char *const *dirs,
                               int n_dirs, const char *vae_path, int multiple,
                               vd_progress *progress, const volatile sig_atomic_t *stop,
                               int *rebuilt, vd_error *err);
void vd_latent_cache_release(vd_latent_cache *c);

/* The key the data and VAE would get now. */
vd_status vd_latent_cache_key(const char *const *dirs, int n_dirs, const char *vae_path,
                              uint64_t *key, vd_error *err);

#endif
