"""DVC stage `publish`: both evaluated views, their card and CIFAKE example pictures to
published/ (committed). Refused below publish.min_accuracy (CIFAKE, whole view) or
publish.min_web_auc (held-out web groups, patch view).
"""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    settings, web = params.load("publish"), params.load("web")
    from model.publish import PUBLISHED, publish

    card = publish(settings, web)
    whole, patch = card["views"]["whole"]["metrics"], card["views"]["patch"]["metrics"]
    print(
        f"published {card['name']} to {PUBLISHED}: CIFAKE test accuracy "
        f"{whole['accuracy']:.4f}, web ROC-AUC on held-out groups {patch['roc_auc']:.3f} "
        f"{patch['roc_auc_ci']}, {settings.examples} examples"
    )


if __name__ == "__main__":
    run(main, "publish")
