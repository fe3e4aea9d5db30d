"""Two classes (real, ai) against three (real, modified, ai) on a budget this machine
affords: the figures that decide which kind of model to publish (issue 20).

    nice -n 10 python -m devtools.three_class        # 20,000 pictures, 5 epochs, seeds 1-3
    python -m devtools.three_class --train-images 2000 --epochs 1 --seeds 1  # a quick look

Both models use params.yaml's `train` architecture and recipe (epochs, seed and classes
replaced) on the same random `--train-images` pictures of data/prepared/train; the
three-class one also gets the modified versions of their real pictures (data/modified,
or made here with params.yaml's `modify` when that folder is absent). Both are scored on
all of data/prepared/test and the modified test pictures. Writes
<out>/three_class.json (per seed, then mean and standard deviation over seeds) after
each seed, so a stopped run keeps what it finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from dataset.modified import MODIFIED, load_modified, make_modified
from dataset.prepared import PREPARED, Split, load_split
from model import classes as labels
from model.classes import AI, CLASSES, REAL, p_real, three_class_labels
from settings import params
from settings.errors import run

OUT = Path("bench-output/three_class")
THRESHOLD = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.three_class", description=__doc__)
    parser.add_argument("--train-images", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--prepared", type=Path, default=PREPARED)
    parser.add_argument("--modified", type=Path, default=MODIFIED)
    parser.add_argument("--params", type=Path, default=params.PARAMS_FILE)
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def modified_split(name: str, folder: Path, prepared: Split, params_file: Path):
    """The modify stage's output when it exists, else the same pictures made here."""
    if (folder / f"{name}.npz").is_file():
        return load_modified(name, folder)
    return make_modified(prepared, params.load("modify", params_file))


def training_set(train: Split, modified, n: int, classes: int, seed: int = 0) -> Split:
    """`n` random training pictures; with three classes, plus the modified versions of
    those among them that the modify stage edited. Labels: y (2) or CLASSES indices (3)."""
    rows = np.sort(np.random.default_rng(seed).choice(len(train), min(n, len(train)), False))
    chosen = train.subset(rows)
    if classes == 2:
        return chosen
    from model.data import with_modified

    return with_modified(chosen, modified.subset(np.isin(modified.real_id, chosen.id)))


def fit(split: Split, train_params, classes: int):
    """A model of `train_params` (classes set) fitted on `split` without validation."""
    import keras

    from model.build import build_model, loss_for
    from model.data import balanced_weights, training_dataset
    from model.train import optimizer_for

    p = dataclasses.replace(train_params, classes=classes)
    keras.utils.set_random_seed(p.seed)
    model = build_model(p, split.x.shape[1])
    model.compile(
        optimizer=optimizer_for(p, max(1, len(split) // p.batch_size)), loss=loss_for(classes)
    )
    data = training_dataset(split, p.batch_size, augment=p.augment, ela=p.ela, seed=p.seed)
    weights = balanced_weights(split.y) if classes == 3 else None
    model.fit(data, epochs=p.epochs, class_weight=weights, shuffle=False, verbose=2)
    return model


def predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=1024, verbose=0), dtype=np.float64)


def real_ai_scores(y: np.ndarray, p: np.ndarray) -> dict:
    """Accuracy and ROC-AUC of P(real) on the real/AI test (y: 1 = real)."""
    return {
        "accuracy": float(skm.accuracy_score(y, p >= THRESHOLD)),
        "roc_auc": float(skm.roc_auc_score(y, p)),
    }


def by_group(hit: np.ndarray, groups: np.ndarray) -> dict:
    """The share of `hit` per group value, with the group's size."""
    return {
        _key(g): {"share": float(hit[groups == g].mean()), "n": int((groups == g).sum())}
        for g in np.unique(groups)
    }


