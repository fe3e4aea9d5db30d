"""Where a benchmark's time goes, measured with a profiler: `make bench` explains its figures
with these. Everything comes back as plain dicts of seconds and shares.

- TensorFlow profiler: `trace_tf(fn, logdir)` runs fn under tf.profiler and returns the
  .xplane.pb it wrote; `tf_step_profile(path)` reads its host plane (the XSpace protobuf
  classes ship inside TensorFlow) and sums op time per op type over the training steps,
  with how much of the steps' wall time no op covers.
- cProfile: `cprofile(fn)` gives pstats.Stats; `top_self`, `callees`, `callers`,
  `called_from`, `cumulative`, `calls` and `split` summarise one.

Functions are named as cProfile names them: (path suffix, function name), e.g.
("dataset/decode.py", "read_bytes"), or ("~", "<built-in method time.sleep>") for a builtin.
"""

from __future__ import annotations

import cProfile
import pstats
import sysconfig
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST_PLANE = "/host:CPU"
STEP_EVENT = "multi_step_on_iterator"  # the tf.function Keras 3 calls once per training step
GET_NEXT_EVENT = "IteratorGetNextOp::DoCompute"  # a step waiting for its batch
INPUT_LINE_PREFIX = "tf_data"  # threads of tf.data (map functions, prefetch)
ONEDNN_PREFIXES = ("_MklNative", "_Mkl")  # oneDNN kernels replace the stock TF op
FLOP_KERNELS = ("Conv2D", "MatMul")  # the ops whose FLOPs bench counts (conv and dense)

Function = tuple[str, str]

# --- TensorFlow profiler ---


@dataclass(frozen=True)
class Span:
    """One traced event; times in picoseconds on the trace's clock (shared by all lines)."""

    start: int
    end: int
    name: str
    op_type: str | None  # the TF op type ("_MklNativeConv2D", "Relu") for op events


def trace_tf(fn: Callable[[], object], logdir: Path | str) -> Path:
    """Run fn under the TensorFlow profiler (host events only); the .xplane.pb written."""
    import tensorflow as tf

    options = tf.profiler.experimental.ProfilerOptions(
        host_tracer_level=2, python_tracer_level=0, device_tracer_level=0
    )
    tf.profiler.experimental.start(str(logdir), options=options)
    try:
        fn()
    finally:
        tf.profiler.experimental.stop()
    files = sorted(Path(logdir).glob("plugins/profile/*/*.xplane.pb"))
    if not files:
        raise RuntimeError(f"the TensorFlow profiler wrote no .xplane.pb under {logdir}")
    return files[-1]


