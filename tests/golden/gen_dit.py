"""Goldens for the DiT (src/models/dit*.c) and its text encoder.

The modules below are vidit's definitions written in PyTorch with the same
parameter names and layouts (weights (out, in)); see src/models/dit.h. They
run in float64 on float32-rounded parameters and inputs. Each golden holds
p.<name> (parameters), g.<name> (their gradients), the inputs, the output
and the input gradients. Three goldens:
  dit_block: one block (3D RoPE, cross-attention, padded and empty prompts)
  dit_text:  the text encoder (context and pooled vector)
  dit_tiny:  a whole DiT of depth 2, latent gradient included
The C test (tests/test_dit.c) applies 1e-4 abs + 1e-3 rel."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import common

TOL = "atol 1e-4 rtol 1e-3"
DT = torch.float64


def rope_table(T, H, W, hd, theta):
    """vidit's vd_rope3d_table: pairs split (time: the rest, height and
    width: pairs // 3 each), pair j of a group of g turns by pos*theta^(-j/g)."""
    pairs = hd // 2
    dh = dw = pairs // 3
    dt = pairs - dh - dw
    tt, hh, ww = torch.meshgrid(torch.arange(T), torch.arange(H), torch.arange(W), indexing="ij")
    angles = []
    for p, g in zip((tt, hh, ww), (dt, dh, dw)):
        freq = theta ** (-torch.arange(g, dtype=DT) / g)
        angles.append(p.reshape(-1, 1).to(DT) * freq[None, :])
    ang = torch.cat(angles, dim=1)
    return torch.cos(ang), torch.sin(ang)