def _key(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def two_class_on_modified(p_mod: np.ndarray, modified) -> dict:
    """How a two-class model treats modified pictures: the share it calls real."""
    real = p_mod >= THRESHOLD
    return {
        "called_real": float(real.mean()),
        "mean_p_real": float(p_mod.mean()),
        "called_real_by_kind": by_group(real, modified.kind),
        "called_real_by_side": by_group(real, modified.side),
    }


def three_class_scores(y_real_ai: np.ndarray, probs: np.ndarray, probs_mod: np.ndarray,
                       modified) -> dict:  # fmt: skip
    """Confusion, one-vs-rest ROC-AUC and recall of "modified" on the test pictures
    plus the modified test pictures; P(real) on the real/AI test as a two-class model."""
    truth = np.concatenate(
        [three_class_labels(y_real_ai), np.full(len(probs_mod), labels.MODIFIED)]
    )
    scores = np.concatenate([probs, probs_mod])
    predicted = scores.argmax(axis=1)
    confusion = skm.confusion_matrix(truth, predicted, labels=range(len(CLASSES)))
    one_vs_rest = {
        name: float(skm.roc_auc_score(truth == c, scores[:, c])) for c, name in enumerate(CLASSES)
    }
    caught = predicted[len(probs) :] == labels.MODIFIED
    return {
        "real_ai_test": real_ai_scores(y_real_ai, p_real(probs)),
        "real_ai_called_modified": float((probs.argmax(axis=1) == labels.MODIFIED).mean()),
        "accuracy_3": float((predicted == truth).mean()),
        "confusion": {"order": list(CLASSES), "rows_true_columns_predicted": confusion.tolist()},
        "roc_auc_one_vs_rest": one_vs_rest,
        "roc_auc_macro": float(np.mean(list(one_vs_rest.values()))),
        "modified_recall": float(caught.mean()),
        "modified_recall_by_kind": by_group(caught, modified.kind),
        "modified_recall_by_side": by_group(caught, modified.side),
        "modified_called_real": float((predicted[len(probs) :] == REAL).mean()),
        "modified_called_ai": float((predicted[len(probs) :] == AI).mean()),
    }


def summary(runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of every number the runs share."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: summary([r[k] for r in runs]) for k in first if all(k in r for r in runs)}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        values = np.asarray(runs, dtype=np.float64)
        return {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if len(runs) > 1 else 0.0,
        }
    if isinstance(first, list) and not any(isinstance(v, str) for v in first):
        return np.mean(np.asarray(runs, dtype=np.float64), axis=0).tolist()  # a confusion matrix
    return first


def one_seed(seed: int, data: dict, train_params, args) -> dict:
    result = {"seed": seed}
    p = dataclasses.replace(train_params, seed=seed, epochs=args.epochs)
    test, mod_test = data["test"], data["modified_test"]
    for classes in (2, 3):
        split = training_set(data["train"], data["modified_train"], args.train_images, classes)
        started = time.perf_counter()
        model = fit(split, p, classes)
        seconds = time.perf_counter() - started
        probs, probs_mod = predict(model, test.x), predict(model, mod_test.x)
        if classes == 2:
            scores = {
                "real_ai_test": real_ai_scores(test.y, p_real(probs)),
                "modified_test": two_class_on_modified(p_real(probs_mod), mod_test),
            }
        else:
            scores = three_class_scores(test.y, probs, probs_mod, mod_test)
        scores["training"] = {"pictures": len(split), "seconds": round(seconds, 1)}
        result[f"classes_{classes}"] = scores
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    train_params = params.load("train", args.params)
    train, test = load_split("train", args.prepared), load_split("test", args.prepared)
    data = {
        "train": train,
        "test": test,
        "modified_train": modified_split("train", args.modified, train, args.params),
        "modified_test": modified_split("test", args.modified, test, args.params),
    }
    report = {
        "command": "python -m devtools.three_class "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "train_images": args.train_images,
        "epochs": args.epochs,
        "test_pictures": len(test),
        "modified_test_pictures": len(data["modified_test"]),
        "train_params": dataclasses.asdict(train_params),
        "runs": [],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        report["runs"].append(one_seed(seed, data, train_params, args))
        report["summary"] = summary(report["runs"])
        (args.out / "three_class.json").write_text(json.dumps(report, indent=1) + "\n")
        print(f"three_class: seed {seed} done -> {args.out / 'three_class.json'}", flush=True)


if __name__ == "__main__":
    run(main, "three_class")
