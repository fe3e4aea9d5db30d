"""Helpers shared by the test modules: pictures made in memory, a tiny published
two-view model with the real model's contract (model/published.py), pictures carrying
provenance metadata (a C2PA manifest signed with a throwaway CA, PNG text, XMP, EXIF),
and a tiny project the stage tests run in.

Nothing here needs ../shared (a user's clone has none). The scraper helpers run
`scraper.collect` against the Google Images stand-in.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import keras
import numpy as np
import yaml
from PIL import Image

from dataset.hashing import file_sha256
from dataset.prepared import Split, save_split
from dataset.scraped import MANIFEST, read_manifest
from scraper.collect import collect

ROOT = Path(__file__).resolve().parents[1]


def make_image(
    width: int = 64, height: int = 48, *, fmt: str = "JPEG", mode: str = "RGB", seed: int = 0
) -> bytes:
    """Encoded bytes of a random-but-smooth picture (so JPEG/PNG behave as on photos)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.BILINEAR)
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


# --- a tiny published model ---

SIZE = 36
GAIN = 20.0  # logit = GAIN * (mean brightness - 0.5): white is real, black is ai


def tiny_model(*, logit_layer: bool = True) -> keras.Model:
    """Brightness decides: bright pictures are 'real', dark ones 'ai', grey is uncertain.

    Same contract as the published model: uint8 pixels in, Rescaling inside, a conv
    named last_conv, a Dense `logit`, a sigmoid p_real out.
    """
    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8", name="pixels")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.AveragePooling2D(4)(x)  # 9x9: Grad-CAM must be upsampled
    conv = keras.layers.Conv2D(1, 1, name="last_conv")
    x = conv(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(1, name="logit" if logit_layer else "score")
    x = dense(x)
    outputs = keras.layers.Activation("sigmoid", name="p_real")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    conv.set_weights([np.full((1, 1, 3, 1), 1 / 3, np.float32), np.array([-0.5], np.float32)])
    dense.set_weights([np.array([[GAIN]], np.float32), np.zeros(1, np.float32)])
    return model


WHOLE_METRICS = {
    "n": 400,
    "accuracy": 0.931,
    "accuracy_ci": [0.905, 0.952],
    "roc_auc": 0.975,
    "roc_auc_ci": [0.962, 0.986],
    "average_precision": 0.97,
    "precision": {"ai": 0.92, "real": 0.94},
    "recall": {"ai": 0.94, "real": 0.92},
    "f1": {"ai": 0.93, "real": 0.93},
    "ece_before": 0.041,
    "ece_after": 0.012,
}
WEB_METRICS = {
    "n": 3400,
    "accuracy": 0.71,
    "accuracy_ci": [0.69, 0.73],
    "roc_auc": 0.78,
    "roc_auc_ci": [0.76, 0.80],
    "logo": {"mean": 0.76, "folds": {
        "animals": {"n": 400, "roc_auc": 0.81, "roc_auc_ci": [0.77, 0.85]},
        "art": {"n": 300, "roc_auc": 0.71, "roc_auc_ci": [0.65, 0.77]},
    }},
    "confidence_table": [
        {"low": 0.5, "high": 0.6, "n": 900, "right": 0.55},
        {"low": 0.6, "high": 0.7, "n": 800, "right": 0.64},
        {"low": 0.7, "high": 0.8, "n": 700, "right": 0.74},
        {"low": 0.8, "high": 0.9, "n": 600, "right": 0.85},
        {"low": 0.9, "high": 1.0, "n": 400, "right": 0.93},
    ],
    "test": {"n": 900, "accuracy": 0.8, "accuracy_ci": [0.77, 0.83], "roc_auc": 0.88,
             "roc_auc_ci": [0.86, 0.9]},
    "per_group": {"animals": {"n": 120, "roc_auc": 0.85, "roc_auc_ci": [0.78, 0.91]}},
    "small": {"web_view": {"n": 900, "accuracy": 0.6, "roc_auc": 0.64},
              "cifake_view": {"n": 900, "accuracy": 0.52, "roc_auc": 0.55}},
}  # fmt: skip


def whole_view(**changes) -> dict:
    view = {
        "file": "model.keras",
        "image_size": SIZE,
        "temperature": 2.0,
        "threshold": 0.5,
        "calibrated_on": "cifake",
        "kind": "CIFAKE-sized picture",
        "metrics": dict(WHOLE_METRICS),
        "confusion_matrix": {"labels": ["ai", "real"], "matrix": [[188, 12], [16, 184]]},
        "roc": {"fpr": [0.0, 0.02, 0.1, 0.3, 1.0], "tpr": [0.0, 0.6, 0.9, 0.97, 1.0]},
        "robustness": [
            {"edit": "none", "accuracy": 0.93, "roc_auc": 0.975},
            {"edit": "jpeg_70", "accuracy": 0.81, "roc_auc": 0.9},
        ],
        "calibration": {
            "bins": [
                {"confidence": 0.55, "accuracy": 0.56, "count": 20},
                {"confidence": 0.75, "accuracy": 0.73, "count": 60},
                {"confidence": 0.95, "accuracy": 0.96, "count": 320},
            ]
        },
        "per_source": {"cifake": {"n": 400, "accuracy": 0.94, "roc_auc": 0.98}},
        "training": {"epochs_run": 3, "seconds": 12.5, "images_per_second": 900.0},
    }
    view.update(changes)
    return view


WEB_SIZE = 64  # the tests' web view: the backbone is convolutional, and 64 px keeps it fast
WEB_CROPS = 3  # squares per picture, at most: params.yaml web.crops (test_params checks it)


@functools.cache
def installed_backbone(name: str = "lite0") -> dict:
    """The card's backbone entry for the installed weights package of `name` (the tiny
    cards' Lite0 by default; pipeline tests pass params.yaml's web.backbone.name)."""
    from model import backbone

    info = backbone.describe(name)
    return {"name": name, **{k: info[k] for k in ("package", "version", "file", "sha256")}}


def web_view(**changes) -> dict:
    view = {
        "file": "web_head.keras",
        "image_size": WEB_SIZE,
        "crops": WEB_CROPS,
        "features": ["head", "mid"],
        "backbone": installed_backbone(),
        "temperature": 1.5,
        "threshold": 0.5,
        "calibrated_on": "web pictures of groups held out of training (animals, art)",
        "kind": "web picture",
        "metrics": dict(WEB_METRICS),
        "container_baseline": {
            "logo": {"mean": 0.64, "folds": {"animals": {"n": 400, "roc_auc": 0.66}}},
            "test": {"n": 900, "roc_auc": 0.62, "roc_auc_ci": [0.58, 0.66]},
        },
    }
    view.update(changes)
    return view


def tiny_head(width: int = 1776, sign: float = 1.0):
    """A web head on `width` features: p_real rises with their mean (brighter, busier
    pictures), enough to give different pictures different answers."""
    from model.web_view import head_model

    weights = np.full(width, sign * 0.05, np.float32)
    return head_model(np.zeros(width, np.float32), np.ones(width, np.float32), weights, -1.0)


def tiny_card(*, views: dict | None = None, **changes) -> dict:
    """The two-view card (model/published.py's schema) of the tiny models."""
    card = {
        "name": "realorai-tiny",
        "architecture": "tiny: 1x1 conv on brightness (tests only)",
        "parameters": 6,
        "labels": {"0": "ai", "1": "real"},
        "routing": {
            "whole_max_side": 64,
            "rule": "pictures up to 64 px on their longer side are judged whole, larger ones "
            "by the web view",
        },
        "views": views if views is not None else {"whole": whole_view(), "web": web_view()},
        "data": {
            "counts": {
                "train": {"cifake": {"ai": 900, "real": 880}, "scraped": {"ai": 40, "real": 60}},
                "test": {"cifake": {"ai": 200, "real": 200}},
            }
        },
        "revision": "0123456789abcdef",
        "created": "2025-01-01T00:00:00+00:00",
        "min_accuracy": 0.9,
    }
    card.update(changes)
    return card


def tiny_three_class_model() -> keras.Model:
    """model.build's cnn4 with a three-class head, tiny and untrained (random weights)."""
    from model.build import build_model
    from settings.params import Train

    keras.utils.set_random_seed(0)
    return build_model(Train(filters=[4, 8, 8, 8], dense=[8], classes=3), SIZE)


REGION_GAIN = 300.0  # the modified logit per unit of mean brightness above REGION_LEVEL
REGION_LEVEL = 0.6


def region_model() -> keras.Model:
    """A three-class model that finds a bright region: P(modified) rises with the mean
    over the picture of how far each pixel's brightness is above REGION_LEVEL, so a grey
    picture is not modified and one with a brightened region is; real and ai stay even.
    Same contract as a published three-class view (`last_conv`, `logits`)."""
    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8", name="pixels")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    conv = keras.layers.Conv2D(1, 1, name="last_conv")
    x = keras.layers.ReLU()(conv(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(3, name="logits")
    outputs = keras.layers.Activation("softmax", name="probabilities")(dense(x))
    model = keras.Model(inputs, outputs, name="region")
    brightness = np.full((1, 1, 3, 1), 1 / 3, np.float32)
    conv.set_weights([brightness, np.array([-REGION_LEVEL], np.float32)])
    dense.set_weights([np.array([[0.0, REGION_GAIN, 0.0]], np.float32),
                       np.array([0.0, -2.0, 0.0], np.float32)])  # fmt: skip
    return model


def publish_tiny(
    folder: Path, *, card: dict | None = None, logit_layer: bool = True, model=None
) -> Path:
    """A published folder: the card, a model file per view (the same tiny model, or
    `model`)."""
    folder.mkdir(parents=True, exist_ok=True)
    card = card or tiny_card()
    model = model or tiny_model(logit_layer=logit_layer)
    views = card.get("views") or {"whole": {"file": "model.keras"}}
    for name, view in views.items():
        if name == "web":
            from model.backbone import feature_sizes

            sizes = feature_sizes(view.get("backbone", {}).get("name", "lite0"))
            width = sum(sizes[f] for f in view.get("features", ["head", "mid"]))
            tiny_head(width).save(folder / view.get("file", "web_head.keras"))
        else:
            model.save(folder / view.get("file", "model.keras"))
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


def solid(value: int, fmt: str = "PNG", size=(50, 40)) -> bytes:
    """A one-colour picture: 255 is surely 'real', 0 surely 'ai', 128 'uncertain'."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (value, value, value)).save(buffer, fmt)
    return buffer.getvalue()


# --- a tiny project for the stage tests ---

SIZES = {"train": 64, "val": 32, "test": 48}
TINY_TRAIN = {
    "filters": [4, 8, 8, 8],
    "dense": [8],
    "epochs": 1,
    "batch_size": 16,
    "weights": "none",
}


def make_arrays(n: int, size: int = 36, seed: int = 0) -> dict:
    """Half real (smooth colour fields), half ai (the same plus texture); two sources."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = rng.integers(0, 256, (n, 1, 1, 3)).astype(np.float64)
    x = base + rng.normal(0, 4 + 30 * (1 - y)[:, None, None, None], (n, size, size, 3))
    return {
        "x": np.clip(x, 0, 255).astype(np.uint8),
        "y": y.astype(np.uint8),
        "source": np.where(np.arange(n) % 3 == 0, "scraped", "cifake"),
        "id": np.array([f"img{i}" for i in range(n)]),
    }


def write_arrays(folder: Path, name: str, arrays: dict) -> None:
    save_split(Split(name, **arrays), folder)


TINY_WEB = {"image_size": WEB_SIZE, "batch_size": 8}
TINY_LOGO = {"C": [1.0], "alpha": [1.0], "seeds": [1], "cnn_epochs": 1, "bootstrap": 100}


def make_project(root: Path, monkeypatch, **train) -> Path:
    """A project folder with tiny splits, the backbone (data/backbone), a tiny web store
    (data/web) and params.yaml (train section overridden), for the stage tests."""
    prepared = root / "data" / "prepared"
    prepared.mkdir(parents=True)
    for seed, (split, n) in enumerate(SIZES.items()):
        write_arrays(prepared, split, make_arrays(n, seed=seed))
    meta = {"image_size": 36, "balance": "class_weights", "class_weight": {"0": 1.0, "1": 1.0}}
    (prepared / "meta.json").write_text(json.dumps(meta))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update({**TINY_TRAIN, **train})
    params["publish"]["examples"] = 4
    params["web"].update(TINY_WEB)
    params["logo"].update(TINY_LOGO)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    from pipeline import backbone, modify

    backbone.main()  # data/backbone, from the installed weights package
    pictures = root / "web-pictures"
    pictures.mkdir()
    make_web_store(pictures, root / "data" / "web")
    modify.main()  # data/modified: the evaluate stage scores it, three-class training too
    return root


def set_params(section: str, **values) -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    params[section].update(values)
    Path("params.yaml").write_text(yaml.safe_dump(params))


# --- pictures carrying provenance metadata ---

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def test_signer():
    """A throwaway ES256 signer: a CA made here and a leaf it signs (c2pa refuses a
    self-signed leaf). Nothing trusts the CA, so manifests read as Valid, not Trusted."""
    import datetime

    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Realorai Test Lab"),
            ]
        )

    def usage(*, sign: bool):
        flags = dict.fromkeys(
            ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "encipher_only", "decipher_only"), False,
        )  # fmt: skip
        return x509.KeyUsage(
            digital_signature=sign, key_cert_sign=not sign, crl_sign=not sign, **flags
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject, issuer, public, signing_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage(sign=not ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        return builder.sign(signing_key, hashes.SHA256())

    ca = cert(name("Test CA"), name("Test CA"), ca_key.public_key(), ca_key, ca=True)
    leaf = cert(name("Test Signer"), ca.subject, key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None)
    )


def with_c2pa(
    data: bytes, mime: str = "image/jpeg", *, source_type: str = "trainedAlgorithmicMedia",
    generator: str = "Test Generator",
) -> bytes:  # fmt: skip
    """The picture with a signed C2PA manifest: a c2pa.created action of that source type."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": generator, "version": "2.1"}],
        "title": "test picture",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": IPTC + source_type}]
                },
            }
        ],
    }
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(test_signer(), mime, io.BytesIO(data), out)
    return out.getvalue()


def png_with_text(chunks: dict[str, str], *, size=(200, 150), compressed: bool = False) -> bytes:
    """A PNG with text chunks (zTXt when compressed), as Stable Diffusion UIs write them."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, text in chunks.items():
        info.add_text(key, text, zip=compressed)
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 160)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def xmp_packet(source_type: str, tool: str = "Test Painter 3") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'Iptc4xmpExt:DigitalSourceType="{IPTC}{source_type}" xmp:CreatorTool="{tool}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def jpeg_with(*, xmp: bytes | None = None, make: str = "", model: str = "", software: str = "",
              size=(200, 150)) -> bytes:  # fmt: skip
    """A JPEG with an XMP packet and/or EXIF camera fields."""
    image = Image.new("RGB", size, (120, 140, 90))
    exif = Image.Exif()
    for tag, value in ((0x010F, make), (0x0110, model), (0x0131, software)):
        if value:
            exif[tag] = value
    buffer = io.BytesIO()
    extra = {"xmp": xmp} if xmp else {}
    image.save(buffer, "JPEG", exif=exif.tobytes(), **extra)
    return buffer.getvalue()