def host_lines(path: Path | str) -> dict[str, list[Span]]:
    """The host plane's events with a duration, by line (one line per thread)."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:  # where TensorFlow moves its copy of TSL
        from tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(path).read_bytes())
    plane = next((p for p in space.planes if p.name == HOST_PLANE), None)
    if plane is None:
        raise ValueError(f"{path} has no {HOST_PLANE} plane")
    op_types = {key: _op_type(meta) for key, meta in plane.event_metadata.items()}
    names = {key: meta.name for key, meta in plane.event_metadata.items()}
    lines: dict[str, list[Span]] = defaultdict(list)
    for line in plane.lines:
        base = line.timestamp_ns * 1000
        for event in line.events:
            if event.duration_ps:  # zero-length events are thread-pool bookkeeping
                start = base + event.offset_ps
                key = event.metadata_id
                lines[line.name].append(
                    Span(start, start + event.duration_ps, names[key], op_types[key])
                )
    return dict(lines)


def _op_type(meta) -> str | None:
    # TF names an op's event "<node name>:<op type>" and puts the type in display_name;
    # framework events (executor, iterator, eager runtime) have no such pair.
    if meta.display_name and meta.name.endswith(":" + meta.display_name):
        return meta.display_name
    return None


def op_family(op_type: str) -> str:
    """The op without its oneDNN prefix: _MklNativeConv2DBackpropFilter -> Conv2DBackpropFilter."""
    for prefix in ONEDNN_PREFIXES:
        if op_type.startswith(prefix):
            return op_type[len(prefix) :]
    return op_type


def tf_step_profile(
    path: Path | str,
    *,
    scopes: dict[str, str] | None = None,
    step: str = STEP_EVENT,
    skip_steps: int = 1,
    top: int = 6,
) -> dict:
    """Op time per op type over the traced training steps, and what no op covers.

    The window runs from the start of the first analysed step to the end of the last
    (the first `skip_steps` are left out: an epoch's first step waits for the input
    pipeline to fill and may trace). Inside it:
    - top: op types of the model step by seconds, with their share of all op time
      (model and input pipeline); executor threads run ops in parallel, so op time can
      exceed the window's wall time;
    - input_pipeline_share: tf.data ops (augmentation) as a share of all op time;
      they run on the same cores, concurrently with the step;
    - input_wait_share: wall time the step spends waiting for its batch (GetNext);
    - overhead_share: wall time in which no op runs on any thread (executor and
      eager-runtime dispatch, Keras's Python between steps, idle);
    - between_steps_share: wall time between one step's end and the next one's start;
    - ops_in_flight: op time / wall time, the mean number of ops running at once
      (an op may itself use several cores, which this does not see);
    - flop_kernel_share: convolutions and matmuls, the ops that do the FLOPs bench
      counts, as a share of all op time;
    - onednn_share: ops run by oneDNN kernels (_Mkl*) as a share of all op time;
    - by_layer (with `scopes`, a layer name -> group such as its class): the model
      step's op time by the layer whose name scope the op's node sits in (its
      gradient included), with each group's top op types; unmatched ops are "other".
    """
    lines = host_lines(path)
    steps = _steps(lines, step, skip_steps, path)
    begin, end = steps[0].start, steps[-1].end
    wall = end - begin
    tally = _tally(lines, begin, end, _scope_matcher(scopes or {}))
    op_time = sum(tally.model_ops.values()) + tally.input_ops
    families: dict[str, int] = defaultdict(int)
    for op_type, ps in tally.model_ops.items():
        families[op_family(op_type)] += ps
    flop_ps = sum(ps for name, ps in families.items() if any(k in name for k in FLOP_KERNELS))
    onednn_ps = sum(ps for t, ps in tally.model_ops.items() if t.startswith(ONEDNN_PREFIXES))
    gaps = sum(b.start - a.end for a, b in zip(steps, steps[1:], strict=False))
    durations = sorted(s.end - s.start for s in steps)
    profile = {
        "steps": len(steps),
        "step_ms_median": round(durations[len(durations) // 2] / 1e9, 2),
        "op_seconds": round(op_time / 1e12, 3),
        "wall_seconds": round(wall / 1e12, 3),
        "top": _ranked(families, op_time, top, "op types"),
        "input_pipeline_share": _share(tally.input_ops, op_time),
        "input_wait_share": _share(tally.waiting, wall),
        "overhead_share": _share(wall - _union(tally.busy), wall),
        "between_steps_share": _share(gaps, wall),
        "ops_in_flight": round(op_time / wall, 2),
        "flop_kernel_share": _share(flop_ps, op_time),
        "onednn_share": _share(onednn_ps, op_time),
    }
    if scopes:
        profile["by_layer"] = _by_layer(tally.layer_ops, op_time, top)
    return profile


def _steps(lines: dict[str, list[Span]], step: str, skip: int, path) -> list[Span]:
    """The training-step events in time order, the first `skip` left out."""
    steps = sorted((s for spans in lines.values() for s in spans if s.name == step), key=_start)
    if len(steps) <= skip:
        raise ValueError(
            f"{path}: {len(steps)} {step!r} events, need more than {skip} (was a Keras fit traced?)"
        )
    return steps[skip:]


def _start(span: Span) -> int:
    return span.start


@dataclass
class _Tally:
    """Picoseconds inside the window, by what spent them."""

    model_ops: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by op type
    layer_ops: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    input_ops: int = 0  # ops on tf.data threads
    waiting: int = 0  # steps waiting for their batch
    busy: list[tuple[int, int]] = field(default_factory=list)  # every op's interval


def _tally(
    lines: dict[str, list[Span]], begin: int, end: int, group_of: Callable[[str], str]
) -> _Tally:
    """Op time inside [begin, end], events clipped to it, by op type, layer and thread kind."""
    tally = _Tally()
    for line, spans in lines.items():
        for span in spans:
            start, stop = max(span.start, begin), min(span.end, end)
            if stop <= start:
                continue
            if span.name == GET_NEXT_EVENT:
                tally.waiting += stop - start
            if span.op_type is None:
                continue
            tally.busy.append((start, stop))
            if line.startswith(INPUT_LINE_PREFIX):
                tally.input_ops += stop - start
            else:
                tally.model_ops[span.op_type] += stop - start
                tally.layer_ops[group_of(span.name), op_family(span.op_type)] += stop - start
    return tally


def _ranked(picoseconds: dict[str, int], total: int, top: int, what: str) -> list[dict]:
    """The `top` largest entries and the rest summed as "other", as shares of total."""
    ranked = sorted(picoseconds.items(), key=lambda item: -item[1])
    rows = [_entry(name, ps, total) for name, ps in ranked[:top]]
    rest = ranked[top:]
    if rest:
        rows.append(_entry(f"other ({len(rest)} {what})", sum(ps for _, ps in rest), total))
    return rows


def _scope_matcher(scopes: dict[str, str]) -> Callable[[str], str]:
    """node name -> group of the first name-scope component that is a known scope.

    Inside a tf.function Keras suffixes scopes ("conv2_1" becomes "conv2_1_1"), so a
    component matches a scope it equals or starts with followed by "_"; the longest wins.
    """
    names = sorted(scopes, key=len, reverse=True)
    cache: dict[str, str] = {}

    def group(event_name: str) -> str:
        if event_name not in cache:
            cache[event_name] = "other"
            for part in event_name.rsplit(":", 1)[0].split("/"):
                found = next((n for n in names if part == n or part.startswith(n + "_")), None)
                if found:
                    cache[event_name] = scopes[found]
                    break
        return cache[event_name]

    return group


def _by_layer(layer_ops: dict[tuple[str, str], int], op_time: int, top: int) -> list[dict]:
    """Op time by layer group (share of all op time), each with its top op types."""
    totals: dict[str, int] = defaultdict(int)
    for (group, _), ps in layer_ops.items():
        totals[group] += ps
    rows = []
    for group, ps in sorted(totals.items(), key=lambda item: -item[1])[:top]:
        ops = sorted(((t, p) for (g, t), p in layer_ops.items() if g == group), key=lambda i: -i[1])
        row = _entry(group, ps, op_time)
        row["ops"] = ", ".join(f"{t} {p / ps:.0%}" for t, p in ops[:4])
        rows.append(row)
    return rows


def _union(intervals: list[tuple[int, int]]) -> int:
    """Total length covered by at least one interval."""
    covered, reach = 0, None
    for start, stop in sorted(intervals):
        if reach is None or start > reach:
            covered += stop - start
            reach = stop
        elif stop > reach:
            covered += stop - reach
            reach = stop
    return covered


def _entry(name: str, picoseconds: int, total: int) -> dict:
    return {
        "name": name,
        "seconds": round(picoseconds / 1e12, 3),
        "share": _share(picoseconds, total),
    }


def _share(part: float, total: float) -> float:
    return round(part / total, 3) if total else 0.0


# --- cProfile ---

_Key = tuple[str, int, str]  # pstats' (filename, line, function name)


def cprofile(fn: Callable[[], object]) -> pstats.Stats:
    """Run fn once under cProfile (this thread only)."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    return pstats.Stats(profiler)


def label(key: _Key) -> str:
    """pstats' file:line(function), the file relative to site-packages, stdlib or the project."""
    filename, line, name = key
    if filename == "~":  # a builtin: its name says it all
        return name
    path = filename.replace("\\", "/")
    for base in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], str(ROOT)):
        base = base.replace("\\", "/").rstrip("/") + "/"
        if path.startswith(base):
            path = path[len(base) :]
            break
    return f"{path}:{line}({name})"


