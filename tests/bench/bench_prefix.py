"""Training forward + backward with each group's prompt read once vs the plain causal forward.

Same tiny Llama (hidden 64, 2 layers) and the same right-padded batch for both: B prompts of P
tokens, G completions of C tokens each (the GRPO micro-batch layout), loss = sum of the completion
tokens' log-probs, one backward. The named baseline is ``rl.forward.llama.causal_logits`` (the
trainer's plain training forward); ``rl.forward.shared_prefix.shared_prefix_logits`` is what the
trainer uses when ``worth_sharing`` says so. Both are checked to give the same loss before timing.

Run: ``.venv/bin/python tests/bench/bench_prefix.py``; writes ``tests/bench/results/prefix.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
# B, G, P, C
CONFIGS = [(4, 8, 2, 8), (4, 8, 32, 16), (4, 8, 64, 16), (4, 8, 128, 32), (2, 16, 256, 32)]


def model_and_batch(B: int, G: int, P: int, C: int):
    import transformers

    from rl.forward.shared_prefix import PromptGroup

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=32,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
    )
    model = transformers.LlamaForCausalLM(cfg).train()
    prompts = torch.randint(4, 32, (B, P))
    ids = torch.cat([prompts.repeat_interleave(G, 0), torch.randint(4, 32, (B * G, C))], dim=1)
    groups = [PromptGroup(b * G, G, P) for b in range(B)]
    return model, ids, groups


def loss_of(logits, ids, P: int):
    logp = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, P:].unsqueeze(-1)).squeeze(-1)
    return logp.sum()


def timed(step, repeats: int) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    from rl.forward import llama
    from rl.forward.shared_prefix import shared_prefix_logits, worth_sharing

    torch.set_num_threads(1)
    rows = []
    for B, G, P, C in CONFIGS:
        model, ids, groups = model_and_batch(B, G, P, C)
        keep = C + 1

        def plain():
            model.zero_grad(set_to_none=True)
            loss = loss_of(llama.causal_logits(model, ids, keep), ids, P)
            loss.backward()
            return loss

        def shared():
            model.zero_grad(set_to_none=True)
            loss = loss_of(shared_prefix_logits(model, ids, keep, groups), ids, P)
            loss.backward()
            return loss

        assert torch.allclose(plain(), shared(), rtol=1e-4), (B, G, P, C)
        repeats = 30 if P * C < 2000 else 10
        t_plain, t_shared = timed(plain, repeats), timed(shared, repeats)
        rows.append(
            {
                "prompts": B,
                "group": G,
                "prompt_tokens": P,
                "completion_tokens": C,
                "plain_s": round(t_plain, 5),
                "shared_s": round(t_shared, 5),
                "speedup": round(t_plain / t_shared, 3),
                "trainer_shares": worth_sharing(groups, P + C),
            }
        )
        print(
            f"B={B} G={G} P={P:>3} C={C:>2}: plain {t_plain * 1e3:8.2f} ms, shared "
            f"{t_shared * 1e3:8.2f} ms, {t_plain / t_shared:5.2f}x  (trainer shares: "
            f"{rows[-1]['trainer_shares']})"
        )
    result = {
        "benchmark": "shared_prefix_training_forward",
        "baseline": "rl.forward.llama.causal_logits (plain)",
        "model": "Llama hidden 64, 2 layers, fp32, 1 torch thread",
        "rows": rows,
        "machine": {
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
        },
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "prefix.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
