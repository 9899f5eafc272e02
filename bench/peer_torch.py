"""The PyTorch peer of `vidit bench dit`: the same DiT (src/models/dit.h,
mirrored from tests/golden/gen_dit.py with the same parameter names: 3D RoPE
self-attention, cross-attention to the text tokens, GELU-tanh MLP of 4x
width, adaLN-zero with six modulation vectors, the same text encoder), run
the way one would run it fast on a CPU: float32,
F.scaled_dot_product_attention, torch.inference_mode for sampling,
torch.optim.AdamW(foreach=True), torch.set_num_threads(T).

Same options and same timing rule as `vidit bench dit` (median of up to R
runs after one warm-up, the runs stopping once they have taken 15 s
together); prints the same `key value` lines: sample_step_s, train_step_s,
train_gflops, peak_rss_mb. peak_rss_mb includes PyTorch's own footprint
(printed on stderr as rss_after_import_mb).

    python bench/peer_torch.py --tokens 512 --threads 2
"""
import argparse
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BUDGET_S = 15.0


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tokens_to_patches(n):
    """vidit's rule (tools/bench_models.c): n = T * h * h with the smallest
    largest extent, ties to the larger h."""
    best_t, best_h = n, 1
    s = 1
    while s * s <= n:
        if n % (s * s) == 0:
            t = n // (s * s)
            if max(t, s) <= max(best_t, best_h):
                best_t, best_h = t, s
        s += 1
    return best_t, best_h


def forward_flops(B, N, S, D, depth, P):
    """The count of tools/bench_models.c (dit_forward_flops): linear layers on
    image tokens 2*B*N*(2*P*D + depth*14*D^2), attention
    depth*4*B*N*(N + S)*D; a training step is 3x."""
    lin = 2.0 * B * N * (2.0 * P * D + depth * 14.0 * D * D)
    att = depth * 4.0 * B * N * (N + S) * D
    return lin + att


def rope_freqs(T, H, W, hd, theta):
    """vd_rope3d_table as complex rotations (N, hd/2): pairs split time: the
    rest, height and width: pairs // 3 each; pair j of a group of g turns by
    pos * theta^(-j/g)."""
    pairs = hd // 2
    dh = dw = pairs // 3
    dt = pairs - dh - dw
    tt, hh, ww = torch.meshgrid(torch.arange(T), torch.arange(H), torch.arange(W), indexing="ij")
    angles = []
    for p, g in zip((tt, hh, ww), (dt, dh, dw)):
        freq = theta ** (-torch.arange(g, dtype=torch.float64) / g)
        angles.append(p.reshape(-1, 1).double() * freq[None, :])
    ang = torch.cat(angles, dim=1)
    return torch.polar(torch.ones_like(ang), ang).to(torch.complex64)


def rope(x, freqs):
    """x (B, heads, N, hd), pairs (x[2i], x[2i+1]) rotated as complex numbers."""
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * freqs).flatten(-2)


def attend(q, k, v, mask):
    """q (B, heads, Nq, d), k/v (B, heads, Nk, d), mask (B, Nk) bool or None
    (None: every key). A query with no key (the empty prompt) outputs zeros,
    as in vidit. Returns (B, Nq, heads * d)."""
    if mask is None:
        o = F.scaled_dot_product_attention(q, k, v)
    else:
        any_key = mask.any(dim=1)
        m = (mask | ~any_key[:, None])[:, None, None, :]
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        if not bool(any_key.all()):
            o = o * any_key[:, None, None, None].to(o.dtype)
    B, Hh, Nq, d = o.shape
    return o.transpose(1, 2).reshape(B, Nq, Hh * d)