def _matching(stats: pstats.Stats, fn: Function) -> list[_Key]:
    suffix, name = fn
    return [k for k in stats.stats if k[2] == name and k[0].replace("\\", "/").endswith(suffix)]


def cumulative(stats: pstats.Stats, fn: Function) -> float:
    """Seconds spent in fn and what it called (summed over functions that match)."""
    return sum(stats.stats[k][3] for k in _matching(stats, fn))


def calls(stats: pstats.Stats, fn: Function) -> int:
    return sum(stats.stats[k][1] for k in _matching(stats, fn))


def _edges(stats: pstats.Stats, parent: Function) -> dict[_Key, float]:
    """Cumulative seconds of each function when called from `parent`."""
    parents = set(_matching(stats, parent))
    edges: dict[_Key, float] = defaultdict(float)
    for key, (*_, callers) in stats.stats.items():
        for caller in parents & callers.keys():
            edges[key] += callers[caller][3]
    return edges


def called_from(stats: pstats.Stats, parent: Function, child: Function) -> float:
    """Seconds in `child` (and below) when `parent` called it."""
    suffix, name = child
    return sum(
        s
        for k, s in _edges(stats, parent).items()
        if k[2] == name and k[0].replace("\\", "/").endswith(suffix)
    )


def callees(stats: pstats.Stats, parent: Function, top: int = 5) -> list[dict]:
    """What `parent` spent its time calling, as shares of its cumulative time."""
    total = cumulative(stats, parent)
    ranked = sorted(_edges(stats, parent).items(), key=lambda item: -item[1])
    return [_row(label(k), s, total) for k, s in ranked[:top]]


def callers(stats: pstats.Stats, fn: Function, top: int = 3) -> list[dict]:
    """Who called `fn`, with the seconds spent in it from each, as shares of its time."""
    total = cumulative(stats, fn)
    edges: dict[_Key, float] = defaultdict(float)
    for key in _matching(stats, fn):
        for caller, edge in stats.stats[key][4].items():
            edges[caller] += edge[3]
    ranked = sorted(edges.items(), key=lambda item: -item[1])
    return [_row(label(k), s, total) for k, s in ranked[:top]]


def top_self(stats: pstats.Stats, top: int = 5) -> list[dict]:
    """Functions by their own time (callees excluded), as shares of the whole profile."""
    ranked = sorted(stats.stats.items(), key=lambda item: -item[1][2])
    return [_row(label(k), v[2], stats.total_tt) for k, v in ranked[:top]]


def split(total: float, parts: dict[str, float]) -> list[dict]:
    """Named, non-overlapping parts of `total` and the rest ("other"), largest first."""
    rows = [_row(name, seconds, total) for name, seconds in parts.items()]
    rows.append(_row("other", max(0.0, total - sum(parts.values())), total))
    return sorted(rows, key=lambda row: -row["seconds"])


def _row(name: str, seconds: float, total: float) -> dict:
    return {"name": name, "seconds": round(seconds, 4), "share": _share(seconds, total)}
