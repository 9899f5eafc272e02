"""Goldens for the dense CPU operators and the optimiser (tests/test_ops_dense.c,
tests/test_optim.c): every operator's forward and backward at small odd sizes,
an AdamW trajectory from torch.optim.AdamW and the learning-rate schedule."""
import math

import torch
import torch.nn.functional as F

from common import save


def grads(out, dy, *inputs):
    """Backward of sum(out * dy) into each input (which must require grad)."""
    g = torch.autograd.grad(out, inputs, dy, retain_graph=True)
    return [t.detach() for t in g]


def rnd(*shape, scale=1.0, shift=0.0, grad=True):
    t = torch.randn(*shape, dtype=torch.float32) * scale + shift
    return t.requires_grad_(grad)


def gen_linear():
    M, K, N = 7, 13, 11
    x, w, b = rnd(M, K), rnd(N, K, scale=0.3), rnd(N)
    y = F.linear(x, w, b)
    dy = torch.randn(M, N)
    dx, dw, db = grads(y, dy, x, w, b)
    save("dense_linear", dict(x=x, w=w, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db),
         dict(M=M, K=K, N=N, tol="1e-5 abs + 1e-5 rel"))


def gen_layernorm():
    M, C, eps = 7, 13, 1e-6
    # a large mean against a small spread exercises the variance numerics
    x, w, b = rnd(M, C, scale=2.0, shift=30.0), rnd(C, shift=1.0), rnd(C)
    y = F.layer_norm(x, (C,), w, b, eps)
    dy = torch.randn(M, C)
    dx, dw, db = grads(y, dy, x, w, b)
    x2 = x.detach().clone().requires_grad_(True)
    y2 = F.layer_norm(x2, (C,), None, None, eps)
    (dx2,) = grads(y2, dy, x2)
    save("dense_layernorm", dict(x=x, w=w, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db,
                                 y_noaffine=y2, dx_noaffine=dx2),
         dict(M=M, C=C, eps=eps, tol="1e-4 abs + 1e-4 rel"))


def gen_rmsnorm():
    M, C, eps = 7, 13, 1e-6
    x, w = rnd(M, C, scale=2.0, shift=0.5), rnd(C, shift=1.0)
    y = F.rms_norm(x, (C,), w, eps)
    dy = torch.randn(M, C)
    dx, dw = grads(y, dy, x, w)
    save("dense_rmsnorm", dict(x=x, w=w, y=y, dy=dy, dx=dx, dw=dw),
         dict(M=M, C=C, eps=eps, tol="1e-4 abs + 1e-4 rel"))


def gen_modulate():
    # shift, scale and gate are slices of one (B, 4C) modulation vector
    B, N, C = 2, 5, 7
    x, mod, res = rnd(B, N, C), rnd(B, 4 * C, scale=0.5), rnd(B, N, C)
    shift, scale, gate = mod[:, 0:C], mod[:, C:2 * C], mod[:, 2 * C:3 * C]
    y = x * (1 + scale[:, None, :]) + shift[:, None, :]
    out = res + gate[:, None, :] * y
    dout = torch.randn(B, N, C)
    dx, dmod, dres = grads(out, dout, x, mod, res)
    dy_mod = torch.randn(B, N, C)
    dxm, dmodm = grads(y, dy_mod, x, mod)
    save("dense_modulate", dict(x=x, mod=mod, res=res, y=y, out=out, dout=dout,
                                dx=dx, dmod=dmod, dres=dres, dy_mod=dy_mod,
                                dx_mod=dxm, dmod_mod=dmodm),
         dict(B=B, N=N, C=C, mod_stride=4 * C, tol="1e-5 abs + 1e-5 rel"))


def gen_activation():
    n = 41
    x = (torch.linspace(-6, 6, n) + 0.01 * torch.randn(n)).requires_grad_(True)
    dy = torch.randn(n)
    g = F.gelu(x, approximate="tanh")
    s = F.silu(x)
    (dg,) = grads(g, dy, x)
    (ds,) = grads(s, dy, x)
    M, C = 7, 13
    xs = rnd(M, C, scale=3.0)
    ys = torch.softmax(xs, -1)
    dys = torch.randn(M, C)
    (dxs,) = grads(ys, dys, xs)
    save("dense_activation", dict(x=x, dy=dy, gelu=g, gelu_dx=dg, silu=s, silu_dx=ds,
                                  sm_x=xs, sm_y=ys, sm_dy=dys, sm_dx=dxs),
         dict(n=n, M=M, C=C, tol="1e-5 abs + 1e-5 rel"))


