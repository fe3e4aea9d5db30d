"""Leave-one-group-out study of the project's cnn4 (36x36) on the web pictures.

The model, its optimizer and the crops are the project's (model.build, model.train,
model.web_data, dataset.views) with params.yaml's train section; the augmentation here
(cv2 JPEG) is the study's own, as its README rows were measured with it. Caches come
from cache.py (same folder).

Example (patch view, L=128, 8 crops/picture/epoch, grid 6, augmentation, 3 seeds x 3 folds):
  python -m devtools.group_study.study --name patch128_aug --view patch --L 128 \
      --crops 8 --epochs 12 --aug 1
Writes results/<name>.npz (per fold, seed, aggregation: held-out scores) and prints AUCs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from devtools.group_study.paths import CIFAKE_ZIP, WORK

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

from dataset.views import grid_patches
from model.train import optimizer_for
from model.web_data import random_patches

HERE = WORK  # caches from devtools.group_study.cache, results/ beside them
GROUPS = ("aigameapp", "realoraigame", "search")
S = 36


# ---------------------------------------------------------------- model (the project's)
def highpass_kernel() -> np.ndarray:
    """Identity minus a 3x3 binomial blur, per channel: (3, 3, 3, 1) depthwise kernel.
    The network then sees the picture's residual (texture, noise, resampling traces),
    not its colours and shapes, the way forensic SRM filters are used."""
    b = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16
    k = -b
    k[1, 1] += 1.0
    return np.repeat(k[:, :, None, None], 3, axis=2)


def train_settings(args):
    """params.yaml's train section (the shipped architecture) with the study's budget."""
    from settings import params

    shipped = params.load("train", params.PARAMS_FILE)
    return dataclasses.replace(
        shipped, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch, schedule="cosine"
    )


def build_model(settings, highpass=False):
    """(model, logit model): model.build's cnn4 for S x S pictures; with highpass, behind
    a fixed high-pass layer."""
    import keras
    from keras import layers

    from model.build import build_model as project_model

    if highpass:  # built first: the weights drawn after it are the same as without it
        filtered = layers.DepthwiseConv2D(3, padding="same", use_bias=False, trainable=False)
        filtered.build((None, S, S, 3))
        filtered.set_weights([highpass_kernel()])
    model = project_model(settings, S)
    logit = keras.Model(model.input, model.get_layer("logit").output)
    if not highpass:
        return model, logit
    inputs = keras.Input((S, S, 3), dtype="float32", name="pixels")
    x = filtered(layers.Rescaling(1.0 / 255)(inputs))
    x = layers.Rescaling(255.0)(x)  # back to the 0-255 range the project's model expects
    return keras.Model(inputs, model(x)), keras.Model(inputs, logit(x))


# ---------------------------------------------------------------- augmentation
AUG = dict(
    p_resize=0.5,
    resize=(0.5, 1.0),
    p_blur=0.5,
    sigma=(0.0, 1.0),
    p_jpeg=0.5,
    quality=(30, 95),
    p_flip=0.5,
)


def augment(rgb: np.ndarray, rng: np.random.Generator, a=AUG) -> np.ndarray:
    """One picture (H, W, 3) uint8, same edits for both labels: down-then-up rescale,
    Gaussian blur, JPEG re-encode, horizontal flip. Shape is kept."""
    h, w = rgb.shape[:2]
    if rng.random() < a["p_resize"]:
        f = rng.uniform(*a["resize"])
        nh, nw = max(8, round(h * f)), max(8, round(w * f))
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        rgb = cv2.resize(
            small, (w, h), interpolation=(cv2.INTER_LINEAR, cv2.INTER_CUBIC)[rng.integers(2)]
        )
    if rng.random() < a["p_blur"]:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigmaX=max(1e-3, rng.uniform(*a["sigma"])))
    if rng.random() < a["p_jpeg"]:
        q = int(rng.integers(a["quality"][0], a["quality"][1] + 1))
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    if rng.random() < a["p_flip"]:
        rgb = rgb[:, ::-1]
    return np.ascontiguousarray(rgb)


# ---------------------------------------------------------------- crops and aggregation
def aggregate(logits: np.ndarray) -> dict[str, np.ndarray]:
    """Per-picture scores from (N, g*g) crop logits, several rules."""
    n = logits.shape[1]
    t = max(1, n // 5)
    srt = np.sort(logits, axis=1)
    prob = 1 / (1 + np.exp(-logits))
    mp = np.clip(prob.mean(1), 1e-7, 1 - 1e-7)
    return {
        "mean_logit": logits.mean(1),
        "mean_prob": np.log(mp / (1 - mp)),  # as a logit, so ensembles can average it
        "trim20_logit": srt[:, t : n - t].mean(1) if n > 2 * t else logits.mean(1),
        "median_logit": np.median(logits, 1),
    }


# ---------------------------------------------------------------- data
def load_scaled(L):
    z = np.load(HERE / f"cache_L{L}.npz")
    data, shapes, offsets = z["data"], z["shapes"], z["offsets"]
    return [data[o : o + int(np.prod(s))].reshape(s) for o, s in zip(offsets, shapes, strict=False)]


def load_cifake(n_per_class=5000):
    path = HERE / "cache_cifake.npz"
    if not path.exists():
        import zipfile

        from dataset import imaging

        zf = zipfile.ZipFile(CIFAKE_ZIP)
        names = [i for i in zf.namelist() if i.startswith("train/") and i.endswith(".jpg")]
        rng = np.random.default_rng(0)
        xs, ys = [], []
        for cls, lab in (("REAL", 1), ("FAKE", 0)):
            pick = rng.choice(
                sorted(n for n in names if f"/{cls}/" in n), n_per_class, replace=False
            )
            xs += [imaging.load_image(zf.read(n), S) for n in pick]
            ys += [lab] * n_per_class
        np.savez(path, x=np.stack(xs), y=np.array(ys, np.float32))
    z = np.load(path)
    return z["x"], z["y"]


def logits_of(logit_model, x, batch=1024):
    out = [
        logit_model(x[i : i + batch].astype(np.float32), training=False).numpy()[:, 0]
        for i in range(0, len(x), batch)
    ]
    return np.concatenate(out)


# ---------------------------------------------------------------- one run
def run(args, fold, seed, meta, whole, scaled, cifake):
    import keras
    from sklearn.metrics import roc_auc_score

    keras.utils.set_random_seed(1000 * seed + fold)
    rng = np.random.default_rng(1000 * seed + fold)
    group, label = meta["group"], meta["label"].astype(np.float32)
    tr, te = np.flatnonzero(group != fold), np.flatnonzero(group == fold)
    per_pic = args.crops if args.view == "patch" else 1
    n_web = len(tr) * per_pic
    n_cf = int(round(n_web * args.cifake / (1 - args.cifake))) if args.cifake else 0
    steps = int(np.ceil((n_web + n_cf) / args.batch))

    settings = train_settings(args)
    model, logit_model = build_model(settings, highpass=bool(args.highpass))
    model.compile(optimizer=optimizer_for(settings, steps), loss=keras.losses.BinaryCrossentropy())
    t0 = time.time()
    for _epoch in range(args.epochs):
        xs = []
        for i in tr:
            src = whole[i] if args.view == "whole" else scaled[i]
            if args.aug:
                src = augment(src, rng)
            xs.append(src[None] if args.view == "whole" else random_patches(src, S, per_pic, rng))
        x = np.concatenate(xs)
        y = np.repeat(label[tr], per_pic)
        if n_cf:
            j = rng.choice(len(cifake[0]), n_cf, replace=False)
            cx = cifake[0][j]
            if args.aug:
                cx = np.stack([augment(c, rng) for c in cx])
            x, y = np.concatenate([x, cx]), np.concatenate([y, cifake[1][j]])
        h = model.fit(
            x.astype(np.float32), y, batch_size=args.batch, epochs=1, shuffle=True, verbose=0
        )
    train_s = time.time() - t0
    loss = h.history["loss"][-1]

    if args.view == "whole":
        scores = {"whole": logits_of(logit_model, whole[te])}
    else:
        crops = np.concatenate([grid_patches(scaled[i], S, args.grid) for i in te])
        lg = logits_of(logit_model, crops).reshape(len(te), args.grid**2)
        scores = aggregate(lg)
    aucs = {k: roc_auc_score(label[te], v) for k, v in scores.items()}
    print(
        f"{args.name} fold={GROUPS[fold]} seed={seed} train_s={train_s:.0f} "
        f"final_loss={loss:.3f} " + " ".join(f"{k}={v:.3f}" for k, v in aucs.items()),
        flush=True,
    )
    return scores, aucs, train_s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--view", choices=("whole", "patch"), default="patch")
    p.add_argument("--L", type=int, default=128)
    p.add_argument("--crops", type=int, default=8, help="random crops per picture per epoch")
    p.add_argument("--grid", type=int, default=6)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--aug", type=int, default=0)
    p.add_argument("--highpass", type=int, default=0, help="1: fixed high-pass input layer")
    p.add_argument("--cifake", type=float, default=0.0, help="fraction of each epoch from CIFAKE")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    meta = dict(np.load(HERE / "cache_meta.npz"))
    whole = np.load(HERE / "cache_whole.npz")["x"]
    scaled = load_scaled(args.L) if args.view == "patch" else None
    cifake = load_cifake() if args.cifake else None
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    save, times = {}, []
    save["args"] = np.array(str(vars(args)))
    for seed in args.seeds:  # seed-major: every fold gets seed 0 first; saved after each run
        for fold in args.folds:
            scores, aucs, t = run(args, fold, seed, meta, whole, scaled, cifake)
            times.append(t)
            for k, v in scores.items():
                save[f"f{fold}_s{seed}_{k}"] = v
            save["train_seconds"] = np.array(times)
            np.savez(out / f"{args.name}.npz", **save)


if __name__ == "__main__":
    main()
