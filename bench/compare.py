"""Runs vidit's model benchmarks and the PyTorch peer on the same workloads
and prints one markdown table (standard library only; `make bench` calls it
through bench/run.sh).

    python3 bench/compare.py --vidit build/vidit --torch-python .venv-torch/bin/python
    python3 bench/compare.py --from out/bench      # the table again, no runs
    python3 bench/compare.py --quick ...           # tiny sizes: checks the plumbing

Every run's output is kept in --out (default out/bench) as <name>.txt, so a
table can be rebuilt, or a single run checked, without measuring again.
Ratios are PyTorch time / vidit time: above 1, vidit is faster.
"""
import argparse
import os
import subprocess
import sys

# The workload; the token sweep varies --tokens at 2 threads.
WORKLOAD = ["--dim", "384", "--depth", "8", "--heads", "6", "--text-len", "32",
            "--batch", "4"]
BASE_TOKENS = 512
SWEEP = [256, 512, 1024, 2048]
THREADS = [1, 2]
DEFAULT_T2V = "models/default.safetensors"


def parse(text):
    """`key value` lines -> {key: float}; anything else is ignored."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def run(name, cmd, outdir, reuse):
    """Runs cmd (or, with reuse, reads its saved output); returns the parsed
    numbers, {} when it failed or there is nothing saved."""
    path = os.path.join(outdir, name + ".txt")
    if reuse:
        if not os.path.exists(path):
            return {}
        with open(path) as f:
            return parse(f.read())
    print("bench: " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        print(f"bench: {name} failed (exit {p.returncode})", file=sys.stderr)
        return {}
    with open(path, "w") as f:
        f.write(p.stdout)
    return parse(p.stdout)


def fmt(x, digits=3):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def get(d, key):
    return d.get(key) if d else None


def ratio(num, den):
    return num / den if num is not None and den else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vidit", default="build/vidit")
    ap.add_argument("--torch-python", default="", help="python with torch (empty: no peer)")
    ap.add_argument("--out", default="out/bench", help="folder for the raw outputs")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    ap.add_argument("--from", dest="reuse", metavar="DIR", default=None,
                    help="build the table from the outputs saved in DIR; run nothing")
    a = ap.parse_args(argv)
    global WORKLOAD, BASE_TOKENS, SWEEP
    if a.quick:
        WORKLOAD = ["--dim", "64", "--depth", "2", "--heads", "2", "--text-len", "8",
                    "--batch", "4", "--repeats", "1"]
        BASE_TOKENS, SWEEP = 64, [32, 64, 128]
    outdir = a.reuse or a.out
    reuse = a.reuse is not None
    os.makedirs(outdir, exist_ok=True)
    peer = [a.torch_python, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "peer_torch.py")]

    res = {}  # (who, tokens, threads) -> numbers

    def dit(tokens, threads):
        for who in ("vidit", "torch"):
            if who == "torch" and not a.torch_python and not reuse:
                continue
            base = [a.vidit, "bench", "dit"] if who == "vidit" else peer
            cmd = base + WORKLOAD + ["--tokens", str(tokens), "--threads", str(threads)]
            res[who, tokens, threads] = run(f"dit_{who}_{tokens}_t{threads}", cmd, outdir, reuse)

    for th in THREADS:
        dit(BASE_TOKENS, th)
    # bf16 products: vidit --matmul bf16 against PyTorch's bf16 autocast.
    for th in THREADS:
        for who in ("vidit", "torch"):
            if who == "torch" and not a.torch_python and not reuse:
                continue
            base = [a.vidit, "bench", "dit", "--matmul", "bf16"] if who == "vidit" else peer + ["--bf16"]
            cmd = base + WORKLOAD + ["--tokens", str(BASE_TOKENS), "--threads", str(th)]
            res[who + "_bf16", BASE_TOKENS, th] = run(f"dit_{who}_bf16_{BASE_TOKENS}_t{th}", cmd,
                                                      outdir, reuse)
    for n in SWEEP:
        if (("vidit", n, 2)) not in res:
            dit(n, 2)
    # The same sweep with bf16 products, vidit's default where the CPU has
    # them: does attention's share, which grows with the tokens, keep pace?
    for n in SWEEP:
        if ("vidit_bf16", n, 2) not in res:
            cmd = [a.vidit, "bench", "dit", "--matmul", "bf16"] + WORKLOAD + [
                "--tokens", str(n), "--threads", "2"]
            res["vidit_bf16", n, 2] = run(f"dit_vidit_bf16_{n}_t2", cmd, outdir, reuse)
    vae = run("vae", [a.vidit, "bench", "vae"] + (["--repeats", "1"] if a.quick else []),
              outdir, reuse)
    gen, gen_note = {}, ""
    if reuse or os.path.exists(DEFAULT_T2V):
        gen = run("generate", [a.vidit, "bench", "generate"], outdir, reuse)
        if not gen:
            gen_note = "failed or not run"
    else:
        gen_note = f"skipped: {DEFAULT_T2V} is missing"
        print(f"bench: generate {gen_note}", file=sys.stderr)

    rows = []

    def row(label, v, t, r="ratio"):
        if r == "ratio":
            r = ratio(t, v)
        rows.append((label, fmt(v), fmt(t), fmt(r, 2)))

    for th in THREADS:
        v, t = res.get(("vidit", BASE_TOKENS, th)), res.get(("torch", BASE_TOKENS, th))
        tl = f"{th} thread" + ("s" if th > 1 else "")
        row(f"sampling step (cfg, batch 2), {BASE_TOKENS} tokens, {tl} (s)",
            get(v, "sample_step_s"), get(t, "sample_step_s"))
        row(f"training step, {BASE_TOKENS} tokens, {tl} (s)",
            get(v, "train_step_s"), get(t, "train_step_s"))
        # GFLOP/s ratio vidit / PyTorch equals PyTorch time / vidit time.
        row(f"training GFLOP/s, {BASE_TOKENS} tokens, {tl}",
            get(v, "train_gflops"), get(t, "train_gflops"),
            ratio(get(v, "train_gflops"), get(t, "train_gflops")))
        row(f"vidit training GFLOP/s / sgemm GFLOP/s ({fmt(get(v, 'sgemm_gflops'))}), {tl}",
            get(v, "train_vs_sgemm"), None, None)
    for th in THREADS:
        v, t = res.get(("vidit_bf16", BASE_TOKENS, th)), res.get(("torch_bf16", BASE_TOKENS, th))
        t32 = res.get(("torch", BASE_TOKENS, th))
        tl = f"{th} thread" + ("s" if th > 1 else "")
        for key, what in (("sample_step_s", "sampling step (cfg, batch 2)"),
                          ("train_step_s", "training step")):
            row(f"bf16 products: {what}, {BASE_TOKENS} tokens, {tl} (s; PyTorch bf16 autocast)",
                get(v, key), get(t, key))
            row(f"bf16 products: {what}, {BASE_TOKENS} tokens, {tl} (s; PyTorch fp32)",
                get(v, key), get(t32, key))
        row(f"bf16 products: vidit training GFLOP/s / fp32 sgemm GFLOP/s, {tl}",
            get(v, "train_vs_sgemm"), None, None)
    v2, t2 = res.get(("vidit", BASE_TOKENS, 2)), res.get(("torch", BASE_TOKENS, 2))
    row(f"peak memory, {BASE_TOKENS} tokens, 2 threads (MB; PyTorch's includes ~500 MB of "
        "library)", get(v2, "peak_rss_mb"), get(t2, "peak_rss_mb"),
        ratio(get(t2, "peak_rss_mb"), get(v2, "peak_rss_mb")))
    for key, what in (("train_step_s", "training"), ("sample_step_s", "sampling")):
        sp = {}
        for who in ("vidit", "torch"):
            one, two = res.get((who, BASE_TOKENS, 1)), res.get((who, BASE_TOKENS, 2))
            sp[who] = ratio(get(one, key), get(two, key))
        row(f"thread scaling 1 -> 2, {what} step (speed-up)", sp["vidit"], sp["torch"], None)
    # The token sweep twice: fp32 products against PyTorch fp32, then bf16
    # products (vidit alone; its time per FLOP) against the same PyTorch.
    for vkey, prefix, suffix, torch_norm in (("vidit", "sweep:", "", True),
                                             ("vidit_bf16", "sweep, bf16 products:",
                                              "; PyTorch fp32", False)):
        base = {w: res.get((w, SWEEP[0], 2)) for w in (vkey, "torch")}
        for n in SWEEP:
            v, t = res.get((vkey, n, 2)), res.get(("torch", n, 2))
            row(f"{prefix} training step, {n} tokens, 2 threads (s{suffix})",
                get(v, "train_step_s"), get(t, "train_step_s"))
            row(f"{prefix} sampling step, {n} tokens, 2 threads (s{suffix})",
                get(v, "sample_step_s"), get(t, "sample_step_s"))
            # time per FLOP relative to the first row = GFLOP/s there / GFLOP/s here
            row(f"{prefix} training time/FLOP vs {SWEEP[0]} tokens, {n} tokens",
                ratio(get(base[vkey], "train_gflops"), get(v, "train_gflops")),
                ratio(get(base["torch"], "train_gflops"), get(t, "train_gflops"))
                if torch_norm else None, None)
    vae_note = "" if os.path.exists("models/vae.safetensors") else " (fresh model from configs/vae.json)"
    row("VAE decode, 64x64x17 (s/frame)" + vae_note, get(vae, "vae_decode_s_per_frame"), None,
        None)
    row("VAE encode, 64x64x17 (s/frame)" + vae_note, get(vae, "vae_encode_s_per_frame"), None,
        None)
    if gen:
        row("generate one video, default model and settings (s)", get(gen, "generate_s"), None,
            None)
    else:
        rows.append(("generate one video (" + gen_note + ")", "-", "-", "-"))

    print("\n| workload | vidit | PyTorch | ratio (PyTorch / vidit) |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n(" + " ".join(WORKLOAD) + f"; raw outputs in {outdir}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
