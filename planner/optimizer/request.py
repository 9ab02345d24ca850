"""What a user asks `recommend`/`frontier`: the accuracy source, a target or a budget, the objective, constraints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.domain import DEFAULT_TREE_STEPS
from planner.errors import InputError

OBJECTIVES = ("cost", "latency", "energy", "flops")
# Methods that are candidates only when --methods names them: pass-at-k needs an executable verifier,
# human-pick a person, ensemble a set of different models (costed here as k runs of one model).
OPT_IN_METHODS = ("pass-at-k", "human-pick", "ensemble")
DEFAULT_PRECISIONS = ("bf16", "fp8", "int8", "int4", "fp4")
TP_CHOICES = (1, 2, 4, 8, 16)
MAX_SAMPLES = 1024

# Serving batch of a shared deployment: the largest batch whose KV cache fits, capped at vLLM's default
# max_num_seqs = 256 (vLLM engine arguments, https://docs.vllm.ai/en/latest/configuration/engine_args.html).
SERVING_BATCH_CAP = 256
# Reading speed for human-pick: ~200 words a minute, a round figure below the 238 wpm mean for silent reading
# of non-fiction (Brysbaert 2019, J. Memory and Language 109:104047); ~0.75 words per token (OpenAI, "What are
# tokens and how to count them", help.openai.com).
READING_WORDS_PER_MINUTE = 200.0
WORDS_PER_TOKEN = 0.75


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchRequest:
    """One `recommend`/`frontier` question. Fractions for accuracy, SI units elsewhere.

    Exactly one of ``target_accuracy`` (minimise ``minimize`` subject to reaching it) or a budget
    (``budget_usd_per_1k_queries``, ``budget_flops_per_query``, ``budget_gpu_seconds_per_query`` or
    ``max_latency_s``: maximise accuracy within it) frames the question; ``frontier`` needs neither.
    """

    target_accuracy: float | None = None
    budget_usd_per_1k_queries: float | None = None
    budget_flops_per_query: float | None = None
    budget_gpu_seconds_per_query: float | None = None
    max_latency_s: float | None = None
    max_ttft_s: float | None = None
    minimize: str = "cost"
    models: tuple[str, ...] | None = None
    hardware: tuple[str, ...] | None = None
    precisions: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    max_samples: int = MAX_SAMPLES
    max_devices: int | None = None
    prompt_tokens: float | None = None
    output_tokens: float | None = None
    reward_model: str | None = None
    engine: str = "generic"
    dedicated: bool = False
    serving_batch: int | None = None
    tree_steps: int = DEFAULT_TREE_STEPS
    oracle_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.minimize not in OBJECTIVES:
            raise InputError(f"--minimize must be one of {', '.join(OBJECTIVES)}, got {self.minimize!r}")
        if self.target_accuracy is not None and not (0.0 < self.target_accuracy <= 1.0):
            raise InputError(f"--target-accuracy must be in (0, 1] (a fraction, or a percentage such as 45%), got {self.target_accuracy!r}")
        for name in ("budget_usd_per_1k_queries", "budget_flops_per_query", "budget_gpu_seconds_per_query", "max_latency_s",
                     "max_ttft_s", "prompt_tokens", "output_tokens", "oracle_seconds"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0 or (value == 0 and name != "oracle_seconds")):
                raise InputError(f"--{name.replace('_', '-')} must be a finite number > 0, got {value!r}")
        for name in ("max_samples", "max_devices", "serving_batch", "tree_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1 or value > 1_000_000):
                raise InputError(f"--{name.replace('_', '-')} must be a whole number between 1 and 1,000,000, got {value!r}")

    @property
    def budgets(self) -> dict[str, float]:
        """The budget constraints given, by metric name."""
        out = {"usd_per_1k_queries": self.budget_usd_per_1k_queries, "flops_per_query": self.budget_flops_per_query,
               "gpu_seconds_per_query": self.budget_gpu_seconds_per_query}
        return {k: v for k, v in out.items() if v is not None}

    @property
    def mode(self) -> str:
        """'target' (cheapest that reaches the accuracy) or 'budget' (most accurate within the limits)."""
        return "target" if self.target_accuracy is not None else "budget"

    def require_question(self) -> None:
        """`recommend` needs a target or at least one budget; both together are contradictory."""
        if self.target_accuracy is None and not self.budgets and self.max_latency_s is None:
            raise InputError("give --target-accuracy, or a budget (--budget-usd-per-1k-queries, --budget-flops-per-query, "
                             "--budget-gpu-seconds-per-query or --max-latency-s)")
        if self.target_accuracy is not None and self.budgets:
            raise InputError("give either --target-accuracy or a budget (--budget-...), not both: a target minimises "
                             "--minimize subject to the accuracy, a budget maximises accuracy within it")


def parse_accuracy(text: str) -> float:
    """'0.45' or '45%' → 0.45."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"--target-accuracy: expected a fraction such as 0.45 or a percentage such as 45%, got {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"--target-accuracy: expected a finite number, got {text!r}")
    if value > 1.0 and not raw.endswith("%"):
        raise InputError(f"--target-accuracy: {text} is above 1; write a percentage with a % sign (e.g. {text}%)")
    return value


def parse_list(text: str | None) -> tuple[str, ...] | None:
    """'a,b, c' → ('a', 'b', 'c'); None or empty → None."""
    if text is None:
        return None
    items = tuple(dict.fromkeys(part.strip() for part in str(text).split(",") if part.strip()))
    return items or None