def rope(x, cos, sin):
    """x (B, N, H, hd); pairs (x[2i], x[2i+1])."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


def attend(q, k, v, mask):
    """q (B, Nq, H, d), k/v (B, Nk, H, d), mask (B, Nk) bool or None. A query
    whose keys are all masked outputs zeros."""
    B, Nq, H, d = q.shape
    s = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)
    if mask is not None:
        any_key = mask.any(dim=1)
        m = mask | ~any_key[:, None]            # all-masked rows: attend, then zero
        s = s.masked_fill(~m[:, None, None, :], float("-inf"))
    o = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(s, dim=-1), v)
    if mask is not None:
        o = o * any_key[:, None, None, None].to(o.dtype)
    return o.reshape(B, Nq, H * d)


class SelfAttn(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, mask=None, cos=None, sin=None):
        B, N, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        q, k, v = (t.reshape(B, N, self.heads, D // self.heads) for t in (q, k, v))
        if cos is not None:
            q, k = rope(q, cos, sin), rope(k, cos, sin)
        return self.out(attend(q, k, v, mask))


class CrossAttn(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(ctx_dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, ctx, mask):
        B, N, D = x.shape
        L = ctx.shape[1]
        q = self.q(x).reshape(B, N, self.heads, D // self.heads)
        k, v = self.kv(ctx).split(D, dim=-1)
        k, v = (t.reshape(B, L, self.heads, D // self.heads) for t in (k, v))
        return self.out(attend(q, k, v, mask))


class MLP(nn.Module):
    def __init__(self, din, hidden, dout, act):
        super().__init__()
        self.fc1 = nn.Linear(din, hidden)
        self.fc2 = nn.Linear(hidden, dout)
        self.act = act

    def forward(self, x):
        h = self.fc1(x)
        h = F.gelu(h, approximate="tanh") if self.act == "gelu" else F.silu(h)
        return self.fc2(h)


def modulate(x, shift, scale):
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


class Block(nn.Module):
    def __init__(self, dim, heads, text_dim):
        super().__init__()
        self.adaLN = nn.Linear(dim, 6 * dim)
        self.attn = SelfAttn(dim, heads)
        self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttn(dim, text_dim, heads)
        self.mlp = MLP(dim, 4 * dim, dim, "gelu")
        self.dim = dim

    def forward(self, x, c, ctx, mask, cos, sin):
        D = self.dim
        sh1, sc1, g1, sh2, sc2, g2 = self.adaLN(F.silu(c)).split(D, dim=-1)
        h = modulate(F.layer_norm(x, (D,), eps=1e-6), sh1, sc1)
        x = x + g1[:, None, :] * self.attn(h, None, cos, sin)
        x = x + self.cross(self.norm_cross(x), ctx, mask)
        h = modulate(F.layer_norm(x, (D,), eps=1e-6), sh2, sc2)
        return x + g2[:, None, :] * self.mlp(h)


class TextLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttn(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, 4 * dim, dim, "gelu")

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class TextEncoder(nn.Module):
    def __init__(self, vocab, dim, depth, heads, max_len):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, dim)
        self.pos_emb = nn.Embedding(max_len, dim)
        self.layers = nn.ModuleList(TextLayer(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.max_len = max_len

    def forward(self, tokens, lengths):
        L = self.max_len
        mask = torch.arange(L)[None, :] < lengths[:, None]
        ids = torch.where(mask, tokens, torch.zeros_like(tokens))
        x = self.tok_emb(ids) + self.pos_emb.weight[None, :L]
        for layer in self.layers:
            x = layer(x, mask)
        ctx = self.norm(x)
        m = mask.to(ctx.dtype)[..., None]
        pooled = (ctx * m).sum(1) / lengths.clamp(min=1).to(ctx.dtype)[:, None]
        return ctx, pooled, mask


def timestep_embedding(t, dim, max_period=10000.0):
    """DiT's, in float32 as PyTorch runs it (and vidit's kernel does): at
    t ~ 1000 the float32 rounding of t * f is part of the definition."""
    half = dim // 2
    t = (t.float() * 1000.0)
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None, :]
    return torch.cat((torch.cos(args), torch.sin(args)), dim=-1).to(DT)


class DiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D = cfg["dim"]
        P = cfg["latent_channels"] * cfg["patch_t"] * cfg["patch_h"] * cfg["patch_w"]
        self.text = TextEncoder(cfg["vocab_size"], cfg["text_dim"], cfg["text_depth"],
                                cfg["text_heads"], cfg["max_text_len"])
        self.x_embed = nn.Linear(P, D)
        self.t_embed = MLP(cfg["freq_dim"], D, D, "silu")
        self.text_pool = nn.Linear(cfg["text_dim"], D)
        self.blocks = nn.ModuleList(Block(D, cfg["heads"], cfg["text_dim"])
                                    for _ in range(cfg["depth"]))
        self.final = nn.Module()
        self.final.adaLN = nn.Linear(D, 2 * D)
        self.final.linear = nn.Linear(D, P)

    def forward(self, latent, t, tokens, lengths):
        c = self.cfg
        B, C, T, H, W = latent.shape
        pt, ph, pw = c["patch_t"], c["patch_h"], c["patch_w"]
        Tp, Hp, Wp = T // pt, H // ph, W // pw
        tok = latent.reshape(B, C, Tp, pt, Hp, ph, Wp, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        x = self.x_embed(tok.reshape(B, Tp * Hp * Wp, C * pt * ph * pw))
        ctx, pooled, mask = self.text(tokens, lengths)
        cond = self.t_embed(timestep_embedding(t, c["freq_dim"])) + self.text_pool(pooled)
        cos, sin = rope_table(Tp, Hp, Wp, c["dim"] // c["heads"], c["rope_theta"])
        for blk in self.blocks:
            x = blk(x, cond, ctx, mask, cos, sin)
        D = c["dim"]
        shift, scale = self.final.adaLN(F.silu(cond)).split(D, dim=-1)
        y = self.final.linear(modulate(F.layer_norm(x, (D,), eps=1e-6), shift, scale))
        y = y.reshape(B, Tp, Hp, Wp, C, pt, ph, pw).permute(0, 4, 1, 5, 2, 6, 3, 7)
        return y.reshape(B, C, T, H, W)


def randomise(module, g):
    """Every parameter random (so zero-initialised layers are exercised),
    rounded to float32."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight") and p.dim() == 2 and "emb" not in name:
                v = torch.randn(p.shape, generator=g, dtype=DT) / math.sqrt(p.shape[1])
            elif "emb" in name:
                v = 0.5 * torch.randn(p.shape, generator=g, dtype=DT)
            elif name.endswith("weight"):  # LayerNorm gain
                v = 1 + 0.1 * torch.randn(p.shape, generator=g, dtype=DT)
            else:
                v = 0.1 * torch.randn(p.shape, generator=g, dtype=DT)
            p.copy_(v.float().to(DT))


def f32(t):
    return t.float().to(DT)


