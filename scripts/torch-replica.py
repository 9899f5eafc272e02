"""A PyTorch replica of vidit's DiT and its flow-matching training, run on a
latent cache that `vidit train` wrote (or `scripts/pooled-latents.py`), to
tell whether something vidit's model fails to learn is vidit's fault or the
recipe's (README, The default model). Same architecture as vidit's DiT
(adaLN-zero blocks, 3D RoPE self-attention, cross-attention to a 2-layer
text encoder, pooled text added to the timestep embedding), same widths,
schedule and optimiser as configs/exp_direction_easy4_match.json; captions
are split into words instead of BPE tokens.

    python3 scripts/torch-replica.py train CACHE OUT [--steps 4000] [--depth 6]
        [--patch 1,4,4] [--given-first P] [--pos-embed]
    python3 scripts/torch-replica.py probe CACHE OUT [same model options]

train writes OUT/replica.pt every 1000 steps. probe noises 48 of the cache's
videos whose captions say left, right, up or down to t = 0.95 ... 0.4 and
prints how far the velocity moves when the direction word is swapped
(left <-> right, up <-> down) or the colour changed, as a share of the
whole caption's effect, and the velocity MSE with the true and the swapped
caption: the same MSE means the model does not use the direction word.
With --given-first P the first latent frame is given clean for a share P
of the samples (loss on the others), as vidit's `given_first`; probe then
gives it too. With --direction-label the caption's direction word (left,
right, up, down; none otherwise or when the caption is dropped) is also
given as a class label added to the conditioning vector, to tell whether
the text path or the blocks keep direction from being learned.
--token-std sets the scale of the text encoder's initial token embeddings
(vidit's default: 0.02), --pool sum adds the text encoder's outputs over
the prompt's tokens instead of averaging them for the pooled vector, and
--text-lr M multiplies the text encoder's learning rate. Needs torch and
numpy.
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIM, HEADS, TEXT_DIM, TEXT_LEN, BATCH = 192, 3, 128, 16, 16
LR, MIN_LR, WARMUP = 5e-4, 5e-5, 300


def load_cache(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        captions = json.loads(header["__metadata__"]["captions"])
        latents = []
        for i in range(len(captions)):
            t = header[f"lat.{i:06d}"]
            f.seek(base + t["data_offsets"][0])
            raw = f.read(t["data_offsets"][1] - t["data_offsets"][0])
            latents.append(np.frombuffer(raw, "<f4").reshape(t["shape"]))
    return torch.tensor(np.stack(latents)), captions


class Words:
    """Word-level ids: 0 pads; the probe's words are always known."""

    def __init__(self, captions):
        extra = {"green", "red", "blue", "left", "right", "up", "down"}
        words = sorted({w for c in captions for w in c.split()} | extra)
        self.ids = {w: i + 1 for i, w in enumerate(words)}

    def __call__(self, caption):
        ids = [self.ids[w] for w in caption.split()][:TEXT_LEN]
        return ids + [0] * (TEXT_LEN - len(ids)), len(ids)

    def batch(self, captions):
        enc = [self(c) for c in captions]
        return torch.tensor([e[0] for e in enc]), torch.tensor([e[1] for e in enc])


DIRECTIONS = ["left", "right", "up", "down"]


def direction_label(caption):
    """1 + the index in DIRECTIONS of the word after "moves", else 0."""
    w = caption.split()
    k = w.index("moves") + 1 if "moves" in w else len(w)
    return 1 + DIRECTIONS.index(w[k]) if k < len(w) and w[k] in DIRECTIONS else 0


