"""What each inference-time search method spends: tokens, verifier work and FLOPs per query.

Pure functions over frozen inputs. Every cost is returned as a :class:`SearchCost` with named parts
(prompt tokens, generated tokens, verifier tokens and passes, parallel width, sequential decode steps,
FLOPs per part), so reports can show where compute goes.

FLOPs accounting (see ``docs/strategies.md``):

* FLOPs per token = ``ModelProfile.flops_per_token(context)`` = 2·N_matmul + 2·n_layers·(attention
  width)·context, the forward-pass count of Kaplan et al. 2020 (Table 1) as used by Brown et al. 2024
  (arXiv 2407.21787, §2.3: FLOPs per token ≈ 2·(N + 2·n_layers·d_model·ctx)).
* A shared prompt is prefilled once per query and per model (prefix caching; Brown et al. §2.3: "the
  prompt is charged once, decoding once per completion"). Prefill of P tokens costs P·f(P/2).
* Decoding T tokens after a context of P costs T·f(P + T/2): f is affine in the context, so the mean
  context over the generated sequence gives the exact sum (up to sliding-window caps).
* A reward model (outcome or process) is a model with its own profile: it prefills the shared prompt
  once and each scored token once (its KV cache shares prefixes as the generator's does).
  Wu et al. 2024 (arXiv 2408.00724) print generator FLOPs only: their best-of-n and weighted-voting rows
  equal their majority-voting rows (Table 4), so compare their tables with ``generator_flops``.

Sample-based estimators (pass@k, majority@k, best-of-n@k, weighted@k) live in ``planner.accuracy.estimators``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.domain import ModelProfile, check_values, method
from planner.errors import InputError

# Cost


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchCost:
    """What one query costs under a search method. Token counts and FLOPs are per query.

    prompt_tokens: prompt tokens prefilled by the generator(s) (once per query per generator).
    generated_tokens: tokens decoded by the generator(s), all samples, rollouts included.
    verifier_tokens: tokens the reward model processes (shared prompt once plus every scored token).
    verifier_passes: reward-model forward calls (one per scored sample or tree node).
    verifier_calls: external checks with no model FLOPs (unit tests / oracle, or items a person reads).
    parallel_width: sequences decoding at once.
    decode_steps: generator decode steps on the critical path (what drives latency).
    rounds: generator/verifier alternations on the critical path (1 for sampling, n_steps for trees).
    """

    method: str
    samples: float | np.ndarray
    prompt_tokens: float | np.ndarray
    generated_tokens: float | np.ndarray
    verifier_tokens: float | np.ndarray
    verifier_passes: float | np.ndarray
    verifier_calls: float | np.ndarray
    parallel_width: float | np.ndarray
    decode_steps: float | np.ndarray
    rounds: float | np.ndarray
    generator_prefill_flops: float | np.ndarray
    generator_decode_flops: float | np.ndarray
    verifier_flops: float | np.ndarray

    @property
    def generator_flops(self) -> float | np.ndarray:
        return self.generator_prefill_flops + self.generator_decode_flops

    @property
    def total_flops(self) -> float | np.ndarray:
        """Generator plus reward-model FLOPs per query."""
        return self.generator_flops + self.verifier_flops

    @property
    def flops_per_sample(self) -> float | np.ndarray:
        return self.total_flops / self.samples


def prefill_flops(model: ModelProfile, prompt_tokens: float | np.ndarray) -> float | np.ndarray:
    """FLOPs to prefill ``prompt_tokens`` from an empty cache: P·f(P/2) (mean attended context P/2)."""
    return prompt_tokens * model.flops_per_token(prompt_tokens / 2.0)


def decode_flops(model: ModelProfile, context_tokens: float | np.ndarray, new_tokens: float | np.ndarray) -> float | np.ndarray:
    """FLOPs to process ``new_tokens`` after ``context_tokens`` cached ones: T·f(context + T/2).

    Used for decoding and for a reward model scoring new tokens on top of a cached prefix
    (Brown et al. 2024 §2.3: context averaged over the generated sequence).
    """
    return new_tokens * model.flops_per_token(context_tokens + new_tokens / 2.0)




def search_cost(
    method_id: str,
    *,
    generator: ModelProfile | Sequence[ModelProfile],
    samples: float | np.ndarray = 1,
    prompt_tokens: float | np.ndarray,
    output_tokens: float | np.ndarray,
    verifier: ModelProfile | None = None,
    n_steps: float | np.ndarray | None = None,
    step_tokens: float | np.ndarray | None = None,
    token_overhead: float = 1.0,
    rollouts_per_node: float = 1.0,
) -> SearchCost:
    """Tokens, verifier work and FLOPs per query for ``method_id`` with ``samples`` = k.

    generator: the policy model (for ``ensemble``, a sequence of models, each run once; k = len).
    prompt_tokens / output_tokens: per query and per completion (mean lengths).
    verifier: reward model profile, required by best-of-n, weighted-majority, mcts and rebase.
    n_steps / step_tokens: tree search depth and step length; default step_tokens = output_tokens / n_steps,
        n_steps = output_tokens / step_tokens; one of them is needed for mcts and rebase.
    token_overhead: generated tokens of a tree search relative to sampling for the same k (1.0 = equal;
        Wu et al.'s Table 4 implies 1.08-1.41, see WU2024_REBASE_TOKEN_OVERHEAD).
    rollouts_per_node: MCTS simulations per expanded node.
    """
    spec = method(method_id)
    check_values("prompt_tokens", prompt_tokens)
    check_values("output_tokens", output_tokens, strict=True)
    check_values("token_overhead", token_overhead, minimum=1.0)

    if spec.id == "ensemble":
        return _ensemble_cost(generator, prompt_tokens, output_tokens)
    if not isinstance(generator, ModelProfile):
        raise InputError(f"method '{spec.id}' takes one generator model; pass a list only for 'ensemble'")
    if spec.verifier == "reward-model" and verifier is None:
        raise InputError(f"method '{spec.id}' needs a verifier (reward model) profile, e.g. llemma-34b")

    k = spec.forced_samples if spec.forced_samples is not None else samples
    check_values("samples", k, minimum=1.0)
    P, T = prompt_tokens, output_tokens
    gen_prefill = prefill_flops(generator, P)

    if spec.tree:
        check_values("rollouts_per_node", rollouts_per_node)
        n, s = _tree_shape(T, n_steps, step_tokens)
        if spec.id == "rebase":
            return _rebase_cost(spec.id, generator, verifier, k, P, T, n, s, token_overhead, gen_prefill)
        return _mcts_cost(spec.id, generator, verifier, k, P, T, n, s, token_overhead, rollouts_per_node, gen_prefill)

    # Sampling: k completions decode as one batch after one shared prefill.
    generated = k * T
    gen_decode = k * decode_flops(generator, P, T)
    zeros = 0.0 * generated
    verifier_tokens = verifier_passes = verifier_flops = verifier_calls = zeros
    if spec.verifier == "reward-model":
        # Outcome scoring of each full sample: the prompt once (cached), each sample's output once.
        verifier_tokens = P + k * T
        verifier_passes = k + zeros
        verifier_flops = prefill_flops(verifier, P) + k * decode_flops(verifier, P, T)
    elif spec.verifier in ("oracle", "human"):
        verifier_calls = k + zeros
    return SearchCost(
        method=spec.id, samples=k + zeros, prompt_tokens=P + zeros, generated_tokens=generated,
        verifier_tokens=verifier_tokens, verifier_passes=verifier_passes, verifier_calls=verifier_calls,
        parallel_width=k + zeros, decode_steps=T + zeros, rounds=1.0 + zeros,
        generator_prefill_flops=gen_prefill + zeros, generator_decode_flops=gen_decode, verifier_flops=verifier_flops,
    )


def _tree_shape(T, n_steps, step_tokens):
    if n_steps is None and step_tokens is None:
        raise InputError("tree search needs n_steps or step_tokens")
    if n_steps is None:
        check_values("step_tokens", step_tokens, strict=True)
        return T / step_tokens, step_tokens
    check_values("n_steps", n_steps, minimum=1.0)
    if step_tokens is None:
        return n_steps, T / n_steps
    check_values("step_tokens", step_tokens, strict=True)
    return n_steps, step_tokens


def _rebase_cost(mid, gen, ver, k, P, T, n, s, overhead, gen_prefill) -> SearchCost:
    """REBASE (Wu et al. 2024 §3.4): width k at each of n steps; every new node is one step of s tokens
    and is scored once by the PRM on top of its cached parent prefix. Prefixes are shared, so the tree
    decodes k·n·s = k·T tokens, the same as k independent samples of length T (times ``overhead``)."""
    depth_tokens = n * s * overhead
    generated = k * depth_tokens
    # Node at depth j sees context P + (j - 1/2)·s on average: summed over depths, the mean is P + depth/2.
    gen_decode = k * decode_flops(gen, P, depth_tokens)
    passes = k * n
    ver_flops = prefill_flops(ver, P) + k * decode_flops(ver, P, depth_tokens)
    zeros = 0.0 * generated
    return SearchCost(
        method=mid, samples=k + zeros, prompt_tokens=P + zeros, generated_tokens=generated,
        verifier_tokens=P + generated, verifier_passes=passes + zeros, verifier_calls=zeros,
        parallel_width=k + zeros, decode_steps=depth_tokens + zeros, rounds=n + zeros,
        generator_prefill_flops=gen_prefill + zeros, generator_decode_flops=gen_decode, verifier_flops=ver_flops,
    )


def _mcts_cost(mid, gen, ver, k, P, T, n, s, overhead, rollouts, gen_prefill) -> SearchCost:
    """MCTS as Wu et al. 2024 §3.3 describe it (selection, expansion, simulation, back-propagation).

    Accounting (this module's, not a published table): the tree has width k at each of n steps like
    REBASE; in addition every node expanded at depth j is evaluated by ``rollouts`` simulations that
    decode the remaining (n - j)·s tokens to a full solution, which the reward model scores. Rollout
    tokens per width slot: s·n(n-1)/2, so generated tokens = k·s·n(n+1)/2 = k·T·(n+1)/2 for one rollout.
    """
    s = s * overhead
    depth_tokens = n * s
    tree_tokens = k * depth_tokens
    rollout_tokens = rollouts * k * s * n * (n - 1) / 2.0
    generated = tree_tokens + rollout_tokens
    # Rollouts from depth j run at context P + j·s + (n - j)·s/2; averaged over j this is about P + depth·2/3.
    rollout_ctx = P + depth_tokens * 2.0 / 3.0
    gen_decode = k * decode_flops(gen, P, depth_tokens) + rollout_tokens * gen.flops_per_token(rollout_ctx)
    passes = k * n * (1.0 + rollouts)
    ver_flops = (prefill_flops(ver, P) + k * decode_flops(ver, P, depth_tokens)
                 + rollout_tokens * ver.flops_per_token(rollout_ctx))
    # Critical path: each of n rounds decodes one step, then the longest rollout (n - j steps).
    decode_steps = depth_tokens + (s * n * (n - 1) / 2.0 if rollouts > 0 else 0.0)
    zeros = 0.0 * generated
    return SearchCost(
        method=mid, samples=k + zeros, prompt_tokens=P + zeros, generated_tokens=generated,
        verifier_tokens=P + generated, verifier_passes=passes + zeros, verifier_calls=zeros,
        parallel_width=k * (1.0 + rollouts) + zeros, decode_steps=decode_steps + zeros, rounds=n + zeros,
        generator_prefill_flops=gen_prefill + zeros, generator_decode_flops=gen_decode, verifier_flops=ver_flops,
    )


def _ensemble_cost(generators, P, T) -> SearchCost:
    """k different models, each prefilling the prompt once and decoding one completion."""
    models = [generators] if isinstance(generators, ModelProfile) else list(generators)
    if not models or not all(isinstance(m, ModelProfile) for m in models):
        raise InputError("ensemble needs a non-empty list of generator model profiles")
    k = float(len(models))
    prefill = sum(prefill_flops(m, P) for m in models)
    decode = sum(decode_flops(m, P, T) for m in models)
    zeros = 0.0 * (P + T)
    return SearchCost(
        method="ensemble", samples=k + zeros, prompt_tokens=k * P + zeros, generated_tokens=k * T + zeros,
        verifier_tokens=zeros, verifier_passes=zeros, verifier_calls=zeros, parallel_width=k + zeros,
        decode_steps=T + zeros, rounds=1.0 + zeros, generator_prefill_flops=prefill + zeros,
        generator_decode_flops=decode + zeros, verifier_flops=zeros,
    )


# Tokens a REBASE tree generates relative to sampling with the same k, as implied by Wu et al. 2024
# Tables 1 and 4 (REBASE FLOPs ÷ k·greedy FLOPs of the same model): MATH500 1.16-1.41 (Llemma-34B 1.16,
# Llemma-7B 1.18, Mistral-7B 1.25, Llama3-8B 1.41), GSM8K 1.07-1.12. Values are the harmonic midpoints
# of those ranges (each row within ±10 %). The ratio is model-dependent; the default elsewhere is 1.0.
WU2024_REBASE_TOKEN_OVERHEAD = {"MATH500": 1.27, "GSM8K": 1.10}