def gen_embedding():
    V, C, N = 9, 6, 11
    table = rnd(V, C)
    ids = torch.tensor([3, 0, 8, 3, 5, 3, 1, 0, 7, 2, 8], dtype=torch.int32)
    y = F.embedding(ids.long(), table)
    dy = torch.randn(N, C)
    (dt,) = grads(y, dy, table)
    save("dense_embedding", dict(table=table, ids=ids, y=y, dy=dy, dtable=dt),
         dict(V=V, C=C, N=N, tol="1e-6 abs + 1e-6 rel"))


def timestep_embedding(t, dim, max_period):
    """DiT's TimestepEmbedder.timestep_embedding."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) *
                      torch.arange(start=0, end=half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def gen_timestep():
    B, P = 5, 10000.0
    t = torch.tensor([0.0, 1.5, 17.25, 480.0, 999.0], requires_grad=True)
    out = {"t": t}
    for dim in (13, 16):
        y = timestep_embedding(t, dim, P)
        dy = torch.randn(B, dim)
        (dt,) = grads(y, dy, t)
        out.update({f"y{dim}": y, f"dy{dim}": dy, f"dt{dim}": dt})
    save("dense_timestep", out, dict(B=B, max_period=P, tol="1e-4 abs + 1e-4 rel"))


def gen_loss():
    n = 37
    x, t = rnd(n), torch.randn(n)
    t[5] = x[5].detach()  # |x - t| = 0: l1's subgradient 0
    mse = F.mse_loss(x, t)
    l1 = F.l1_loss(x, t)
    (dmse,) = torch.autograd.grad(mse, x)
    (dl1,) = torch.autograd.grad(l1, x)
    a, b = torch.randn(n), torch.randn(n)
    save("dense_loss", dict(x=x, target=t, mse=mse.reshape(1), l1=l1.reshape(1),
                            mse_dx=dmse, l1_dx=dl1, a=a, b=b, add=a + b,
                            axpy=a + 0.37 * b, scale=a * -1.3,
                            ema=torch.lerp(a, b, 1 - 0.9)),
         dict(n=n, tol="1e-6 abs + 1e-5 rel"))


def gen_adamw():
    """AdamW over two parameter groups (decayed and not), lr from the schedule."""
    na, nb, steps = 15, 8, 6
    lr, betas, eps, wd = 1e-2, (0.9, 0.95), 1e-8, 0.1
    pa = torch.randn(na).requires_grad_(True)
    pb = torch.randn(nb).requires_grad_(True)
    p0 = torch.cat([pa, pb]).detach().clone()
    opt = torch.optim.AdamW([{"params": [pa], "weight_decay": wd},
                             {"params": [pb], "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    g_all, p_all, lrs = [], [], []
    for s in range(steps):
        step_lr = schedule(s, 2, steps, lr, 1e-3)
        for group in opt.param_groups:
            group["lr"] = step_lr
        g = torch.randn(na + nb) * (0.1 + s)
        pa.grad, pb.grad = g[:na].clone(), g[na:].clone()
        opt.step()
        g_all.append(g)
        p_all.append(torch.cat([pa, pb]).detach().clone())
        lrs.append(step_lr)
    st = [opt.state[pa], opt.state[pb]]
    m = torch.cat([st[0]["exp_avg"], st[1]["exp_avg"]])
    v = torch.cat([st[0]["exp_avg_sq"], st[1]["exp_avg_sq"]])
    save("dense_adamw", dict(p0=p0, grads=torch.stack(g_all), params=torch.stack(p_all),
                             lrs=torch.tensor(lrs), m=m, v=v),
         dict(na=na, nb=nb, steps=steps, lr=lr, beta1=betas[0], beta2=betas[1],
              eps=eps, weight_decay=wd, warmup=2, min_lr=1e-3,
              tol="1e-6 abs + 1e-5 rel"))


def schedule(step, warmup, total, base, min_lr):
    if step < warmup:
        return base * (step + 1) / warmup
    if step >= total:
        return min_lr
    ratio = (step - warmup) / (total - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (base - min_lr)


def gen_schedule():
    warmup, total, base, min_lr = 10, 50, 3e-4, 1e-5
    lrs = [schedule(s, warmup, total, base, min_lr) for s in range(total + 5)]
    save("dense_schedule", dict(lr=torch.tensor(lrs, dtype=torch.float64)),
         dict(warmup=warmup, total=total, base_lr=base, min_lr=min_lr,
              tol="1e-7 rel"))


def main():
    torch.manual_seed(1234)
    gen_linear()
    gen_layernorm()
    gen_rmsnorm()
    gen_modulate()
    gen_activation()
    gen_embedding()
    gen_timestep()
    gen_loss()
    gen_adamw()
    gen_schedule()


if __name__ == "__main__":
    main()