class Grid:
    """Token grid, rotary tables (vidit's split: time keeps the most pairs)
    and fixed 3D sin-cos position features."""

    def __init__(self, C, T, H, W, patch):
        self.C, self.T, self.H, self.W = C, T, H, W
        self.pt, self.ph, self.pw = patch
        self.Tp, self.Hp, self.Wp = T // self.pt, H // self.ph, W // self.pw
        self.N = self.Tp * self.Hp * self.Wp
        self.P = C * self.pt * self.ph * self.pw
        hd = DIM // HEADS
        pairs = hd // 2
        hw = pairs // 3
        dt = pairs - 2 * hw
        self.cos = torch.zeros(self.N, pairs)
        self.sin = torch.zeros(self.N, pairs)
        self.pos = torch.zeros(self.N, DIM)
        k = DIM // 6
        for n in range(self.N):
            place = (n // (self.Hp * self.Wp), n // self.Wp % self.Hp, n % self.Wp)
            col = 0
            for g, p in zip((dt, hw, hw), place):
                for j in range(g):
                    a = p * 10000.0 ** (-j / g)
                    self.cos[n, col], self.sin[n, col] = math.cos(a), math.sin(a)
                    col += 1
            for axis, p in enumerate(place):
                for j in range(k):
                    a = p * 10000.0 ** (-j / k)
                    self.pos[n, 2 * k * axis + j] = math.sin(a)
                    self.pos[n, 2 * k * axis + k + j] = math.cos(a)

    def rope(self, x):  # (B, heads, N, hd), pairs (2i, 2i + 1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * self.cos - x1 * self.sin, x0 * self.sin + x1 * self.cos), -1).flatten(-2)


class TextEncoder(nn.Module):
    def __init__(self, vocab, token_std=0.02, pool="mean"):
        super().__init__()
        self.pool = pool
        self.emb = nn.Embedding(vocab, TEXT_DIM)
        self.pos = nn.Parameter(torch.randn(TEXT_LEN, TEXT_DIM) * 0.02)
        nn.init.normal_(self.emb.weight, std=token_std)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(TEXT_DIM, 2, 4 * TEXT_DIM, 0.0, F.gelu, batch_first=True,
                                       norm_first=True) for _ in range(2)])
        self.norm = nn.LayerNorm(TEXT_DIM)

    def forward(self, ids, lens):
        pad = torch.arange(TEXT_LEN)[None] >= lens[:, None]
        # A dropped caption (no token) attends to its first slot rather
        # than to nothing; its features are then unused.
        attn_pad = pad.clone()
        attn_pad[pad.all(1), 0] = False
        x = self.emb(ids) + self.pos
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=attn_pad)
        x = self.norm(x)
        valid = (~pad).float()[..., None]
        pooled = (x * valid).sum(1)
        if self.pool == "mean":
            pooled = pooled / valid.sum(1).clamp(min=1)
        return x, pooled, pad


class Block(nn.Module):
    def __init__(self, grid):
        super().__init__()
        self.grid = grid
        self.ada = nn.Linear(DIM, 6 * DIM)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)
        self.qkv, self.proj = nn.Linear(DIM, 3 * DIM), nn.Linear(DIM, DIM)
        self.norm_cross = nn.LayerNorm(DIM)
        self.q, self.kv, self.cproj = nn.Linear(DIM, DIM), nn.Linear(TEXT_DIM, 2 * DIM), nn.Linear(DIM, DIM)
        self.fc1, self.fc2 = nn.Linear(DIM, 4 * DIM), nn.Linear(4 * DIM, DIM)
        for m in (self.qkv, self.proj, self.q, self.kv, self.cproj, self.fc1, self.fc2):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x, sc, ctx, pad):
        B, N, hd = x.shape[0], self.grid.N, DIM // HEADS
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(sc)[:, None].chunk(6, -1)
        h = F.layer_norm(x, (DIM,)) * (1 + scale1) + shift1
        q, k, v = self.qkv(h).view(B, N, 3, HEADS, hd).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(self.grid.rope(q), self.grid.rope(k), v)
        x = x + gate1 * self.proj(a.transpose(1, 2).reshape(B, N, DIM))
        q = self.q(self.norm_cross(x)).view(B, N, HEADS, hd).transpose(1, 2)
        k, v = self.kv(ctx).view(B, TEXT_LEN, 2, HEADS, hd).permute(2, 0, 3, 1, 4)
        dropped = pad.all(1)
        bias = torch.zeros(B, 1, 1, TEXT_LEN).masked_fill(pad[:, None, None, :], float("-inf"))
        bias = bias.masked_fill(dropped[:, None, None, None], 0.0)
        c = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(B, N, DIM)
        x = x + self.cproj(torch.where(dropped[:, None, None], torch.zeros_like(c), c))
        h = F.layer_norm(x, (DIM,)) * (1 + scale2) + shift2
        return x + gate2 * self.fc2(F.gelu(self.fc1(h)))