# --- made-up web pictures for the patch view ---


def textured(label: int, seed: int, width: int, height: int) -> bytes:
    """'real' pictures are smooth, 'ai' ones carry fine noise: a patch can tell them apart."""
    rng = np.random.default_rng(seed)
    smooth = rng.integers(0, 256, (2, 2, 3)).astype(np.float32)
    picture = np.ones((height, width, 3), np.float32) * smooth.mean(axis=(0, 1))
    if label == 0:
        picture += rng.normal(0, 40, picture.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def web_rows(root: Path, n: int = 48) -> list[dict]:
    """n made-up web pictures in root, as merge's rows: groups 'held' and 'seen' (both
    labels in each), a fifth of them test."""
    rows = []
    for i in range(n):
        label, group = i % 2, ("held" if i % 3 == 0 else "seen")
        path = root / f"p{i}.png"
        width, height = (90, 60) if i % 4 else (40, 120)
        path.write_bytes(textured(label, i, width, height))
        split = "test" if i % 5 == 0 else "train"
        rows.append(dict(id=f"scraped/k/{i}", path=str(path), label=label, split=split,
                         keyword=f"{group}-{label}", group=group, format="PNG",
                         width=width, height=height))  # fmt: skip
    return rows


def make_web_store(pictures: Path, out: Path, n: int = 48) -> Path:
    """out: the web store of n made-up pictures through the backbone in data/backbone."""
    from model.web_features import Extractor, store_features
    from model.web_view import load_backbone

    model, info = load_backbone()
    store_features(web_rows(pictures, n), Extractor(model, info["image_size"]), 8, 36, WEB_CROPS,
                   out=out)  # fmt: skip
    return out


class StubExtractor:
    """Stands in for model.web_features.Extractor without a backbone: each picture's
    features (every set dataset.web stores: head, mid...) are its mean brightness,
    repeated in set k's k + 2 columns, so a test can tell which picture a row came from."""

    def __init__(self, size: int = 16):
        self.size = size
        self.calls: list[int] = []  # the batch sizes it was called with

    def __call__(self, pictures: np.ndarray, batch_size: int = 32) -> dict[str, np.ndarray]:
        self.calls.append(len(pictures))
        from dataset.web import FEATURE_SETS

        pictures = np.asarray(pictures, np.float32)
        brightness = pictures.reshape(len(pictures), -1).mean(axis=1, keepdims=True)
        names = [name for name in FEATURE_SETS if not name.startswith("small_")]
        return {name: np.repeat(brightness, k + 2, axis=1) for k, name in enumerate(names)}


# --- the scraper against the Google Images stand-in ---

LOCAL = ("127.0.0.1",)  # the stand-in's host, exempt from the private-address guard


def scrape(driver, standin, query, out, *, label="real", limit=10, variant="", **kw):
    """collect() on a running browser against the stand-in (`variant`: its page variant)."""
    options = dict(workers=4, allow_hosts=LOCAL, host_delay_s=0.0, max_scroll_rounds=5)
    options.update(kw)
    search_url = f"{standin}/v/{variant}/search" if variant else f"{standin}/search"
    return collect(query, label, out, limit=limit, search_url=search_url,
                   driver=driver, **options)  # fmt: skip


def assert_folder_matches_manifest(out: Path) -> list[dict]:
    records = read_manifest(out)
    files = sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    assert sorted(r["file"] for r in records) == files  # no temp file, no orphan
    assert len((out / MANIFEST).read_text().splitlines()) == len(records)  # no torn line
    for r in records:
        assert file_sha256((out / r["file"]).read_bytes()) == r["sha256"]
    return records


# --- progress bars (settings/progress.py) ---


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal: progress bars draw on it."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(
    args: list[str], cwd: Path | str = ROOT, timeout: float = 300, env: dict | None = None
) -> str:
    """Run a command with stderr on a pseudo-terminal (stdout to /dev/null); what the
    terminal showed."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    # 24 rows of 100 columns: a new pseudo-terminal has none, and bars fit their width
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    child = subprocess.Popen(
        args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower,
        env=env,
    )  # fmt: skip
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    child.wait(timeout=timeout)
    return shown.decode(errors="replace")


# --- processes (Linux /proc): what a killed process leaves behind ---


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children...), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def process_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
