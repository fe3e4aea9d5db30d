"""pipeline.profiling (the xplane reader and the cProfile summaries) and the report's
"What bounds each part" section. No timing assertions: only structure and accounting."""

from __future__ import annotations

import json

import pytest

from devtools import profiling
from devtools.bench import markdown, profile_decode, training_bound_by

STEPS = 6


@pytest.fixture(scope="module")
def tiny_fit_trace(tmp_path_factory):
    """A traced fit of a one-convolution model for STEPS steps over a mapped tf.data set."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(x))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    pictures = rng.random((STEPS * 4, 8, 8, 3), dtype=np.float32)
    data = (
        tf.data.Dataset.from_tensor_slices((pictures, np.zeros(STEPS * 4, np.float32)))
        .map(lambda x, y: (x * 2.0, y))
        .batch(4)
    )
    model.fit(data, epochs=1, verbose=0, shuffle=False)  # trace the step function before tracing
    logdir = tmp_path_factory.mktemp("trace")
    path = profiling.trace_tf(lambda: model.fit(data, epochs=1, verbose=0, shuffle=False), logdir)
    scopes = {layer.name: type(layer).__name__ for layer in model.layers}
    return path, scopes


def test_tf_step_profile_finds_the_convolution_and_accounts_for_all_op_time(tiny_fit_trace):
    path, scopes = tiny_fit_trace
    profile = profiling.tf_step_profile(path, scopes=scopes, top=3)
    assert profile["steps"] == STEPS - 1  # the first step is left out
    names = [row["name"] for row in profile["top"]]
    assert any("Conv2D" in name for name in names)
    assert len(names) <= 4  # top 3 and "other"
    total = sum(row["share"] for row in profile["top"]) + profile["input_pipeline_share"]
    assert total == pytest.approx(1.0, abs=0.01)
    for key in ("input_wait_share", "overhead_share", "between_steps_share", "flop_kernel_share"):
        assert 0.0 <= profile[key] <= 1.0, key
    groups = {row["name"] for row in profile["by_layer"]}
    assert "Conv2D" in groups
    json.dumps(profile)  # plain data, ready for the report


def test_tf_step_profile_says_when_no_training_step_was_traced(tiny_fit_trace):
    path, _ = tiny_fit_trace
    with pytest.raises(ValueError, match="no_such_step"):
        profiling.tf_step_profile(path, step="no_such_step")


def test_host_lines_keep_op_types_apart_from_framework_events(tiny_fit_trace):
    path, _ = tiny_fit_trace
    spans = [s for line in profiling.host_lines(path).values() for s in line]
    assert any(s.op_type and "Conv2D" in s.op_type for s in spans)
    assert any(s.name == profiling.STEP_EVENT and s.op_type is None for s in spans)
    assert all(s.end > s.start for s in spans)


def test_op_family_drops_the_onednn_prefix():
    assert profiling.op_family("_MklNativeConv2DBackpropFilter") == "Conv2DBackpropFilter"
    assert profiling.op_family("_MklMatMul") == "MatMul"
    assert profiling.op_family("Relu") == "Relu"


def _leaf(n: int) -> int:
    return sum(range(n))


def _other_leaf(n: int) -> list[int]:
    return sorted(range(n, 0, -1))


def _parent() -> None:
    for _ in range(3):
        _leaf(1000)
    _other_leaf(1000)


THIS = "tests/devtools/test_profiling.py"


def test_cprofile_summaries_of_a_known_call_tree():
    stats = profiling.cprofile(_parent)
    assert profiling.calls(stats, (THIS, "_leaf")) == 3
    assert profiling.calls(stats, (THIS, "_other_leaf")) == 1
    children = [row["name"] for row in profiling.callees(stats, (THIS, "_parent"))]
    assert any(name.endswith("(_leaf)") for name in children)
    assert any(name.endswith("(_other_leaf)") for name in children)
    assert all("test_profiling.py" in n for n in children if "_leaf" in n)
    parent_s = profiling.cumulative(stats, (THIS, "_parent"))
    leaf_s = profiling.called_from(stats, (THIS, "_parent"), (THIS, "_leaf"))
    assert 0.0 < leaf_s <= parent_s
    assert profiling.called_from(stats, (THIS, "_leaf"), (THIS, "_parent")) == 0.0
    assert profiling.callers(stats, (THIS, "_leaf"))[0]["name"].endswith("(_parent)")
    shares = [row["share"] for row in profiling.top_self(stats, top=100)]
    assert sum(shares) == pytest.approx(1.0, abs=0.01)


def test_an_unknown_function_costs_nothing():
    stats = profiling.cprofile(_parent)
    assert profiling.cumulative(stats, (THIS, "no_such_function")) == 0.0
    assert profiling.callees(stats, (THIS, "no_such_function")) == []


def test_split_adds_the_rest_as_other_largest_first():
    rows = profiling.split(10.0, {"a": 2.0, "b": 5.0})
    assert [row["name"] for row in rows] == ["b", "other", "a"]
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    assert profiling.split(1.0, {"a": 2.0})[-1] == {"name": "other", "seconds": 0.0, "share": 0.0}


def test_label_is_short_for_libraries_and_plain_for_builtins():
    import json as module

    stats = profiling.cprofile(lambda: module.dumps({"a": [1, 2]}))
    labels = [profiling.label(key) for key in stats.stats]
    assert any(label.startswith("json/__init__.py:") for label in labels)
    assert "<built-in method builtins.len>" in profiling.label(
        ("~", 0, "<built-in method builtins.len>")
    )


def _training_profile(**shares) -> dict:
    profile = {
        "profiler": "TensorFlow profiler, 40 steps of model.fit",
        "top": [
            {"name": "Conv2DBackpropFilter", "seconds": 1.5, "share": 0.3},
            {"name": "Conv2D", "seconds": 1.0, "share": 0.2},
            {"name": "Mul", "seconds": 0.5, "share": 0.1},
            {"name": "Relu", "seconds": 0.1, "share": 0.02},
        ],
        "input_wait_share": 0.01,
        "overhead_share": 0.03,
        "flop_kernel_share": 0.5,
    }
    return profile | shares


def test_training_bound_by_follows_the_profile():
    assert training_bound_by(_training_profile()).startswith(
        "op kernels: Conv2DBackpropFilter 30%, Conv2D 20%, Mul 10%"
    )
    assert training_bound_by(_training_profile(input_wait_share=0.4)).startswith("input pipeline")
    assert training_bound_by(_training_profile(overhead_share=0.5)).startswith("framework")


def test_markdown_lists_what_bounds_each_part_with_its_evidence():
    profile = _training_profile()
    report = {
        "date": "2026-01-01",
        "command": "make bench",
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "memory_gib": 1,
            "tensorflow": "2",
            "fill_new_memory_ms_per_mib": 1.9,
            "fill_just_freed_memory_ms_per_mib": 0.1,
        },
        "parts": {
            "training": {"images_per_second": 1.0, "bound_by": "op kernels", "profile": profile},
            "app": {"skipped": "no model"},
        },
    }
    text = markdown(report)
    assert "Filling new memory: 1.9 ms/MiB; memory just freed: 0.1 ms/MiB." in text
    section = text.split("## What bounds each part", 1)[1]
    assert "**training**: op kernels." in section
    assert "- Conv2DBackpropFilter: 30.0% (1.5 s)" in section
    assert "- Mul: 10.0%" in section and "Relu" not in section  # top 3 only
    assert "| training | profile.input_wait_share | 0.01 |" in text  # figures stay in the table
    assert "profile.top" not in text  # lists are shown in the section, not the table


def test_profile_decode_splits_a_pictures_time(cifake_zip):
    profile = profile_decode(cifake_zip, 36, pictures=200)
    names = [row["name"] for row in profile["top"]]
    assert any(name.startswith("decode") for name in names)
    assert sum(row["share"] for row in profile["top"]) == pytest.approx(1.0, abs=0.01)
    assert profile["decode_callees"]