class DiT(nn.Module):
    def __init__(self, grid, vocab, depth, pos_embed, label=False, token_std=0.02, pool="mean"):
        super().__init__()
        self.grid, self.pos_embed = grid, pos_embed
        self.label = nn.Embedding(1 + len(DIRECTIONS), DIM) if label else None
        self.text = TextEncoder(vocab, token_std, pool)
        self.x_embed = nn.Linear(grid.P, DIM)
        self.t1, self.t2 = nn.Linear(128, DIM), nn.Linear(DIM, DIM)
        nn.init.normal_(self.t1.weight, std=0.02)
        nn.init.normal_(self.t2.weight, std=0.02)
        self.text_pool = nn.Linear(TEXT_DIM, DIM)
        self.given_emb = nn.Parameter(torch.zeros(DIM))
        self.blocks = nn.ModuleList([Block(grid) for _ in range(depth)])
        self.final_ada, self.final = nn.Linear(DIM, 2 * DIM), nn.Linear(DIM, grid.P)
        for m in (self.final_ada, self.final):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x, t, ids, lens, given, labels=None):
        g, B = self.grid, x.shape[0]
        ctx, pooled, pad = self.text(ids, lens)
        freqs = torch.exp(-math.log(10000) * torch.arange(64) / 64)
        a = t[:, None] * 1000 * freqs[None]
        c = self.t2(F.silu(self.t1(torch.cat([torch.cos(a), torch.sin(a)], 1)))) + self.text_pool(pooled)
        if self.label is not None:
            c = c + self.label(labels)
        sc = F.silu(c)
        tokens = x.view(B, g.C, g.Tp, g.pt, g.Hp, g.ph, g.Wp, g.pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        h = self.x_embed(tokens.reshape(B, g.N, g.P))
        if self.pos_embed:
            h = h + g.pos
        h = h + given[:, :, None, None].expand(B, g.Tp, g.Hp, g.Wp).reshape(B, g.N, 1) * self.given_emb
        for block in self.blocks:
            h = block(h, sc, ctx, pad)
        shift, scale = self.final_ada(sc)[:, None].chunk(2, -1)
        o = self.final(F.layer_norm(h, (DIM,)) * (1 + scale) + shift)
        o = o.view(B, g.Tp, g.Hp, g.Wp, g.C, g.pt, g.ph, g.pw).permute(0, 4, 1, 5, 2, 6, 3, 7)
        return o.reshape(B, g.C, g.T, g.H, g.W)


def frame_mask(given, grid):
    """(B, Tp) given tokens' frames -> (B, 1, T, 1, 1) latent frames."""
    return given[:, None, :, None, None].repeat_interleave(grid.pt, 2)


def make_model(args, grid, words):
    return DiT(grid, len(words.ids) + 1, args.depth, args.pos_embed, args.direction_label, args.token_std,
               args.pool)


def train(args, X, captions, words, grid):
    torch.manual_seed(0)
    model = make_model(args, grid, words)
    ema = make_model(args, grid, words)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    decayed = lambda name, p: p.ndim >= 2 and "emb" not in name and "pos" not in name
    groups = []
    for text in (False, True):
        for decay in (True, False):
            params = [p for n, p in model.named_parameters()
                      if decayed(n, p) == decay and n.startswith("text.") == text]
            groups.append({"params": params, "weight_decay": 0.01 if decay else 0.0,
                           "lr_mult": args.text_lr if text else 1.0})
    opt = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.99))
    ids_all, lens_all = words.batch(captions)
    labels_all = torch.tensor([direction_label(c) for c in captions])
    rng = torch.Generator().manual_seed(1)
    running = None
    for step in range(args.steps):
        q = (step - WARMUP) / max(1, args.steps - WARMUP)
        lr = LR * (step + 1) / WARMUP if step < WARMUP else MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * q))
        for group in opt.param_groups:
            group["lr"] = lr * group["lr_mult"]
        idx = torch.randint(0, X.shape[0], (BATCH,), generator=rng)
        x0, ids, lens = X[idx], ids_all[idx], lens_all[idx].clone()
        lens[torch.rand(BATCH, generator=rng) < 0.1] = 0  # caption dropout for guidance
        labels = torch.where(lens > 0, labels_all[idx], torch.zeros_like(idx))
        t = torch.sigmoid(torch.randn(BATCH, generator=rng))
        t = 2 * t / (1 + t)  # logit-normal, shifted by 2
        eps = torch.randn(x0.shape, generator=rng)
        xt = (1 - t[:, None, None, None, None]) * x0 + t[:, None, None, None, None] * eps
        given = torch.zeros(BATCH, grid.Tp)
        if args.given_first > 0:
            given[torch.rand(BATCH, generator=rng) < args.given_first, 0] = 1
            xt = torch.where(frame_mask(given, grid) > 0, x0, xt)
        v = model(xt, t, ids, lens, given, labels)
        w = 1 - frame_mask(given, grid)
        loss = ((v - (eps - x0)) ** 2 * w).sum() / w.expand_as(v).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(0.998).add_(pm, alpha=0.002)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1} loss {running:.4f}", flush=True)
        if (step + 1) % 1000 == 0 or step + 1 == args.steps:
            os.makedirs(args.out, exist_ok=True)
            tmp = os.path.join(args.out, "replica.pt.tmp")
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "step": step + 1}, tmp)
            os.replace(tmp, os.path.join(args.out, "replica.pt"))


