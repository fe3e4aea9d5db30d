"""DVC stage `train_web`: data/web + data/logo -> data/model_web/ (head.keras, the
linear head (web.head) on web.features, and calibration.json: its temperature and
confidence table, both from leave-one-group-out scores)."""

from __future__ import annotations

import json

from settings import params
from settings.errors import run


def main() -> None:
    web = params.load("web")
    import numpy as np

    from dataset import web as store
    from dataset.atomic import atomic_dir
    from dataset.errors import DatasetError
    from model.logo import shipped
    from model.web_train import (
        CALIBRATION_FILE,
        HEAD_FILE,
        MODEL_DIR,
        calibrate,
        export_head,
        fit_head,
    )

    data = store.load(splits=("train",))
    with np.load("data/logo/oof.npz", allow_pickle=False) as oof:
        if not np.array_equal(oof["id"], data.id):
            raise DatasetError("data/logo/oof.npz is not of data/web's pictures; run dvc repro")
        calibration = calibrate(oof["logit"], oof["y"])
    head = export_head(fit_head(data, web.features, web.C, web.head, web.alpha))
    with atomic_dir(MODEL_DIR) as temp:
        head.save(temp / HEAD_FILE)
        _, setting = shipped(web)  # the run whose out-of-fold logits calibrate it
        info = {"features": list(web.features), "head": web.head, **setting, "n": len(data),
                **calibration}  # fmt: skip
        (temp / CALIBRATION_FILE).write_text(json.dumps(info, indent=1) + "\n")
    print(
        f"train_web: head on {'+'.join(web.features)} of {len(data):,} web pictures "
        f"({web.head}, {setting}), temperature {calibration['temperature']:.2f} from "
        f"held-out groups -> {MODEL_DIR}"
    )


if __name__ == "__main__":
    run(main, "train_web")
