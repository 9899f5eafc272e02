"""Goldens for the video operators (src/ops/cpu: conv3d, groupnorm, upsample,
patchify), computed by PyTorch in float64 from float32 inputs and stored as
float32. Forward outputs and the gradients for a random upstream dy."""
import torch
import torch.nn.functional as F

import common

# name: (B, Cin, Cout, T, H, W, (kt, kh, kw), (st, sh, sw), (pt, ph, pw), causal, bias)
CONV_CASES = {
    # 3x3x3, spatial stride 2, padding 1, odd sizes
    "video_conv3d_a": (2, 3, 4, 3, 5, 5, (3, 3, 3), (1, 2, 2), (1, 1, 1), 0, 1),
    # causal 3x3x3 with temporal stride 2 (pt is set, and must be ignored)
    "video_conv3d_b": (1, 2, 3, 5, 4, 5, (3, 3, 3), (2, 1, 1), (1, 1, 1), 1, 1),
    # causal 3x1x1, a VAE's temporal down-sampler
    "video_conv3d_c": (2, 3, 2, 6, 3, 3, (3, 1, 1), (2, 1, 1), (0, 0, 0), 1, 1),
    # 1x3x3 spatial-only, stride 2, no bias
    "video_conv3d_d": (1, 2, 3, 3, 7, 5, (1, 3, 3), (1, 2, 2), (0, 1, 1), 0, 0),
    # 1x1x1: the direct (no vol2col) path
    "video_conv3d_e": (2, 4, 3, 2, 3, 3, (1, 1, 1), (1, 1, 1), (0, 0, 0), 0, 1),
}


def conv3d_ref(x, w, b, stride, pad, causal):
    kt = w.shape[2]
    if causal:
        x = F.pad(x, (0, 0, 0, 0, kt - 1, 0))
        pad = (0, pad[1], pad[2])
    return F.conv3d(x, w, b, stride=stride, padding=pad)


def gen_conv(name, case):
    B, ci, co, T, H, W, k, s, p, causal, has_b = case
    x = torch.randn(B, ci, T, H, W)
    w = torch.randn(co, ci, *k) * 0.3
    b = torch.randn(co)
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_()
    bd = b.double().requires_grad_() if has_b else None
    y = conv3d_ref(xd, wd, bd, s, p, causal)
    dy = torch.randn(y.shape)
    y.backward(dy.double())
    t = {"x": x, "w": w, "dy": dy, "y": y, "dx": xd.grad, "dw": wd.grad}
    if has_b:
        t["b"] = b
        t["db"] = bd.grad
    meta = {"B": B, "cin": ci, "cout": co, "T": T, "H": H, "W": W,
            "kt": k[0], "kh": k[1], "kw": k[2], "st": s[0], "sh": s[1], "sw": s[2],
            "pt": p[0], "ph": p[1], "pw": p[2], "causal": causal, "bias": has_b,
            "tolerance": "atol 1e-5 rtol 1e-4"}
    common.save(name, t, meta)


def gen_groupnorm(name, B, C, S, G, affine, eps=1e-5):
    x = torch.randn(B, C, S) * 2 + 0.5
    w = torch.randn(C)
    b = torch.randn(C)
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_() if affine else None
    bd = b.double().requires_grad_() if affine else None
    y = F.group_norm(xd, G, wd, bd, eps)
    dy = torch.randn(y.shape)
    y.backward(dy.double())
    xg = x.double().view(B, G, -1)
    mean = xg.mean(-1)
    rstd = 1.0 / torch.sqrt(xg.var(-1, unbiased=False) + eps)
    t = {"x": x, "dy": dy, "y": y, "mean": mean, "rstd": rstd, "dx": xd.grad}
    if affine:
        t.update({"w": w, "b": b, "dw": wd.grad, "db": bd.grad})
    common.save(name, t, {"B": B, "C": C, "S": S, "G": G, "eps": eps,
                          "affine": int(affine), "tolerance": "atol 1e-5 rtol 1e-4"})


def gen_upsample(name, BC, T, H, W, f):
    x = torch.randn(1, BC, T, H, W)
    size = (T * f[0], H * f[1], W * f[2])
    t = {"x": x}
    for mode, key in (("nearest", "near"), ("trilinear", "tri")):
        xd = x.double().requires_grad_()
        kw = {"align_corners": False} if mode == "trilinear" else {}
        y = F.interpolate(xd, size=size, mode=mode, **kw)
        dy = torch.randn(y.shape)
        y.backward(dy.double())
        t["y_" + key] = y
        t["dy_" + key] = dy
        t["dx_" + key] = xd.grad
    common.save(name, t, {"BC": BC, "T": T, "H": H, "W": W, "ft": f[0], "fh": f[1],
                          "fw": f[2], "tolerance": "atol 1e-5 rtol 1e-5"})


def patchify_ref(x, p):
    B, C, T, H, W = x.shape
    pt, ph, pw = p
    v = x.reshape(B, C, T // pt, pt, H // ph, ph, W // pw, pw)
    # (B, Tp, Hp, Wp, C, pt, ph, pw): tokens in (t, h, w) order, features in
    # a Conv3d weight's (c, dt, dh, dw) order.
    v = v.permute(0, 2, 4, 6, 1, 3, 5, 7)
    return v.reshape(B, (T // pt) * (H // ph) * (W // pw), C * pt * ph * pw)


def gen_patchify(name):
    B, C, T, H, W, p, D = 2, 3, 4, 4, 6, (2, 2, 3), 5
    x = torch.randn(B, C, T, H, W)
    wl = torch.randn(D, C * p[0] * p[1] * p[2]) * 0.2
    bl = torch.randn(D)
    tokens = patchify_ref(x, p)
    lin = tokens.double() @ wl.double().t() + bl.double()
    conv = F.conv3d(x.double(), wl.double().view(D, C, *p), bl.double(), stride=p)
    conv_tokens = conv.flatten(2).transpose(1, 2)
    # A patch embedding is a strided Conv3d: the claim ops.h makes.
    assert torch.allclose(lin, conv_tokens, atol=1e-10), "patchify order != Conv3d"
    common.save(name, {"x": x, "tokens": tokens, "wl": wl, "bl": bl, "lin": lin},
                {"B": B, "C": C, "T": T, "H": H, "W": W, "pt": p[0], "ph": p[1],
                 "pw": p[2], "D": D, "tolerance": "exact; linear atol 1e-5"})


def main():
    torch.manual_seed(1234)
    for name, case in CONV_CASES.items():
        gen_conv(name, case)
    gen_groupnorm("video_groupnorm", 2, 6, 24, 3, True)
    gen_groupnorm("video_groupnorm_noaffine", 1, 4, 15, 2, False)
    gen_upsample("video_upsample_a", 2, 2, 3, 3, (2, 2, 2))
    gen_upsample("video_upsample_b", 2, 3, 2, 3, (1, 3, 2))
    gen_patchify("video_patchify")


if __name__ == "__main__":
    main()
