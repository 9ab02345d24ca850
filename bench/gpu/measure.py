"""Measure a real GPU for comparison with the roofline (run on a CUDA machine with PyTorch + transformers).

Usage: python bench/gpu/measure.py OUT.json
Writes: matmul TFLOP/s against the number of rows M (bf16, K=4096, N=14336: Llama-3.1-8B's MLP),
device-to-device copy bandwidth, and prefill / decode timings of a randomly initialised model with
Llama-3.1-8B's architecture (transformers LlamaForCausalLM, bf16, SDPA attention, eager mode).
Nothing in the planner depends on this; bench/gpu/compare.py sets the figures against the estimator.
"""

import json
import sys
import time

import torch


def timed(fn, repeat=10, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeat):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    return times[len(times) // 2]


def matmuls():
    out = []
    k, n = 4096, 14336
    w = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    for m in (1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384):
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        t = timed(lambda: x @ w, repeat=20)
        out.append({"m": m, "k": k, "n": n, "seconds": t, "tflops": 2 * m * k * n / t / 1e12,
                    "bytes_per_s": (m * k + k * n + m * n) * 2 / t})
    return out


def copy_bandwidth():
    a = torch.empty(2 * 1024**3, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    t = timed(lambda: b.copy_(a))
    return {"bytes_moved": 2 * a.numel(), "seconds": t, "bytes_per_s": 2 * a.numel() / t}


def model_timings():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=8, head_dim=128, vocab_size=128256, max_position_embeddings=131072,
                         rope_theta=500000.0, tie_word_embeddings=False, attn_implementation="sdpa")
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
    results = {"params": sum(p.numel() for p in model.parameters()), "prefill": [], "decode": []}
    with torch.inference_mode():
        for batch, prompt in ((1, 128), (1, 512), (1, 2048), (8, 2048), (32, 1024)):
            ids = torch.randint(0, 128256, (batch, prompt), device="cuda")
            t = timed(lambda: model(ids, use_cache=False, logits_to_keep=1), repeat=5, warmup=2)
            results["prefill"].append({"batch": batch, "prompt_tokens": prompt, "seconds": t})
        for batch, context in ((1, 128), (1, 2048), (16, 512), (64, 512), (128, 1024)):
            ids = torch.randint(0, 128256, (batch, context), device="cuda")
            out = model(ids, use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
            step_ids = torch.randint(0, 128256, (batch, 1), device="cuda")
            steps = 16
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(steps):
                o = model(step_ids, past_key_values=cache, use_cache=True)
                cache = o.past_key_values
            torch.cuda.synchronize()
            per_step = (time.perf_counter() - t0) / steps
            results["decode"].append({"batch": batch, "context_tokens": context, "seconds_per_step": per_step})
            del cache, out
            torch.cuda.empty_cache()
    return results


def main():
    info = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
            "sms": torch.cuda.get_device_properties(0).multi_processor_count}
    info["matmul_bf16"] = matmuls()
    info["copy"] = copy_bandwidth()
    info["llama_3_1_8b_random_weights"] = model_timings()
    text = json.dumps(info, indent=2)
    print(text)
    with open(sys.argv[1], "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