class SelfAttn(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, mask=None, freqs=None):
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if freqs is not None:
            q, k = rope(q, freqs), rope(k, freqs)
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
        L, hd = ctx.shape[1], D // self.heads
        q = self.q(x).view(B, N, self.heads, hd).transpose(1, 2)
        k, v = self.kv(ctx).view(B, L, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
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
    return torch.addcmul(shift[:, None, :], x, 1 + scale[:, None, :])


class Block(nn.Module):
    def __init__(self, dim, heads, text_dim):
        super().__init__()
        self.adaLN = nn.Linear(dim, 6 * dim)
        self.attn = SelfAttn(dim, heads)
        self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttn(dim, text_dim, heads)
        self.mlp = MLP(dim, 4 * dim, dim, "gelu")
        self.dim = dim

    def forward(self, x, sc, ctx, mask, freqs):
        D = self.dim
        sh1, s1, g1, sh2, s2, g2 = self.adaLN(sc).chunk(6, dim=-1)
        h = modulate(F.layer_norm(x, (D,), eps=1e-6), sh1, s1)
        x = x + g1[:, None, :] * self.attn(h, None, freqs)
        x = x + self.cross(self.norm_cross(x), ctx, mask)
        h = modulate(F.layer_norm(x, (D,), eps=1e-6), sh2, s2)
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
        full = bool(mask.all())
        ids = tokens if full else torch.where(mask, tokens, torch.zeros_like(tokens))
        x = self.tok_emb(ids) + self.pos_emb.weight[None, :L]
        attn_mask = None if full else mask
        for layer in self.layers:
            x = layer(x, attn_mask)
        ctx = self.norm(x)
        if full:
            pooled = ctx.mean(dim=1)
        else:
            m = mask.to(ctx.dtype)[..., None]
            pooled = (ctx * m).sum(1) / lengths.clamp(min=1).to(ctx.dtype)[:, None]
        return ctx, pooled, attn_mask


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None, :]
    return torch.cat((torch.cos(args), torch.sin(args)), dim=-1)


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
        self._freqs = {}

    def freqs(self, Tp, Hp, Wp):
        key = (Tp, Hp, Wp)
        if key not in self._freqs:
            c = self.cfg
            # A table made while sampling must still serve training.
            with torch.inference_mode(False):
                self._freqs[key] = rope_freqs(Tp, Hp, Wp, c["dim"] // c["heads"],
                                              c["rope_theta"])
        return self._freqs[key]

    def forward(self, latent, t, tokens, lengths):
        c = self.cfg
        B, C, T, H, W = latent.shape
        pt, ph, pw = c["patch_t"], c["patch_h"], c["patch_w"]
        Tp, Hp, Wp = T // pt, H // ph, W // pw
        tok = latent.reshape(B, C, Tp, pt, Hp, ph, Wp, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        x = self.x_embed(tok.reshape(B, Tp * Hp * Wp, C * pt * ph * pw))
        ctx, pooled, mask = self.text(tokens, lengths)
        cond = self.t_embed(timestep_embedding(t, c["freq_dim"])) + self.text_pool(pooled)
        sc = F.silu(cond)
        freqs = self.freqs(Tp, Hp, Wp)
        for blk in self.blocks:
            x = blk(x, sc, ctx, mask, freqs)
        D = c["dim"]
        shift, scale = self.final.adaLN(sc).chunk(2, dim=-1)
        y = self.final.linear(modulate(F.layer_norm(x, (D,), eps=1e-6), shift, scale))
        y = y.reshape(B, Tp, Hp, Wp, C, pt, ph, pw).permute(0, 4, 1, 5, 2, 6, 3, 7)
        return y.reshape(B, C, T, H, W)


def no_decay(name, p):
    """vidit's VD_PARAM_NO_DECAY: biases, norm gains, embeddings."""
    return p.dim() < 2 or "emb" in name


def time_runs(fn, repeats):
    fn()
    times = []
    while len(times) < repeats and (not times or sum(times) < BUDGET_S):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch peer of `vidit bench dit`")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--text-len", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast (PyTorch's mixed precision on CPU), the peer of "
                         "`vidit bench dit --matmul bf16`")
    a = ap.parse_args(argv)
    if a.quick:
        given = set(x.split("=")[0] for x in (argv if argv is not None else sys.argv[1:]))
        for k, v in (("dim", 64), ("depth", 2), ("heads", 2), ("tokens", 64),
                     ("text_len", 8), ("batch", 2), ("repeats", 1)):
            if "--" + k.replace("_", "-") not in given:
                setattr(a, k, v)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    base_rss = rss_mb()
    torch.manual_seed(0)
    Tp, hp = tokens_to_patches(a.tokens)
    cfg = {"dim": a.dim, "depth": a.depth, "heads": a.heads, "patch_t": 1, "patch_h": 2,
           "patch_w": 2, "latent_channels": 8, "text_dim": a.dim, "text_depth": 2,
           "text_heads": a.heads, "vocab_size": 1024, "max_text_len": a.text_len,
           "rope_theta": 10000.0, "freq_dim": 256}
    C, T, H, W, B, S = 8, Tp, 2 * hp, 2 * hp, a.batch, a.text_len
    print(f"peer_torch {torch.__version__}: dim {a.dim} depth {a.depth} heads {a.heads}, "
          f"{a.tokens} tokens (latent {C}x{T}x{H}x{W}), text {S}, batch {B}, "
          f"{torch.get_num_threads()} threads{', bf16 autocast' if a.bf16 else ''}, median of up to {a.repeats} after a warm-up; "
          f"rss_after_import_mb {base_rss:.1f}", file=sys.stderr)

    model = DiT(cfg)
    decay = [p for n, p in model.named_parameters() if not no_decay(n, p)]
    rest = [p for n, p in model.named_parameters() if no_decay(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    latent = torch.randn(B, C, T, H, W)
    dout = torch.randn(B, C, T, H, W)
    t = torch.rand(B)
    tokens = torch.randint(0, cfg["vocab_size"], (B, S))
    lengths = torch.full((B,), S)

    # Classifier-free guidance for one prompt: prompt and empty prompt as one batch of 2.
    lat2 = torch.cat((latent[:1], latent[:1]))
    t2 = torch.cat((t[:1], t[:1]))
    tok2 = torch.cat((tokens[:1], torch.zeros_like(tokens[:1])))
    len2 = torch.tensor([S, 0])

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16)

    def sample_step():
        with torch.inference_mode(), autocast():
            v = model(lat2, t2, tok2, len2)
            return v[1:] + 4.0 * (v[:1] - v[1:])

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            y = model(latent, t, tokens, lengths)
        y.float().backward(dout)
        opt.step()

    ts = time_runs(sample_step, a.repeats)
    tt = time_runs(train_step, a.repeats)
    flops = 3.0 * forward_flops(B, a.tokens, S, a.dim, a.depth, C * 4)
    print(f"sample_step_s {ts:.6f}")
    print(f"train_step_s {tt:.6f}")
    print(f"train_gflops {flops / tt * 1e-9:.3f}")
    print(f"peak_rss_mb {rss_mb():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
