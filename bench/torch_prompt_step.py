"""The prompt-tuning step of bench/workload.ts in PyTorch, for the ratios in BENCHMARKS.md.

    /usr/bin/python3 bench/torch_prompt_step.py [--workload bert-small|bert-base|roberta-large] [--steps 10] [--warmup 2]
        [--threads 2] [--device cpu|cuda] [--tf32] [--blas-core auto|env|NAME]
        [--aten-capability auto|env|avx2|avx512] [--json]
    /usr/bin/python3 bench/torch_prompt_step.py --matmul 512,1024,2048

The CPU kernel: OpenBLAS picks its kernel once, when torch loads it, from OPENBLAS_CORETYPE. Machines
here set OPENBLAS_CORETYPE=Haswell (AVX2) and OPENBLAS_L2_SIZE in the environment, which handicaps torch
on an AVX-512 CPU. --blas-core auto (the default) reads /proc/cpuinfo, sets the best core the CPU supports
(Cooperlake with avx512_bf16, SkylakeX with AVX-512 F/BW/DQ/VL, Haswell with AVX2+FMA) and drops
OPENBLAS_L2_SIZE, in this process only, before torch is imported; --blas-core env keeps the environment's;
any other value is set as it is. The kernel OpenBLAS reports (openblas_get_corename) is printed. torch's
own vectorised kernels are chosen the same way (--aten-capability, ATEN_CPU_CAPABILITY).

Frozen BERT encoder written out in torch (Debian's python3-torch 1.13 ships without transformers; the
math is HF BertModel's: erf GELU, post-LN, additive finfo.min mask, tanh pooler), a 20-token soft
prompt concatenated before [CLS] through inputs_embeds — or, for roberta-large, PEFT prefix tuning's
per-layer keys/values of 16 tokens in front of every layer's — a trainable Linear head, cross-entropy,
backward to {prompt, head} only, AdamW. Eval mode (no dropout), f32, as the TypeScript bench.
--device cuda runs it on the GPU (fp32; TF32 matmuls only with --tf32) and reports peak GPU memory.
"""
import argparse, ctypes, json, math, os, resource, sys, time