def probe(args, X, captions, words, grid):
    model = make_model(args, grid, words)
    state = torch.load(os.path.join(args.out, "replica.pt"))
    model.load_state_dict(state["ema"])
    model.eval()
    swap = {"left": "right", "right": "left", "up": "down", "down": "up"}

    def swapped(c):
        w = c.split()
        k = w.index("moves")
        w[k + 1] = swap[w[k + 1]]
        return " ".join(w)

    def recoloured(c):
        w = c.split()
        w[1] = "green" if w[1] != "green" else "red"
        return " ".join(w)

    chosen = [i for i, c in enumerate(captions) if direction_label(c)][:48]
    rng = torch.Generator().manual_seed(3)
    print(f"probe: {args.out}/replica.pt (EMA, step {state.get('step', '?')}), {len(chosen)} videos"
          + (", first latent frame given" if args.given_first > 0 else ""))
    print("t      direction share  colour share  MSE true caption  MSE swapped direction")
    with torch.no_grad():
        for t in (0.95, 0.9, 0.8, 0.6, 0.4):
            sums = np.zeros(5)
            for i in chosen:
                x0 = X[i:i + 1]
                eps = torch.randn(x0.shape, generator=rng)
                xt = (1 - t) * x0 + t * eps
                given = torch.zeros(4, grid.Tp)
                if args.given_first > 0:
                    xt[:, :, :grid.pt] = x0[:, :, :grid.pt]
                    given[:, 0] = 1
                prompts = [captions[i], swapped(captions[i]), recoloured(captions[i]), ""]
                ids, lens = words.batch(prompts)
                labels = torch.tensor([direction_label(p) for p in prompts])
                v = model(xt.expand(4, -1, -1, -1, -1), torch.full((4,), t), ids, lens, given, labels)
                rms = lambda a, b: (v[a] - v[b]).pow(2).mean().sqrt().item()
                target = eps[0] - x0[0]
                sums += [rms(0, 1), rms(0, 2), rms(0, 3),
                         (v[0] - target).pow(2).mean().item(), (v[1] - target).pow(2).mean().item()]
            n = len(chosen)
            print(f"{t:<6} {sums[0] / sums[2]:15.3f} {sums[1] / sums[2]:13.3f} {sums[3] / n:17.4f} {sums[4] / n:22.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["train", "probe"])
    ap.add_argument("cache")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--patch", default="1,4,4")
    ap.add_argument("--given-first", type=float, default=0.0)
    ap.add_argument("--pos-embed", action="store_true")
    ap.add_argument("--direction-label", action="store_true")
    ap.add_argument("--token-std", type=float, default=0.02)
    ap.add_argument("--pool", choices=["mean", "sum"], default="mean")
    ap.add_argument("--text-lr", type=float, default=1.0)
    args = ap.parse_args()
    X, captions = load_cache(args.cache)
    patch = tuple(int(v) for v in args.patch.split(","))
    grid = Grid(*X.shape[1:], patch)
    words = Words(captions)
    print(f"{len(captions)} videos, latent {tuple(X.shape[1:])}, {grid.N} tokens of {grid.P}, "
          f"{len(words.ids)} words", flush=True)
    (train if args.command == "train" else probe)(args, X, captions, words, grid)


if __name__ == "__main__":
    main()
