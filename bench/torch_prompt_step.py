"""The prompt-tuning step of bench/workload.ts in PyTorch, for the CPU ratio in BENCHMARKS.md.

    /usr/bin/python3 bench/torch_prompt_step.py [--workload bert-small|bert-base] [--steps 10] [--warmup 2] [--threads 2] [--json]
    /usr/bin/python3 bench/torch_prompt_step.py --matmul 512,1024,2048

Frozen BERT encoder written out in torch (Debian's python3-torch 1.13 ships without transformers; the
math is HF BertModel's: erf GELU, post-LN, additive finfo.min mask, tanh pooler), a 20-token soft
prompt concatenated before [CLS] through inputs_embeds, a trainable Linear head, cross-entropy,
backward to {prompt, head} only, AdamW. Eval mode (no dropout), f32, as the TypeScript bench.
"""
import argparse, json, math, resource, time
import torch
import torch.nn.functional as F

WORKLOADS = {
    "bert-small": dict(layers=4, hidden=256, heads=4, inter=1024, vocab=30522, batch=8, seq=64, prompt=20),
    "bert-base": dict(layers=12, hidden=768, heads=12, inter=3072, vocab=30522, batch=32, seq=128, prompt=20),
}


def frozen(*shape, std=0.02):
    return (torch.randn(*shape) * std).requires_grad_(False)


class Bert:
    def __init__(self, w):
        d, f = w["hidden"], w["inter"]
        self.h = w["heads"]
        self.word, self.pos, self.typ = frozen(w["vocab"], d), frozen(512, d), frozen(2, d)
        self.ln_e = (torch.ones(d), torch.zeros(d))
        self.layers = [dict(q=(frozen(d, d), frozen(d)), k=(frozen(d, d), frozen(d)), v=(frozen(d, d), frozen(d)),
                            o=(frozen(d, d), frozen(d)), ln1=(torch.ones(d), torch.zeros(d)),
                            i=(frozen(f, d), frozen(f)), out=(frozen(d, f), frozen(d)), ln2=(torch.ones(d), torch.zeros(d)))
                       for _ in range(w["layers"])]
        self.pooler = (frozen(d, d), frozen(d))

    def encode(self, emb, mask):
        B, T, d = emb.shape
        H, Dh = self.h, d // self.h
        x = emb + self.pos[:T] + self.typ[0]
        x = F.layer_norm(x, (d,), *self.ln_e, eps=1e-12)
        bias = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for L in self.layers:
            heads = lambda t: t.view(B, T, H, Dh).transpose(1, 2)
            q, k, v = (heads(F.linear(x, *L[n])) for n in "qkv")
            s = q @ k.transpose(-1, -2) / math.sqrt(Dh) + bias
            ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
            a = F.layer_norm(F.linear(ctx, *L["o"]) + x, (d,), *L["ln1"], eps=1e-12)
            x = F.layer_norm(F.linear(F.gelu(F.linear(a, *L["i"])), *L["out"]) + a, (d,), *L["ln2"], eps=1e-12)
        return x


def prompt_step_bench(w, steps, warmup):
    torch.manual_seed(0)
    model = Bert(w)
    B, T, m, d = w["batch"], w["seq"], w["prompt"], w["hidden"]
    ids = torch.randint(1000, w["vocab"], (B, T))
    mask = torch.ones(B, T)
    for b in range(B):
        mask[b, T - (b * 7) % max(1, T // 4):] = 0
    labels = torch.arange(B) % 2
    prompt = model.word[torch.randint(0, w["vocab"], (m,))].clone().requires_grad_(True)
    head_w = (torch.randn(2, d) * 0.02).requires_grad_(True)
    head_b = torch.zeros(2, requires_grad=True)
    opt = torch.optim.AdamW([prompt, head_w, head_b], lr=1e-3, weight_decay=0.01)
    full_mask = torch.cat([torch.ones(B, m), mask], 1)

    def step():
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
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    ms = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    return dict(backend="torch", msPerStep=round(ms, 2), minMs=round(times[0], 2), tokensPerS=round(B * (T + m) / (ms / 1000)),
                peakRssMiB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), loss=loss)


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
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.matmul:
        matmul_bench([int(s) for s in a.matmul.split(",")])
    else:
        steps = a.steps or (3 if a.workload == "bert-base" else 10)
        r = dict(workload=a.workload, threads=a.threads, **prompt_step_bench(WORKLOADS[a.workload], steps, a.warmup))
        print(json.dumps(r) if a.json else
              f"torch {a.workload}: {r['msPerStep']:.1f} ms/step (min {r['minMs']}, {steps} steps), {r['tokensPerS']} tokens/s, "
              f"peak RSS {r['peakRssMiB']} MiB, loss {r['loss']:.4f} (torch {torch.__version__}, {a.threads} threads)")