def best_openblas_core():
    """The fastest OpenBLAS SGEMM kernel family this CPU runs, from its /proc/cpuinfo flags (None: let OpenBLAS detect)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((set(l.split(":", 1)[1].split()) for l in f if l.startswith("flags")), set())
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "Cooperlake" if "avx512_bf16" in flags else "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def choose_blas_core(argv):
    """Sets OPENBLAS_CORETYPE before torch loads OpenBLAS (it is read once, at load); returns what was asked for."""
    choice = next((argv[i + 1] for i, x in enumerate(argv[:-1]) if x == "--blas-core"), "auto")
    if choice == "env":
        return os.environ.get("OPENBLAS_CORETYPE", "(OpenBLAS's own detection)")
    core = best_openblas_core() if choice == "auto" else choice
    os.environ.pop("OPENBLAS_L2_SIZE", None)  # a guard for old builds on some CPUs; it shrinks the SkylakeX blocking
    if core is None:
        os.environ.pop("OPENBLAS_CORETYPE", None)
        return "(OpenBLAS's own detection)"
    os.environ["OPENBLAS_CORETYPE"] = core
    return core


def choose_aten_capability(argv):
    """torch 1.13 runs its own vectorised kernels (softmax, GELU, LayerNorm, ...) at AVX2 on an AVX-512 CPU unless
    ATEN_CPU_CAPABILITY asks for more; auto asks for avx512 where the CPU has it (read at torch's first dispatch)."""
    choice = next((argv[i + 1] for i, x in enumerate(argv[:-1]) if x == "--aten-capability"), "auto")
    if choice == "auto":
        if best_openblas_core() in ("Cooperlake", "SkylakeX"):
            os.environ["ATEN_CPU_CAPABILITY"] = "avx512"
    elif choice != "env":
        os.environ["ATEN_CPU_CAPABILITY"] = choice


REQUESTED_BLAS_CORE = choose_blas_core(sys.argv)
choose_aten_capability(sys.argv)
import torch  # noqa: E402  (after OPENBLAS_CORETYPE is set)
import torch.nn.functional as F  # noqa: E402


def blas_kernel():
    """The kernel OpenBLAS runs, as it reports it; torch's own vectorised (ATen) kernels report separately."""
    try:
        lib = ctypes.CDLL("libblas.so.3")  # the same library torch loaded (Debian's update-alternatives)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        name = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        name = "not OpenBLAS"
    aten = next((l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l), "?")
    return dict(blasCore=name, blasCoreRequested=REQUESTED_BLAS_CORE, atenCapability=aten,
                openblasL2Size=os.environ.get("OPENBLAS_L2_SIZE"))

WORKLOADS = {
    "bert-small": dict(layers=4, hidden=256, heads=4, inter=1024, vocab=30522, batch=8, seq=64, prompt=20),
    "bert-base": dict(layers=12, hidden=768, heads=12, inter=3072, vocab=30522, batch=32, seq=128, prompt=20),
    # issue #9's workload (2): RoBERTa-large shape, prefix tuning with 16 tokens
    "roberta-large": dict(layers=24, hidden=1024, heads=16, inter=4096, vocab=50265, batch=8, seq=256, prompt=16, prefix=True, eps=1e-5),
}
DEVICE = "cpu"


def frozen(*shape, std=0.02):
    return (torch.randn(*shape, device=DEVICE) * std).requires_grad_(False)


def ones(n):
    return torch.ones(n, device=DEVICE)


class Bert:
    def __init__(self, w):
        d, f = w["hidden"], w["inter"]
        self.h, self.eps = w["heads"], w.get("eps", 1e-12)
        self.word, self.pos, self.typ = frozen(w["vocab"], d), frozen(514, d), frozen(2, d)
        self.ln_e = (ones(d), 0 * ones(d))
        self.layers = [dict(q=(frozen(d, d), frozen(d)), k=(frozen(d, d), frozen(d)), v=(frozen(d, d), frozen(d)),
                            o=(frozen(d, d), frozen(d)), ln1=(ones(d), 0 * ones(d)),
                            i=(frozen(f, d), frozen(f)), out=(frozen(d, f), frozen(d)), ln2=(ones(d), 0 * ones(d)))
                       for _ in range(w["layers"])]
        self.pooler = (frozen(d, d), frozen(d))

    def encode(self, emb, mask, past=None):
        """past: per layer (keys, values) [B, H, m, Dh] in front of the layer's own (mask covers them)."""
        B, T, d = emb.shape
        H, Dh, eps = self.h, d // self.h, self.eps
        m = 0 if past is None else past[0][0].shape[2]
        x = emb + self.pos[m:m + T] + self.typ[0]  # positions shifted by the prefix length, as HF does
        x = F.layer_norm(x, (d,), *self.ln_e, eps=eps)
        bias = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for li, L in enumerate(self.layers):
            heads = lambda t: t.view(B, T, H, Dh).transpose(1, 2)
            q, k, v = (heads(F.linear(x, *L[n])) for n in "qkv")
            if past is not None:
                k, v = torch.cat([past[li][0], k], 2), torch.cat([past[li][1], v], 2)
            s = q @ k.transpose(-1, -2) / math.sqrt(Dh) + bias
            ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
            a = F.layer_norm(F.linear(ctx, *L["o"]) + x, (d,), *L["ln1"], eps=eps)
            x = F.layer_norm(F.linear(F.gelu(F.linear(a, *L["i"])), *L["out"]) + a, (d,), *L["ln2"], eps=eps)
        return x


def prompt_step_bench(w, steps, warmup):
    torch.manual_seed(0)
    model = Bert(w)
    B, T, m, d, L, H = w["batch"], w["seq"], w["prompt"], w["hidden"], w["layers"], w["heads"]
    prefix = w.get("prefix", False)
    ids = torch.randint(1000, w["vocab"], (B, T), device=DEVICE)
    mask = torch.ones(B, T, device=DEVICE)
    for b in range(B):
        mask[b, T - (b * 7) % max(1, T // 4):] = 0
    labels = torch.arange(B, device=DEVICE) % 2
    # soft prompt: m embedding rows; prefix (PEFT, no projection): an [m, 2·L·d] table of keys and values
    prompt = (frozen(m, 2 * L * d, std=1.0) if prefix else model.word[torch.randint(0, w["vocab"], (m,), device=DEVICE)]).clone().requires_grad_(True)
    head_w = (torch.randn(2, d, device=DEVICE) * 0.02).requires_grad_(True)
    head_b = torch.zeros(2, device=DEVICE, requires_grad=True)
    opt = torch.optim.AdamW([prompt, head_w, head_b], lr=1e-3, weight_decay=0.01)
    full_mask = torch.cat([torch.ones(B, m, device=DEVICE), mask], 1)

    def step():
        if prefix:  # PEFT's get_prompt: [B, m, 2L, H, Dh] → per layer keys and values [B, H, m, Dh]
            kv = prompt.expand(B, m, 2 * L * d).reshape(B, m, 2 * L, H, d // H).permute(2, 0, 3, 1, 4)
            h = model.encode(model.word[ids], full_mask, [(kv[2 * i], kv[2 * i + 1]) for i in range(L)])
        else:
            emb = torch.cat([prompt.expand(B, m, d), model.word[ids]], 1)
            h = model.encode(emb, full_mask)
        pooled = torch.tanh(F.linear(h[:, 0], *model.pooler))
        loss = F.cross_entropy(F.linear(pooled, head_w, head_b), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    ms = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    rows = B * (T if prefix else T + m)  # the encoder's rows (a prefix adds keys, not rows)
    r = dict(backend="torch", msPerStep=round(ms, 2), minMs=round(times[0], 2), tokensPerS=round(rows / (ms / 1000)),
             peakRssMiB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), loss=loss)
    if DEVICE == "cuda":
        r.update(device=torch.cuda.get_device_name(), peakGpuMiB=round(torch.cuda.max_memory_allocated() / 2 ** 20))
    return r


def matmul_bench(sizes, reps=5):
    for n in sizes:
        a, b = torch.rand(n, n) - 0.5, torch.rand(n, n) - 0.5
        a @ b
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
        ts.sort()
        print(f"torch  n={n:<5} {2 * n ** 3 / ts[len(ts) // 2] / 1e9:8.2f} GFLOP/s  {ts[len(ts) // 2] * 1000:9.1f} ms")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--workload", default="bert-small", choices=list(WORKLOADS))
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--matmul", default=None)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--tf32", action="store_true", help="CUDA: TF32 matmuls (default: strict fp32)")
    p.add_argument("--blas-core", default="auto", help="auto (best for this CPU), env (the environment's), or an OpenBLAS core name")
    p.add_argument("--aten-capability", default="auto", help="auto (avx512 where the CPU has it), env, or default|avx2|avx512")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    DEVICE = a.device
    if DEVICE == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = a.tf32
    kernel = blas_kernel()
    if kernel["blasCore"] != kernel["blasCoreRequested"] and a.blas_core != "env":
        print(f"# warning: asked OpenBLAS for {kernel['blasCoreRequested']}, it runs {kernel['blasCore']}", file=sys.stderr)
    if a.matmul:
        print(f"# torch {torch.__version__}: OpenBLAS kernel {kernel['blasCore']}, ATen {kernel['atenCapability']}, {a.threads} threads")
        matmul_bench([int(s) for s in a.matmul.split(",")])
    else:
        steps = a.steps or (3 if a.workload in ("bert-base", "roberta-large") and DEVICE == "cpu" else 10)
        r = dict(workload=a.workload, threads=a.threads, tf32=a.tf32, **prompt_step_bench(WORKLOADS[a.workload], steps, a.warmup))
        if DEVICE == "cpu":
            r.update(kernel)
        where = (f"{r['device']}, tf32 {'on' if a.tf32 else 'off'}, peak GPU {r['peakGpuMiB']} MiB" if DEVICE == "cuda" else
                 f"{a.threads} threads, OpenBLAS {kernel['blasCore']}, ATen {kernel['atenCapability']}")
        print(json.dumps(r) if a.json else
              f"torch {a.workload}: {r['msPerStep']:.1f} ms/step (min {r['minMs']}, {steps} steps), {r['tokensPerS']} tokens/s, "
              f"peak RSS {r['peakRssMiB']} MiB, loss {r['loss']:.4f} (torch {torch.__version__}, {where})")
