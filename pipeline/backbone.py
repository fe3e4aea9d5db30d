"""DVC stage `backbone`: the pinned weights package -> data/backbone/ (the Keras backbone,
backbone.keras, and where its weights came from, backbone.json: package, version,
file, sha256, feature sizes)."""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    web = params.load("web")
    from model.web_view import BACKBONE_DIR, make_backbone

    info = make_backbone(web.backbone, web.image_size)
    print(
        f"backbone: {info['backbone']} from {info['package']} {info['version']} "
        f"({info['file']}, sha256 {info['sha256'][:12]}...) -> {BACKBONE_DIR}"
    )


if __name__ == "__main__":
    run(main, "backbone")