def params_and_grads(module):
    out = {}
    for name, p in module.named_parameters():
        out["p." + name] = p.detach()
        out["g." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    return out


def block_golden():
    g = torch.Generator().manual_seed(11)
    D, heads, Dt, B, T, H, W, L = 16, 2, 12, 3, 2, 2, 3, 5
    theta = 100.0
    blk = Block(D, heads, Dt).to(DT)
    randomise(blk, g)
    N = T * H * W
    x = f32(torch.randn(B, N, D, generator=g, dtype=DT)).requires_grad_()
    c = f32(torch.randn(B, D, generator=g, dtype=DT)).requires_grad_()
    ctx = f32(torch.randn(B, L, Dt, generator=g, dtype=DT)).requires_grad_()
    lengths = torch.tensor([3, 5, 0])
    mask = torch.arange(L)[None, :] < lengths[:, None]
    dy = f32(torch.randn(B, N, D, generator=g, dtype=DT))
    cos, sin = rope_table(T, H, W, D // heads, theta)
    y = blk(x, c, ctx, mask, cos, sin)
    y.backward(dy)
    t = {"x": x, "c": c, "ctx": ctx, "mask": mask.to(torch.int32), "dy": dy, "y": y,
         "dx": x.grad, "dc": c.grad, "dctx": ctx.grad}
    t.update(params_and_grads(blk))
    common.save("dit_block", t, {"D": D, "heads": heads, "text_dim": Dt, "B": B, "T": T,
                                 "H": H, "W": W, "L": L, "theta": theta, "tolerance": TOL})


def text_golden():
    g = torch.Generator().manual_seed(12)
    V, Dt, depth, heads, L, B = 258, 12, 2, 2, 6, 3
    te = TextEncoder(V, Dt, depth, heads, L).to(DT)
    randomise(te, g)
    tokens = torch.randint(0, V, (B, L), generator=g)
    lengths = torch.tensor([4, 6, 0])
    ctx, pooled, mask = te(tokens, lengths)
    dctx = f32(torch.randn(B, L, Dt, generator=g, dtype=DT))
    dpooled = f32(torch.randn(B, Dt, generator=g, dtype=DT))
    # Padded positions of ctx are not used by anyone: their gradient is 0.
    dctx = dctx * mask[..., None].to(DT)
    (ctx * dctx).sum().add((pooled * dpooled).sum()).backward()
    t = {"tokens": tokens.to(torch.int32), "lengths": lengths.to(torch.int32), "ctx": ctx,
         "pooled": pooled, "dctx": dctx, "dpooled": dpooled}
    t.update({k.replace(".", ".text.", 1): v for k, v in params_and_grads(te).items()})
    common.save("dit_text", t, {"vocab": V, "dim": Dt, "depth": depth, "heads": heads,
                                "max_len": L, "B": B, "tolerance": TOL})


TINY = {"dim": 16, "depth": 2, "heads": 2, "patch_t": 1, "patch_h": 2, "patch_w": 2,
        "latent_channels": 3, "text_dim": 12, "text_depth": 1, "text_heads": 2,
        "vocab_size": 258, "max_text_len": 6, "rope_theta": 100.0, "freq_dim": 16}


def tiny_golden():
    g = torch.Generator().manual_seed(13)
    cfg = TINY
    model = DiT(cfg).to(DT)
    randomise(model, g)
    B, T, H, W = 3, 2, 4, 6
    latent = f32(torch.randn(B, cfg["latent_channels"], T, H, W, generator=g, dtype=DT))
    latent.requires_grad_()
    t = f32(torch.tensor([0.1, 0.5, 0.9], dtype=DT))
    tokens = torch.randint(0, cfg["vocab_size"], (B, cfg["max_text_len"]), generator=g)
    lengths = torch.tensor([4, 6, 0])
    y = model(latent, t, tokens, lengths)
    dy = f32(torch.randn(y.shape, generator=g, dtype=DT))
    y.backward(dy)
    out = {"latent": latent, "t": t, "tokens": tokens.to(torch.int32),
           "lengths": lengths.to(torch.int32), "y": y, "dy": dy, "dlatent": latent.grad}
    out.update(params_and_grads(model))
    meta = dict(cfg)
    meta.update({"B": B, "T": T, "H": H, "W": W, "tolerance": TOL})
    common.save("dit_tiny", out, meta)


def main():
    torch.set_num_threads(1)
    block_golden()
    text_golden()
    tiny_golden()


if __name__ == "__main__":
    main()
