"""DVC stage `publish`: the evaluated model and its card to published/ (committed),
example test pictures to data/examples/ (DVC-cached). Refused below publish.min_accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

from settings import params as settings
from settings.errors import run

MODEL = Path("data/model/model.keras")
TRAINING = Path("data/model/training.json")
METRICS = Path("reports/metrics.json")
EVALUATION = Path("reports/evaluation")
DATASET_REPORT = Path("reports/dataset.json")
PUBLISHED = Path("published")
EXAMPLES = Path("data/examples")


def main() -> None:
    params = settings.load("publish")
    from model import publish as pub

    metrics = pub.read_json(METRICS)
    pub.check_quality(metrics, params.min_accuracy)  # before anything is written

    from dataset.prepared import PREPARED, counts, load_meta, load_split
    from model.evaluate import load_trained

    evaluation = {
        name: pub.read_json(EVALUATION / f"{name}.json")
        for name in ("roc", "calibration", "confusion", "robustness")
    }
    model = load_trained(MODEL)
    pub.check_contract(model)
    card = pub.card(
        model=model,
        metrics=metrics,
        evaluation=evaluation,
        training=pub.read_json(TRAINING),
        meta=load_meta(PREPARED),
        counts=counts(PREPARED),
        dataset_report=pub.read_json(DATASET_REPORT, required=False),
        min_accuracy=params.min_accuracy,
    )

    def fill(folder: Path) -> None:
        # Loaded without compiling, so the optimizer state (2x the weights) is left behind.
        model.save(folder / "model.keras")
        (folder / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")

    test = load_split("test")
    pub.write_examples(test, pub.choose_examples(test, params.examples), EXAMPLES)
    pub.replace_dir(PUBLISHED, fill)
    print(
        f"published {card['name']} (test accuracy {metrics['accuracy']:.4f}, "
        f"T={card['temperature']:.2f}) and {params.examples} examples"
    )


if __name__ == "__main__":
    run(main, "publish")
