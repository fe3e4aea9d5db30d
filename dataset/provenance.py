"""What a picture's file says about where it came from, read from its original bytes.

Evidence beside the pixel verdict, never mixed into it:
- C2PA Content Credentials (c2pa-python): who signed, which tool made it, its
  digitalSourceType (trainedAlgorithmicMedia = AI-generated...), and whether the
  signature still matches the picture;
- an IPTC DigitalSourceType written in XMP without a manifest (unsigned);
- generator settings in PNG text chunks: Stable Diffusion web UIs' `parameters`,
  ComfyUI's `prompt` / `workflow`;
- EXIF camera make, model and software: weak evidence (easy to copy or remove).
Missing metadata proves nothing: most sites and apps strip it.

The bytes are untrusted: every reader is bounded in size and the C2PA reader in time,
and any failure becomes one line in `Provenance.error`, never an exception.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import asdict, dataclass, field

from PIL import Image

from dataset import content_credentials
from dataset.container import container_problem
from dataset.content_credentials import C2PA_TIMEOUT_S
from dataset.imaging import MAX_PIXELS, sniff_format
from dataset.png_text import png_chunk, png_text

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types, in plain words (what the file claims, not what is true).
SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "made by generative AI",
    "compositeWithTrainedAlgorithmicMedia": "combines a picture with AI-generated parts",
    "algorithmicMedia": "made by a computer program (not from a camera)",
    "compositeSynthetic": "combines computer-made parts",
    "algorithmicallyEnhanced": "enhanced by software",
    "digitalCapture": "captured by a digital camera",
    "computationalCapture": "captured by a camera with computational processing",
    "negativeFilm": "scanned from film",
    "positiveFilm": "scanned from film",
    "print": "scanned from a print",
    "screenCapture": "a screenshot",
    "compositeCapture": "combines several camera pictures",
    "digitalCreation": "drawn or made digitally by a person",
    "digitalArt": "drawn or made digitally by a person",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "lightly edited by a person",
    "dataDrivenMedia": "made from data",
    "virtualRecording": "recorded in a virtual scene",
    "composite": "a composite of several pictures",
}
AI_SOURCE_TYPES = {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"}
C2PA_STATES = {
    "Trusted": "valid, signed by a trusted signer",
    "Valid": "valid signature (the signer is not on a trust list)",
    "Invalid": "invalid: the picture or its credentials were changed after signing",
}
MISSING = (
    "No provenance metadata found. That proves nothing: most websites and apps "
    "remove it, so real photographs and AI pictures alike often have none."
)
MAX_XMP = 1 << 20  # bytes of XMP packet looked at


@dataclass
class Provenance:
    """What the file says about its origin; every part None when absent."""

    c2pa_state: str | None = None  # Trusted | Valid | Invalid
    c2pa_signer: str | None = None
    c2pa_generator: str | None = None  # the claim generator, e.g. "Adobe Firefly 1.0"
    digital_source_type: str | None = None  # IPTC term, e.g. trainedAlgorithmicMedia
    source_type_from: str | None = None  # "c2pa" (signed) or "xmp" (unsigned)
    png_generator: str | None = None  # "Stable Diffusion web UI" | "ComfyUI"
    generator_settings: str | None = None  # the start of the settings text
    camera: str | None = None  # EXIF make and model
    software: str | None = None  # EXIF or XMP software
    errors: list[str] = field(default_factory=list)  # one line each

    @property
    def found(self) -> bool:
        return any(v for k, v in asdict(self).items() if k != "errors")

    @property
    def says_ai(self) -> bool | None:
        """True if the file claims AI generation, False if it claims a camera, else None."""
        if self.digital_source_type in AI_SOURCE_TYPES or self.png_generator:
            return True
        if self.digital_source_type in ("digitalCapture", "computationalCapture"):
            return False
        return None

    def lines(self, quote=str) -> list[str]:
        """Plain-language lines, strongest evidence first; MISSING when there is none.

        Every value read from the file passes through `quote` (the app's markdown
        escaping); the words around them are ours."""
        out, q = [], quote
        if self.c2pa_state:
            made = f"made with {q(self.c2pa_generator)}" if self.c2pa_generator else "no tool named"
            signer = f", signed by {q(self.c2pa_signer)}" if self.c2pa_signer else ""
            state = C2PA_STATES.get(self.c2pa_state) or q(self.c2pa_state)
            line = f"Content Credentials: {made}{signer} — {state}"
            if self.source_type_from == "c2pa" and self.digital_source_type:
                line += f". They say the picture was {_source_words(self.digital_source_type, q)}"
            out.append(line + ".")
        if self.source_type_from == "xmp" and self.digital_source_type:
            out.append(
                f"Metadata (IPTC, unsigned) says the picture was "
                f"{_source_words(self.digital_source_type, q)}; anyone can write or remove this."
            )
        if self.png_generator:
            settings = f": {q(self.generator_settings)}" if self.generator_settings else ""
            out.append(f"Generator settings from {self.png_generator} in the file{settings}")
        if self.camera or self.software:
            parts = [f"camera {q(self.camera)}" if self.camera else "",
                     f"software {q(self.software)}" if self.software else ""]  # fmt: skip
            out.append(
                f"Camera metadata (weak evidence, easy to copy or fake): "
                f"{', '.join(p for p in parts if p)}."
            )
        return out or [MISSING]

    def summary(self) -> str:
        return " ".join(self.lines())

    def fields(self) -> dict:
        """Flat fields for CSV and JSON rows (model/predict.py)."""
        values = asdict(self)
        values["provenance_errors"] = "; ".join(values.pop("errors")) or None
        values["provenance"] = self.summary()
        return values


FIELDS = tuple(Provenance().fields())


def read_provenance(data: bytes, *, c2pa_timeout: float = C2PA_TIMEOUT_S) -> Provenance:
    """Everything the bytes say about their origin. Never raises."""
    found = Provenance()
    fmt = sniff_format(data)
    for reader in (_read_c2pa, _read_xmp, _read_png_text, _read_exif):
        try:
            reader(data, fmt, found, *([c2pa_timeout] if reader is _read_c2pa else []))
        except Exception as e:  # noqa: BLE001 - hostile bytes: report, go on
            found.errors.append(f"{reader.__name__[6:]}: {_one_line(e)}")
    for name, value in vars(found).items():  # every value one printable line
        setattr(found, name, one_line(value) if isinstance(value, str) else value)
    found.errors = [one_line(e) for e in found.errors]
    return found


def one_line(text: str, limit: int = 200) -> str:
    """Text read from a file, made one line of printable characters: runs of white
    space (newlines included) become one space, any other control or format character
    (ESC, NUL, a bidi override, a line separator) its escape, e.g. \\x1b; cut to `limit`."""
    text = " ".join(text.split())
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return text[:limit]


def _source_words(term: str, quote=str) -> str:  # a term as words, and the term itself
    return f"{SOURCE_TYPES.get(term, 'of another kind')} ({quote(term)})"


def _term(uri) -> str | None:
    if not isinstance(uri, str) or not uri.strip():
        return None
    return uri.strip().rstrip("/").rsplit("/", 1)[-1]


# --- C2PA ---


def _read_c2pa(data: bytes, fmt: str | None, found: Provenance, timeout: float) -> None:
    store = content_credentials.manifest_store(data, fmt, timeout)
    if store:
        _fill_c2pa(store, found)


def _fill_c2pa(store: dict, found: Provenance) -> None:
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest")) or {}
    found.c2pa_state = store.get("validation_state") or (
        "Invalid" if store.get("validation_status") else "Valid"
    )
    signature = manifest.get("signature_info") or {}
    found.c2pa_signer = signature.get("issuer") or signature.get("common_name")
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict) and info[0].get("name"):
        found.c2pa_generator = " ".join(
            str(info[0][k]) for k in ("name", "version") if info[0].get(k)
        )
    elif isinstance(manifest.get("claim_generator"), str):
        found.c2pa_generator = manifest["claim_generator"].split()[0]
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            term = _term(action.get("digitalSourceType"))
            if term:
                found.digital_source_type, found.source_type_from = term, "c2pa"
                return


# --- XMP ---

_XMP = re.compile(rb"<x:xmpmeta[\s>].{0,%d}?</x:xmpmeta>" % MAX_XMP, re.S)
_SOURCE = re.compile(r"DigitalSourceType\s*(?:=\s*[\"']|>)\s*([^\"'<\s]{1,200})")
_TOOL = re.compile(r"CreatorTool\s*(?:=\s*[\"']|>)\s*([^\"'<]{1,120})")


def _read_xmp(data: bytes, fmt: str | None, found: Provenance) -> None:
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return
    match = _XMP.match(data, start)
    packet = (match.group(0) if match else data[start : start + MAX_XMP]).decode("utf-8", "replace")
    term = _SOURCE.search(packet)
    if term and not found.digital_source_type:
        found.digital_source_type, found.source_type_from = _term(term.group(1)), "xmp"
    tool = _TOOL.search(packet)
    if tool and not found.software:
        found.software = tool.group(1).strip()


# --- PNG text chunks ---

GENERATORS = {"parameters": "Stable Diffusion web UI", "prompt": "ComfyUI", "workflow": "ComfyUI"}
SETTINGS_SHOWN = 160


def _read_png_text(data: bytes, fmt: str | None, found: Provenance) -> None:
    if fmt != "PNG":
        return
    texts = png_text(data)
    for key, generator in GENERATORS.items():
        if texts.get(key, "").strip():
            found.png_generator = generator
            found.generator_settings = _settings_line(key, texts[key])
            break
    if not found.software and texts.get("Software", "").strip():
        found.software = texts["Software"].strip()[:120]


def _settings_line(key: str, text: str) -> str:
    if key == "parameters":  # "prompt\nNegative prompt: ...\nSteps: 20, Sampler: ..."
        lines = text.strip().splitlines()
        steps = next((line for line in lines if line.startswith("Steps:")), lines[0])
        text = steps
    elif key in ("prompt", "workflow"):
        text = f"a node graph in its `{key}` text"
    text = " ".join(text.split())
    return text[:SETTINGS_SHOWN] + ("…" if len(text) > SETTINGS_SHOWN else "")


# --- EXIF ---

MAKE, MODEL, SOFTWARE = 0x010F, 0x0110, 0x0131


def _read_exif(data: bytes, fmt: str | None, found: Provenance) -> None:
    """EXIF through Pillow's header reader, after the container's structure passed the
    decoder's own bounds (dataset/container.py); a PNG's eXIf chunk is read by hand,
    since Pillow's PNG getexif() decodes every pixel first."""
    if fmt not in ("JPEG", "PNG", "WEBP", "TIFF"):
        return
    if problem := container_problem(data, fmt, MAX_PIXELS):
        raise ValueError(f"not read: {problem}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "PNG":
            exif = Image.Exif()
            if raw := png_chunk(data, b"eXIf"):
                exif.load(raw)
        else:
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:  # the header only
                exif = image.getexif()
    make, model = _text(exif.get(MAKE)), _text(exif.get(MODEL))
    if make or model:
        if make and model and model.lower().startswith(make.lower().split()[0]):
            make = ""  # "Canon" + "Canon EOS R5"
        found.camera = " ".join(p for p in (make, model) if p)
    software = _text(exif.get(SOFTWARE))
    if software:
        found.software = software


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).replace("\0", " ").split())[:80] if value else ""


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:160]
