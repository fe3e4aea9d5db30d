"""DVC stage `publish`: both evaluated views, their card and CIFAKE example pictures to
published/ (committed). Refused below publish.min_accuracy (CIFAKE, whole view) or
publish.min_web_auc (the web view's leave-one-group-out mean ROC-AUC).
"""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    settings, web = params.load("publish"), params.load("web")
    from model.publish import PUBLISHED, publish

    card = publish(settings, web)
    whole, web_view = card["views"]["whole"]["metrics"], card["views"]["web"]["metrics"]
    print(
        f"published {card['name']} to {PUBLISHED}: CIFAKE test accuracy "
        f"{whole['accuracy']:.4f}, web leave-one-group-out mean ROC-AUC "
        f"{web_view['logo']['mean']:.3f}, {settings.examples} examples"
    )


if __name__ == "__main__":
    run(main, "publish")
