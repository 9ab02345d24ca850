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

Sample-based estimators (pass@k, majority@k, best-of-n@k, weighted@k) live at the bottom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.domain import SEARCH_METHODS, ModelProfile
from planner.errors import InputError, UnknownNameError


METHODS: tuple[str, ...] = SEARCH_METHODS

VERIFIER_KINDS = ("none", "reward-model", "oracle", "human")


@dataclass(frozen=True, slots=True, kw_only=True)
class Method:
    """A search method: how it aggregates k samples and what verifies them."""

    id: str
    verifier: str  # one of VERIFIER_KINDS
    tree: bool  # step-wise search over a tree of partial solutions
    forced_samples: int | None  # greedy: always 1
    description: str
    source: str


_METHODS: dict[str, Method] = {
    m.id: m
    for m in (
        Method(id="greedy", verifier="none", tree=False, forced_samples=1,
               description="one greedy (temperature 0) completion",
               source="Wu et al. 2024 (arXiv 2408.00724) §3.2"),
        Method(id="majority", verifier="none", tree=False, forced_samples=None,
               description="k sampled completions, the most frequent final answer wins",
               source="Wang et al. 2023 self-consistency; Wu et al. 2024 §3.2"),
        Method(id="best-of-n", verifier="reward-model", tree=False, forced_samples=None,
               description="k sampled completions, the one the reward model scores highest",
               source="Wu et al. 2024 §3.2 (Llemma-34B PRM as scorer)"),
        Method(id="weighted-majority", verifier="reward-model", tree=False, forced_samples=None,
               description="k sampled completions, answers voted with reward-model weights",
               source="Wu et al. 2024 §3.2; Li et al. 2023"),
        Method(id="mcts", verifier="reward-model", tree=True, forced_samples=None,
               description="Monte Carlo tree search over solution steps with rollouts scored by a reward model",
               source="Wu et al. 2024 §3.3 (MCTS baseline); accounting is this module's"),
        Method(id="rebase", verifier="reward-model", tree=True, forced_samples=None,
               description="reward-balanced search: k nodes per step expanded in proportion to softmax(PRM score)",
               source="Wu et al. 2024 §3.3-3.4 (REBASE)"),
        Method(id="pass-at-k", verifier="oracle", tree=False, forced_samples=None,
               description="k sampled completions, solved if any passes an executable/oracle check",
               source="Chen et al. 2021 (arXiv 2107.03374); Brown et al. 2024 (arXiv 2407.21787)"),
        Method(id="ensemble", verifier="none", tree=False, forced_samples=None,
               description="one completion from each of k different models, answers voted",
               source="planner convention (majority vote over heterogeneous generators)"),
        Method(id="human-pick", verifier="human", tree=False, forced_samples=None,
               description="k sampled completions shown to a person who picks one",
               source="planner convention; see human_pick_win_rate"),
    )
}


def method(name: str) -> Method:
    """Look up a search method by id; unknown ids raise UnknownNameError with suggestions."""
    key = str(name).strip().lower()
    if key not in _METHODS:
        raise UnknownNameError("method", name, METHODS)
    return _METHODS[key]


# ---------------------------------------------------------------------------------------------
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


def _check(name: str, value, *, minimum: float = 0.0, strict: bool = False):
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | (arr <= minimum if strict else arr < minimum)
    if np.any(bad):
        bound = f"> {minimum:g}" if strict else f"≥ {minimum:g}"
        raise InputError(f"{name} must be {bound}, got {value!r}")
    return value


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
    _check("prompt_tokens", prompt_tokens)
    _check("output_tokens", output_tokens, strict=True)
    _check("token_overhead", token_overhead, minimum=1.0)

    if spec.id == "ensemble":
        return _ensemble_cost(generator, prompt_tokens, output_tokens)
    if not isinstance(generator, ModelProfile):
        raise InputError(f"method '{spec.id}' takes one generator model; pass a list only for 'ensemble'")
    if spec.verifier == "reward-model" and verifier is None:
        raise InputError(f"method '{spec.id}' needs a verifier (reward model) profile, e.g. llemma-34b")

    k = spec.forced_samples if spec.forced_samples is not None else samples
    _check("samples", k, minimum=1.0)
    P, T = prompt_tokens, output_tokens
    gen_prefill = prefill_flops(generator, P)

    if spec.tree:
        _check("rollouts_per_node", rollouts_per_node)
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
        _check("step_tokens", step_tokens, strict=True)
        return T / step_tokens, step_tokens
    _check("n_steps", n_steps, minimum=1.0)
    if step_tokens is None:
        return n_steps, T / n_steps
    _check("step_tokens", step_tokens, strict=True)
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


# ---------------------------------------------------------------------------------------------
# Human pick


def human_pick_win_rate(k: float | np.ndarray, m: float | np.ndarray, disagreement: float | np.ndarray = 0.2) -> float | np.ndarray:
    """Probability that the sample a person picks from k beats the best of m independent draws.

    All k + m samples are i.i.d. with a continuous quality. A perfect ranker picks the best of its k,
    which beats the best of m exactly when the overall best of k + m lies among the k: k/(k + m).
    A person who disagrees with ground truth a fraction d of the time picks a uniformly random one of
    the k instead; a random one of k is distributed as a single draw, so it beats the best of m with
    probability 1/(1 + m). Hence  win = (1 - d)·k/(k + m) + d/(1 + m).
    """
    _check("k", k, minimum=1.0)
    _check("m", m)
    d = np.asarray(disagreement, dtype=float)
    if np.any((d < 0) | (d > 1)) or not np.all(np.isfinite(d)):
        raise InputError(f"disagreement must be in [0, 1], got {disagreement!r}")
    return (1.0 - disagreement) * k / (k + m) + disagreement / (1.0 + m)


