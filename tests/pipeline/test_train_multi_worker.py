"""train.strategy: multi_worker, exercised: two worker processes on 127.0.0.1, one
TF_CONFIG cluster, one short epoch of the train stage on a tiny prepared set.

Each worker runs the real stage (`pipeline.train`) in a project folder of its own, as
on two machines; a spy on `model.train._save`, which every worker calls, records the
weights each worker ends with.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.helpers import ROOT, make_project

WORKERS = 2
TIMEOUT_S = 240  # generous: two TensorFlow processes on a shared 2-core machine
WORKER = """
import sys
import numpy as np
import model.train as train
from pipeline.train import main
from settings.errors import run

save = train._save


def save_and_record(model, *args):
    np.savez(sys.argv[1], *model.get_weights())
    save(model, *args)


train._save = save_and_record
run(main, "train")
"""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def worker_env(cluster: list[str], index: int) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # gRPC reads them
    env.pop("PARAMS_OVERLAY", None)
    tf_config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
    env.update(TF_CONFIG=json.dumps(tf_config), CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT),
               TF_CPP_MIN_LOG_LEVEL="2", no_proxy="127.0.0.1")  # fmt: skip
    return env


def run_cluster(folders: list[Path], spies: list[Path]) -> list[str]:
    """Start every worker before waiting for any (each blocks until the others join)."""
    cluster = [f"127.0.0.1:{port}" for port in free_ports(len(folders))]
    children = []
    try:
        for index, (folder, spy) in enumerate(zip(folders, spies, strict=True)):
            children.append(subprocess.Popen(
                [os.path.abspath(sys.executable), "-c", WORKER, str(spy)], cwd=folder,
                env=worker_env(cluster, index), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            ))  # fmt: skip
        logs = [child.communicate(timeout=TIMEOUT_S)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for index, (child, log) in enumerate(zip(children, logs, strict=True)):
        assert child.returncode == 0, f"worker {index} failed:\n{log[-3000:]}"
    return logs


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    folders, spies = [], []
    monkeypatch = pytest.MonkeyPatch()
    try:
        for index in range(WORKERS):
            folder = tmp_path_factory.mktemp(f"worker{index}")
            # a small cnn4 with batch norm, one epoch of 4 global batches of 16
            make_project(folder, monkeypatch, strategy="multi_worker", augment=True)
            folders.append(folder)
            spies.append(folder.parent / f"weights{index}.npz")
    finally:
        monkeypatch.undo()
    logs = run_cluster(folders, spies)
    return folders, spies, logs


def test_both_workers_end_with_the_same_weights(cluster_run):
    _, spies, _ = cluster_run
    chief, other = (np.load(spy) for spy in spies)
    assert len(chief.files) == len(other.files) > 0
    for name in chief.files:  # batch norm's moving statistics among them
        np.testing.assert_array_equal(chief[name], other[name])


def test_only_the_chief_writes_the_model_and_the_reports(cluster_run):
    (chief, other), spies, _ = cluster_run
    model = keras.saving.load_model(chief / "data/model/model.keras", compile=False)
    recorded = np.load(spies[0])
    for saved, name in zip(model.get_weights(), recorded.files, strict=True):
        np.testing.assert_array_equal(saved, recorded[name])
    summary = json.loads((chief / "data/model/training.json").read_text())
    assert summary["strategy"] == "multi_worker" and summary["epochs_run"] == 1
    assert (chief / "reports/train/metrics.json").is_file()
    assert not (other / "data/model").exists() and not (other / "reports").exists()


def test_each_worker_trains_on_half_of_every_global_batch(cluster_run):
    # Keras logs the global steps: 64 pictures in batches of 16 are 4 steps on each
    # worker, not 8 (each worker keeps 8 pictures of every batch: auto-shard DATA).
    _, _, logs = cluster_run
    for log in logs:
        assert "4/4 - " in log, log[-2000:]
