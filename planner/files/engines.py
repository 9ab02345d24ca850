"""Engine profiles: YAML mapping → Engine (fixed costs, collectives, scheduler limits), every problem collected."""

from __future__ import annotations

from pathlib import Path

from planner.domain import ALLREDUCE_ALGORITHMS, LINK_KINDS, Engine
from planner.files.checker import Checker, check_id

_TOP = {"kind", "id", "name", "overheads", "allreduce", "scheduler", "calibrated", "note", "sources", "notes"}
_REQUIRED = {"id", "name", "overheads", "allreduce", "scheduler", "sources"}
_OVERHEADS = {"step", "layer", "request"}
_OVERHEADS_REQUIRED = {"step", "layer"}
_ALLREDUCE = {"algorithm", "step_latency"}
_SCHEDULER = {"max_batch", "max_num_tokens", "chunked_prefill", "prefill_chunk_tokens", "kv_admission"}
_SCHEDULER_REQUIRED = {"max_batch", "max_num_tokens", "chunked_prefill", "prefill_chunk_tokens"}
KV_ADMISSION = ("full", "current")
# Physical bounds: fixed costs up to 10 s, scheduler limits up to what any engine allocates.
MAX_OVERHEAD_S = 10.0
MAX_SEQUENCES = 10_000_000
MAX_TOKENS_PER_PASS = 1_000_000_000


def parse_engine(data: dict, path: Path) -> Engine:
    """Build an Engine from a YAML mapping, collecting every problem."""
    c = Checker(path)
    c.keys(data, _TOP, _REQUIRED)
    check_id(c, data, path)
    over = c.mapping(data, "overheads")
    c.keys(over, _OVERHEADS, _OVERHEADS_REQUIRED, "overheads.")
    ar = c.mapping(data, "allreduce")
    c.keys(ar, _ALLREDUCE, _ALLREDUCE, "allreduce.")
    lat = c.mapping(ar, "step_latency", "allreduce.")
    c.keys(lat, set(LINK_KINDS), set(LINK_KINDS), "allreduce.step_latency.")
    sched = c.mapping(data, "scheduler")
    c.keys(sched, _SCHEDULER, _SCHEDULER_REQUIRED, "scheduler.")
    algo = c.mapping(ar, "algorithm", "allreduce.")
    c.keys(algo, set(LINK_KINDS), set(LINK_KINDS), "allreduce.algorithm.")
    algorithms = {}
    for kind in LINK_KINDS:
        raw = algo.get(kind, "ring")
        names = raw if isinstance(raw, list) else [raw]
        chosen = []
        for name in names:
            value = c.text({kind: name}, kind, "allreduce.algorithm.", default="ring", choices=ALLREDUCE_ALGORITHMS)
            if value in ALLREDUCE_ALGORITHMS:
                chosen.append(value)
        algorithms[kind] = tuple(chosen) or ("ring",)
    engine = Engine(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        step_overhead_s=c.quantity(over, "step", "seconds", "overheads.", allow_zero=True, maximum=MAX_OVERHEAD_S),
        layer_overhead_s=c.quantity(over, "layer", "seconds", "overheads.", allow_zero=True, maximum=MAX_OVERHEAD_S),
        allreduce_algorithm=algorithms,
        allreduce_step_latency_s={k: c.quantity(lat, k, "seconds", "allreduce.step_latency.", allow_zero=True, maximum=MAX_OVERHEAD_S) for k in LINK_KINDS},
        max_batch=c.integer(sched, "max_batch", "scheduler.", default=1, maximum=MAX_SEQUENCES),
        max_num_tokens=c.integer(sched, "max_num_tokens", "scheduler.", default=1, maximum=MAX_TOKENS_PER_PASS),
        chunked_prefill=c.boolean(sched, "chunked_prefill", "scheduler."),
        prefill_chunk_tokens=c.integer(sched, "prefill_chunk_tokens", "scheduler.", default=1, maximum=MAX_TOKENS_PER_PASS),
        request_overhead_s=c.quantity(over, "request", "seconds", "overheads.", required=False, allow_zero=True, maximum=MAX_OVERHEAD_S),
        kv_admission=c.text(sched, "kv_admission", "scheduler.", default="full", choices=KV_ADMISSION),
        calibrated=c.boolean(data, "calibrated"),
        note=c.text(data, "note"),
        sources=c.sources(data, ("scheduler", "overheads")),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    c.raise_if_any()
    return engine