# ---------------------------------------------------------------------------------------------
# Unbiased estimators from n samples per problem


def _estimate_pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)   (Chen et al. 2021, §2.1, stable form)
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=float)))


def pass_at_k(n, c, k):
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k)/C(n, k) (Chen et al. 2021).

    Accepts integers or arrays (broadcast); requires 0 ≤ c ≤ n and 1 ≤ k ≤ n.
    """
    n_a, c_a, k_a = np.broadcast_arrays(np.asarray(n), np.asarray(c), np.asarray(k))
    if np.any(c_a < 0) or np.any(c_a > n_a) or np.any(k_a < 1) or np.any(k_a > n_a):
        raise InputError("pass_at_k needs 0 ≤ c ≤ n and 1 ≤ k ≤ n")
    out = np.array([_estimate_pass_at_k(int(a), int(b), int(d)) for a, b, d in zip(n_a.ravel(), c_a.ravel(), k_a.ravel())])
    out = out.reshape(n_a.shape)
    return float(out) if out.ndim == 0 else out


def _check_k(n: int, k: int) -> None:
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise InputError(f"k must be an integer in [1, n={n}], got {k!r}")


def majority_at_k(answers: Sequence, correct, k: int) -> float:
    """Unbiased majority@k: the chance that plurality vote over a uniformly random k-subset of the n
    samples (without replacement) returns the correct answer, ties broken uniformly at random.

    answers: the n final answers (hashable); correct: the correct answer. Exact, by counting subsets:
    for each count j of correct answers in the subset, a dynamic programme over the other answers counts
    the subsets where every other answer appears fewer than j times, and those where t others tie at j
    (weight 1/(t+1)).
    """
    n = len(answers)
    _check_k(n, k)
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    c = counts.pop(correct, 0)
    others = list(counts.values())
    total = math.comb(n, k)
    win = 0.0
    for j in range(1, min(c, k) + 1):
        rest = k - j
        # ways[s][t] = subsets of size s from the groups so far with every group < j, except t groups == j
        ways: dict[tuple[int, int], int] = {(0, 0): 1}
        for g in others:
            nxt: dict[tuple[int, int], int] = {}
            for (s, t), w in ways.items():
                for x in range(0, min(g, j, rest - s) + 1):
                    key = (s + x, t + (x == j))
                    nxt[key] = nxt.get(key, 0) + w * math.comb(g, x)
            ways = nxt
        subsets = sum(w / (t + 1) for (s, t), w in ways.items() if s == rest)
        win += math.comb(c, j) * subsets
    return win / total


def best_of_n_at_k(rewards: Sequence[float], correct: Sequence[bool], k: int) -> float:
    """Unbiased best-of-n@k: the chance that the highest-reward sample of a random k-subset is correct.

    With samples sorted by reward, the one with r samples above it is the subset maximum with probability
    C(n-1-r, k-1)/C(n, k). Tied rewards share their probability equally (random tie-break).
    """
    r = np.asarray(rewards, dtype=float)
    ok = np.asarray(correct, dtype=float)
    n = r.size
    if ok.size != n:
        raise InputError("rewards and correct must have the same length")
    _check_k(n, k)
    order = np.argsort(-r, kind="stable")
    r_sorted, ok_sorted = r[order], ok[order]
    total = math.comb(n, k)
    p_max = np.array([math.comb(n - 1 - i, k - 1) / total for i in range(n)])
    out = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and r_sorted[j + 1] == r_sorted[i]:
            j += 1
        out += p_max[i : j + 1].sum() * ok_sorted[i : j + 1].mean()
        i = j + 1
    return float(out)


def weighted_at_k(answers: Sequence, rewards: Sequence[float], correct, k: int, *, n_draws: int = 4000, seed: int = 0) -> float:
    """Weighted majority@k: the chance that the answer with the largest summed reward over a random
    k-subset is correct (ties broken uniformly).

    Exact (enumerates every subset) when C(n, k) ≤ n_draws; otherwise an unbiased Monte Carlo estimate
    over ``n_draws`` subsets drawn with ``numpy.random.default_rng(seed)`` (no closed form is known).
    """
    import itertools

    n = len(answers)
    r = np.asarray(rewards, dtype=float)
    if r.size != n:
        raise InputError("answers and rewards must have the same length")
    _check_k(n, k)
    labels = {a: i for i, a in enumerate(dict.fromkeys(answers))}
    idx = np.array([labels[a] for a in answers])
    target = labels.get(correct, -1)

    def score(subset) -> float:
        totals = np.bincount(idx[list(subset)], weights=r[list(subset)], minlength=len(labels))
        best = totals.max()
        winners = np.flatnonzero(np.isclose(totals, best, rtol=0, atol=1e-12) & (np.bincount(idx[list(subset)], minlength=len(labels)) > 0))
        return float(target in winners) / len(winners)

    if math.comb(n, k) <= n_draws:
        subsets = list(itertools.combinations(range(n), k))
        return float(np.mean([score(s) for s in subsets]))
    rng = np.random.default_rng(seed)
    return float(np.mean([score(rng.choice(n, size=k, replace=False)) for _ in range(n_draws)]))
