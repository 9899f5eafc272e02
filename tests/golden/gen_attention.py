"""Goldens for attention (forward, lse, q/k/v gradients) and 3D RoPE.

Attention is computed in float64 by explicit softmax (so a fully masked
query row can be defined as zeros, as vidit does) and cross-checked against
torch.nn.functional.scaled_dot_product_attention where no row is fully
masked. Layouts are vidit's: q (B, Nq, H, D), k/v (B, Nk, H, D), out
(B, Nq, H*D), lse (B, H, Nq), key_mask (B, Nk) with 1 = attend.
The C test (tests/test_attention.c) applies 2e-5 abs + 1e-4 rel."""
import math

import torch
import torch.nn.functional as F

import common

TOL = "atol 2e-5 rtol 1e-4"


def attention_ref(q, k, v, mask, scale):
    """q (B, Nq, H, D), k/v (B, Nk, H, D), mask (B, Nk) bool -> out, lse."""
    qh, kh, vh = (t.permute(0, 2, 1, 3) for t in (q, k, v))  # (B, H, N, D)
    s = scale * qh @ kh.transpose(-1, -2)                      # (B, H, Nq, Nk)
    s = s.masked_fill(~mask[:, None, None, :], float("-inf"))
    lse = torch.logsumexp(s, dim=-1)                           # (B, H, Nq)
    p = torch.exp(s - lse[..., None])
    p = torch.nan_to_num(p, nan=0.0)                           # all-masked rows
    o = p @ vh                                                 # (B, H, Nq, D)
    B, H, Nq, D = o.shape
    return o.permute(0, 2, 1, 3).reshape(B, Nq, H * D), lse


def attention_case(name, B, Nq, Nk, H, D, pad, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, Nq, H, D, generator=g, dtype=torch.float64)
    k = torch.randn(B, Nk, H, D, generator=g, dtype=torch.float64)
    v = torch.randn(B, Nk, H, D, generator=g, dtype=torch.float64)
    dout = torch.randn(B, Nq, H * D, generator=g, dtype=torch.float64)
    # Inputs are rounded to float32 first so C and torch see the same values.
    q, k, v = (t.float().double().requires_grad_() for t in (q, k, v))
    dout = dout.float().double()
    mask = torch.ones(B, Nk, dtype=torch.bool)
    for b, n in enumerate(pad):
        if n:
            mask[b, Nk - n:] = False
    scale = 1.0 / math.sqrt(D)
    out, lse = attention_ref(q, k, v, mask, scale)
    out.backward(dout)

    if all(n < Nk for n in pad):
        sd = F.scaled_dot_product_attention(
            q.detach().transpose(1, 2), k.detach().transpose(1, 2), v.detach().transpose(1, 2),
            attn_mask=mask[:, None, None, :], scale=scale)
        sd = sd.transpose(1, 2).reshape(B, Nq, H * D)
        assert torch.allclose(sd, out.detach(), atol=1e-10), name

    common.save(name, {
        "q": q, "k": k, "v": v, "dout": dout, "mask": mask.to(torch.int32),
        "out": out, "lse": lse, "dq": q.grad, "dk": k.grad, "dv": v.grad,
    }, {"B": B, "Nq": Nq, "Nk": Nk, "H": H, "D": D, "scale": repr(scale),
        "tolerance": TOL})


def rope3d_ref(x, T, Hh, Ww, theta, t0, h0, w0):
    """The same definition as src/ops/cpu/rope.c, written in torch float64:
    D/2 pairs split as dh = dw = pairs // 3, dt = the rest; pair j of a group
    of g pairs turns by pos * theta^(-j / g)."""
    B, N, H, D = x.shape
    pairs = D // 2
    dh = dw = pairs // 3
    dt = pairs - dh - dw
    tt, hh, ww = torch.meshgrid(torch.arange(T), torch.arange(Hh), torch.arange(Ww),
                                indexing="ij")
    pos = [(tt.reshape(-1) + t0).double(), (hh.reshape(-1) + h0).double(),
           (ww.reshape(-1) + w0).double()]
    angles = []
    for p, gsz in zip(pos, (dt, dh, dw)):
        freq = theta ** (-torch.arange(gsz, dtype=torch.float64) / gsz)
        angles.append(p[:, None] * freq[None, :])
    ang = torch.cat(angles, dim=1)                   # (N, D/2)
    c, s = torch.cos(ang), torch.sin(ang)
    xp = x.reshape(B, N, H, pairs, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c, s = c[None, :, None, :], s[None, :, None, :]
    y = torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).reshape(B, N, H, D)
    return y, torch.cos(ang), torch.sin(ang)


def main():
    # cross attention, sizes not multiples of a tile, one batch padded
    attention_case("attention_cross", B=2, Nq=37, Nk=19, H=2, D=8, pad=[0, 6], seed=1)
    # several tiles of queries and keys (tiles are 64 x 128), with padding
    attention_case("attention_tiles", B=1, Nq=150, Nk=140, H=2, D=8, pad=[13], seed=2)
    # a batch whose keys are all padding: zeros out, lse = -inf, no gradient
    attention_case("attention_allmasked", B=2, Nq=5, Nk=7, H=1, D=4, pad=[2, 7], seed=3)

    T, Hh, Ww, B, H, D = 2, 3, 4, 2, 2, 16
    theta, t0, h0, w0 = 10000.0, 1, 0, 2
    g = torch.Generator().manual_seed(4)
    x = torch.randn(B, T * Hh * Ww, H, D, generator=g).double()
    y, c, s = rope3d_ref(x, T, Hh, Ww, theta, t0, h0, w0)
    common.save("rope3d", {"x": x, "y": y, "cos": c, "sin": s},
                {"T": T, "Hh": Hh, "Ww": Ww, "B": B, "H": H, "D": D, "theta": theta,
                 "t0": t0, "h0": h0, "w0": w0, "tolerance": "atol 1e-5 rtol 1e-5"})


if __name__ == "__main__":
    main()
