/* Loss weights that make small objects count.
 *
 * In the toy world an object covers a few percent of a frame, so a plain
 * mean loss is nearly all background: both the VAE's reconstruction loss
 * (in pixels) and the DiT's flow loss (in latents) learn the object late.
 * These weights lift the positions that stand out from the frame's
 * background, and their neighbours (the edges, where blur costs a mean loss
 * little but the object's shape a lot). */
#ifndef VD_TRAIN_LOSS_WEIGHTS_H
#define VD_TRAIN_LOSS_WEIGHTS_H

/* Weights w (B, C, T, H, W) for x (B, C, T, H, W): per frame, the
 * background is the per-channel median of the frame's border positions
 * (exact for plain backgrounds, a mild emphasis on whatever stands out from
 * the border elsewhere); a position where some channel differs from it by
 * more than threshold stands out. w = 1 + extra at positions that stand out
 * and at the 8 around them, 1 elsewhere, the same in every channel.
 * scratch holds 2 (H + W) + H W floats. */
void vd_standout_weights(float *w, const float *x, int B, int C, int T, int H, int W,
                         float extra, float threshold, float *scratch);

#endif
