"""Goldens for the causal video VAE's blocks (tests/test_vae.c), built from
PyTorch's own F.conv3d, F.group_norm, F.silu and F.interpolate with the same
causal padding: zeros before the first frame, "same" padding in space, and
GroupNorm taken per frame.

  vae_resblock: GN-SiLU-conv-GN-SiLU-conv + 1x1x1 skip, 4 -> 6 channels
  vae_down:     resblock + causal conv with stride (2, 2, 2)
  vae_up:       nearest x(2, 2, 2) dropping the first frame + causal conv

Each holds x, y, dy, dx and every parameter "p.<name>" with its gradient
"g.<name>" (names as the C model declares them)."""
import torch
import torch.nn.functional as F

import common

G = 2
EPS = 1e-6


def causal_conv(x, w, b, stride=(1, 1, 1)):
    kt, kh, kw = w.shape[2:]
    x = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2, kt - 1, 0))
    return F.conv3d(x, w, b, stride=stride)


def norm_act(x, w, b):
    B, C, T, H, W = x.shape
    xt = x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)
    y = F.silu(F.group_norm(xt, G, w, b, EPS))
    return y.reshape(B, T, C, H, W).permute(0, 2, 1, 3, 4)


def make_params(gen, spec):
    params = {}
    for name, shape, kind in spec:
        if kind == "gain":
            t = 1 + 0.3 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif kind == "bias":
            t = 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            t = torch.randn(shape, generator=gen, dtype=torch.float64) / fan_in ** 0.5
        params[name] = t.float().requires_grad_(True)
    return params


def res_spec(prefix, cin, cout, kt):
    spec = [(prefix + ".norm1.weight", (cin,), "gain"), (prefix + ".norm1.bias", (cin,), "bias"),
            (prefix + ".conv1.weight", (cout, cin, kt, 3, 3), "w"),
            (prefix + ".conv1.bias", (cout,), "bias"),
            (prefix + ".norm2.weight", (cout,), "gain"), (prefix + ".norm2.bias", (cout,), "bias"),
            (prefix + ".conv2.weight", (cout, cout, kt, 3, 3), "w"),
            (prefix + ".conv2.bias", (cout,), "bias")]
    if cin != cout:
        spec += [(prefix + ".skip.weight", (cout, cin, 1, 1, 1), "w"),
                 (prefix + ".skip.bias", (cout,), "bias")]
    return spec


def resblock(p, prefix, x):
    h = causal_conv(norm_act(x, p[prefix + ".norm1.weight"], p[prefix + ".norm1.bias"]),
                    p[prefix + ".conv1.weight"], p[prefix + ".conv1.bias"])
    y = causal_conv(norm_act(h, p[prefix + ".norm2.weight"], p[prefix + ".norm2.bias"]),
                    p[prefix + ".conv2.weight"], p[prefix + ".conv2.bias"])
    if prefix + ".skip.weight" in p:
        return y + causal_conv(x, p[prefix + ".skip.weight"], p[prefix + ".skip.bias"])
    return y + x


def run(name, seed, x_shape, spec, fn, meta):
    gen = torch.Generator().manual_seed(seed)
    p = make_params(gen, spec)
    x = torch.randn(x_shape, generator=gen).requires_grad_(True)
    y = fn(p, x)
    dy = torch.randn(y.shape, generator=gen)
    y.backward(dy)
    out = {"x": x, "y": y, "dy": dy, "dx": x.grad}
    for k, t in p.items():
        out["p." + k] = t
        out["g." + k] = t.grad
    common.save(name, out, meta)


def main():
    run("vae_resblock", 1, (2, 4, 3, 5, 5), res_spec("rb", 4, 6, 3),
        lambda p, x: resblock(p, "rb", x), {"groups": G, "eps": EPS, "tolerance": "1e-4"})

    down = res_spec("encoder.level0.block0", 4, 4, 3) + [
        ("encoder.level0.down.weight", (8, 4, 3, 3, 3), "w"),
        ("encoder.level0.down.bias", (8,), "bias")]

    def down_fn(p, x):
        h = resblock(p, "encoder.level0.block0", x)
        return causal_conv(h, p["encoder.level0.down.weight"], p["encoder.level0.down.bias"],
                           stride=(2, 2, 2))
    run("vae_down", 2, (2, 4, 5, 6, 6), down, down_fn, {"groups": G, "tolerance": "1e-4"})

    up = [("decoder.level2.up.weight", (8, 8, 3, 3, 3), "w"),
          ("decoder.level2.up.bias", (8,), "bias")]

    def up_fn(p, x):
        u = F.interpolate(x, scale_factor=(2, 2, 2), mode="nearest")[:, :, 1:]
        return causal_conv(u, p["decoder.level2.up.weight"], p["decoder.level2.up.bias"])
    run("vae_up", 3, (2, 8, 3, 2, 2), up, up_fn, {"tolerance": "1e-4"})


if __name__ == "__main__":
    main()
