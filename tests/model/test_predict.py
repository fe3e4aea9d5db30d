"""python -m model.predict: files and folders, bad files reported and skipped, text/JSON/CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model import predict
from tests.helpers import (
    ROOT,
    TerminalStream,
    make_image,
    png_with_text,
    publish_tiny,
    run_on_terminal,
    solid,
    with_c2pa,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture
def pictures(tmp_path) -> Path:
    """white.png (real), a folder with black.jpg (ai), a broken JPEG, HTML named .jpg, notes."""
    (tmp_path / "white.png").write_bytes(solid(255))
    folder = tmp_path / "folder"
    (folder / "deeper").mkdir(parents=True)
    (folder / "black.jpg").write_bytes(solid(0, "JPEG"))
    (folder / "deeper" / "photo.webp").write_bytes(make_image(120, 90, fmt="WEBP"))
    (folder / "deeper" / "cut.jpg").write_bytes(make_image(120, 90)[:200])
    (folder / "page.jpg").write_bytes(b"<!DOCTYPE html><html><body>404</body></html>")
    (folder / "notes.txt").write_text("not a picture, and not an image extension")
    return tmp_path


def run(argv, model_dir):
    out, err = io.StringIO(), io.StringIO()
    code = predict.main([*argv, "--model", str(model_dir)], out, err)
    return code, out.getvalue(), err.getvalue()


def test_files_and_folders_with_one_bad_file_go_on(pictures, model_dir):
    code, out, err = run([str(pictures / "white.png"), str(pictures / "folder")], model_dir)
    assert code == 1
    lines = [line.split("\t") for line in out.splitlines()]
    names = [Path(line[0]).name for line in lines]
    assert names == ["white.png", "black.jpg", "photo.webp"]  # notes.txt is not looked at
    white, black = lines[0], lines[1]
    assert float(white[1]) > 0.9 and white[2] == "real" and white[3].endswith(" ms")
    assert white[4] == "whole" and lines[2][4] == "web"  # 50x40 vs 120x90
    assert float(black[1]) < 0.1 and black[2] == "ai"
    errors = err.splitlines()
    assert len(errors) == 2
    assert any("cut.jpg: error: corrupt or truncated" in e for e in errors)
    assert any("page.jpg: error: an HTML page" in e for e in errors)


def test_all_good_exits_zero(pictures, model_dir):
    code, out, err = run(
        [str(pictures / "white.png"), str(pictures / "folder/black.jpg")], model_dir
    )
    assert code == 0 and err == "" and len(out.splitlines()) == 2


def test_missing_path_and_empty_folder_are_errors(tmp_path, model_dir):
    (tmp_path / "empty").mkdir()
    code, out, err = run([str(tmp_path / "nope.jpg"), str(tmp_path / "empty")], model_dir)
    assert code == 1 and out == ""
    assert "nope.jpg: error: no such file or folder" in err
    assert "empty: error: no image files in this folder" in err


def test_json_has_a_row_per_picture_and_error_rows(pictures, model_dir):
    code, out, err = run(["--json", str(pictures)], model_dir)
    rows = json.loads(out)
    assert code == 1 and err == ""
    assert {Path(r["path"]).name for r in rows} == {
        "white.png",
        "black.jpg",
        "photo.webp",
        "cut.jpg",
        "page.jpg",
    }
    for row in rows:
        assert set(row) == set(predict.FIELDS)
        if row["error"]:
            assert row["p_real"] is None and row["label"] is None
        else:
            assert 0 <= row["p_real"] <= 1 and row["label"] in ("ai", "real")
            assert row["verdict"] in ("ai", "real", "uncertain") and row["milliseconds"] > 0


def test_csv_has_a_header_and_error_rows(pictures, model_dir):
    code, out, err = run(["--csv", str(pictures / "folder")], model_dir)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and err == ""
    assert tuple(rows[0]) == predict.FIELDS
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["black.jpg"]["label"] == "ai" and by_name["black.jpg"]["error"] == ""
    assert by_name["page.jpg"]["p_real"] == "" and "HTML" in by_name["page.jpg"]["error"]


def test_small_batches_give_the_same_answers_in_the_same_order(tmp_path, model_dir):
    for i in range(7):
        (tmp_path / f"{i}.png").write_bytes(make_image(50, 50, fmt="PNG", seed=i))
    (tmp_path / "3.png").write_bytes(b"GIF89a broken")
    _, big, _ = run(["--json", str(tmp_path)], model_dir)
    _, small, _ = run(["--json", "--batch-size", "2", str(tmp_path)], model_dir)

    def same(rows):  # all but the timings (and the wording of the error)
        return [(r["path"], r["p_real"], r["label"], bool(r["error"])) for r in json.loads(rows)]

    assert same(big) == same(small)
    assert [Path(r[0]).name for r in same(big)] == [f"{i}.png" for i in range(7)]
    assert [r[3] for r in same(big)] == [i == 3 for i in range(7)]


def test_oversized_file_is_refused_before_reading(tmp_path, model_dir, monkeypatch):
    monkeypatch.setattr(predict, "MAX_BYTES", 1000)
    monkeypatch.setattr(predict.read_bytes, "__defaults__", (1000,))
    (tmp_path / "big.png").write_bytes(make_image(400, 400, fmt="PNG"))
    code, _, err = run([str(tmp_path / "big.png")], model_dir)
    assert code == 1 and "file too large" in err


def test_missing_model_is_one_line_and_exit_2(tmp_path, pictures):
    code, out, err = run([str(pictures / "white.png")], tmp_path / "nothing")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "make pipeline-offline" in err


def test_command_line(pictures, model_dir):
    """The real command: clean stderr (no TensorFlow start-up chatter), exit code 1."""
    env = {**os.environ, "REALORAI_MODEL_DIR": str(model_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "model.predict", "--csv", str(pictures / "folder")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith(",".join(predict.FIELDS) + "\n")
    assert len(done.stdout.splitlines()) == 5


def test_a_progress_bar_counts_the_pictures_on_a_terminal_and_quiet_hides_it(pictures, model_dir):
    args = ["--csv", str(pictures / "folder"), "--model", str(model_dir)]
    for quiet in (False, True):
        out, err = io.StringIO(), TerminalStream()
        code = predict.main(args + ["--quiet"] * quiet, out, err)
        assert code == 1 and len(out.getvalue().splitlines()) == 5
        assert ("predict:" in err.getvalue() and "/4 " in err.getvalue()) != quiet


def test_command_line_draws_its_bar_on_a_pseudo_terminal(pictures, model_dir):
    """The real command with stderr on a terminal (test_command_line: on a pipe, nothing)."""
    shown = run_on_terminal(
        [sys.executable, "-m", "model.predict", str(pictures / "folder")],
        env={"REALORAI_MODEL_DIR": str(model_dir)},
    )
    assert "predict:" in shown and "/4 " in shown
    assert "page.jpg: error: an HTML page" in shown  # error lines still reach stderr


def test_rows_carry_the_view_and_what_the_file_says_about_its_origin(tmp_path, model_dir):
    (tmp_path / "signed.jpg").write_bytes(with_c2pa(make_image(120, 90)))
    parameters = "a dog\nSteps: 30, Sampler: DPM++ 2M, Model: sdxl"
    (tmp_path / "sd.png").write_bytes(png_with_text({"parameters": parameters}, size=(40, 30)))
    (tmp_path / "plain.png").write_bytes(solid(255))
    code, out, _ = run(["--json", str(tmp_path)], model_dir)
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert code == 0
    signed, sd, plain = rows["signed.jpg"], rows["sd.png"], rows["plain.png"]
    # the web view's temperature was fitted on web pictures of held-out groups
    assert (signed["view"], signed["kind"], signed["calibrated"]) == ("web", "web picture", True)
    assert signed["c2pa_state"] == "Valid" and signed["c2pa_signer"] == "Realorai Test Lab"
    assert signed["digital_source_type"] == "trainedAlgorithmicMedia"
    assert signed["provenance"].startswith("Content Credentials: made with Test Generator 2.1")
    assert (sd["view"], sd["calibrated"]) == ("whole", True)
    assert sd["png_generator"] == "Stable Diffusion web UI"
    assert sd["generator_settings"].startswith("Steps: 30")
    assert plain["c2pa_state"] is None and "proves nothing" in plain["provenance"]

    code, out, _ = run(["--csv", str(tmp_path / "signed.jpg")], model_dir)
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["c2pa_state"] == "Valid" and row["view"] == "web"
    code, out, _ = run([str(tmp_path / "signed.jpg")], model_dir)
    assert out.rstrip("\n").split("\t")[5].startswith("Content Credentials:")


@pytest.fixture(scope="module")
def three_dir(tmp_path_factory) -> Path:
    from model.classes import CLASSES
    from tests.helpers import tiny_card, tiny_three_class_model, whole_view

    card = tiny_card(views={"whole": whole_view(classes=list(CLASSES))})
    folder = publish_tiny(tmp_path_factory.mktemp("three"), card=card)
    tiny_three_class_model().save(folder / "model.keras")
    return folder


def test_a_three_class_model_prints_its_three_probabilities(pictures, three_dir):
    target = str(pictures / "white.png")
    _, text, _ = run([target], three_dir)
    words = text.split("\t")[-1].split()
    assert words[0::2] == ["real", "modified", "ai"]
    assert sum(float(p) for p in words[1::2]) == pytest.approx(1.0, abs=1e-3)
    assert float(text.split("\t")[1]) == pytest.approx(float(words[1]), abs=1e-4)

    _, out, _ = run(["--csv", target, str(pictures / "folder" / "page.jpg")], three_dir)
    rows = list(csv.DictReader(io.StringIO(out)))
    columns = tuple(rows[0])
    assert columns[columns.index("p_real") :][:3] == ("p_real", "p_modified", "p_ai")
    assert set(predict.FIELDS) < set(columns)
    good, bad = rows
    total = sum(float(good[k]) for k in ("p_real", "p_modified", "p_ai"))
    assert total == pytest.approx(1.0, abs=1e-5)
    assert bad["p_modified"] == "" and bad["error"]

    _, out, _ = run(["--json", target], three_dir)
    (row,) = json.loads(out)
    assert row["p_real"] + row["p_modified"] + row["p_ai"] == pytest.approx(1.0, abs=1e-5)


def test_a_two_class_model_prints_no_class_columns(pictures, model_dir):
    _, out, _ = run(["--json", str(pictures / "white.png")], model_dir)
    (row,) = json.loads(out)
    assert "p_modified" not in row and "p_ai" not in row


def test_a_web_pictures_row_is_the_web_views_verdict(pictures, model_dir):
    """The command goes through the same predictor: its row for a 120x90 picture is the
    web view's p_real for those bytes."""
    from model.serve import Predictor

    path = pictures / "folder" / "deeper" / "photo.webp"
    _, out, _ = run(["--json", str(path)], model_dir)
    (row,) = json.loads(out)
    expected = Predictor.load(model_dir, uncertain_band=0.2, warm_up=False).predict_bytes(
        path.read_bytes()
    )
    assert (row["view"], row["kind"]) == ("web", "web picture") == (expected.view, expected.kind)
    assert row["p_real"] == pytest.approx(expected.p_real, abs=1e-3)


# --- hostile file systems and files (issue 28) ---


@pytest.mark.timeout(120)
def test_every_argument_and_found_entry_gets_a_row(tmp_path, model_dir):
    """A dangling link, a link loop and a FIFO named *.jpg, in a folder and as arguments:
    each is an error row (they had none), and a FIFO is never waited on."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "good.png").write_bytes(solid(255))
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    os.mkfifo(folder / "pipe.jpg")
    loop, fifo = tmp_path / "loop2.png", tmp_path / "pipe2.png"
    loop.symlink_to(loop)
    os.mkfifo(fifo)
    code, out, _ = run(["--json", str(folder), str(loop), str(fifo)], model_dir)
    rows = {Path(r["path"]).name: r["error"] for r in json.loads(out)}
    assert code == 1 and rows == {
        "gone.jpg": "a symbolic link to nothing",
        "good.png": None,
        "loop.jpg": "a symbolic link loop, not a file",
        "pipe.jpg": "not a regular file (a FIFO)",
        "loop2.png": "a symbolic link loop, not a file",
        "pipe2.png": "not a regular file (a FIFO)",
    }


def test_a_file_is_read_to_the_cap_plus_one_byte_whatever_its_size_said(tmp_path):
    """/proc files say they are empty and hold more, as a file replaced or grown between
    the size check and the read does: the read stops at the cap."""
    assert os.path.getsize("/proc/self/maps") == 0
    with pytest.raises(predict.ImageError, match="file too large \\(more than 100 bytes\\)"):
        predict.read_bytes("/proc/self/maps", max_bytes=100)
    (tmp_path / "small.png").write_bytes(b"x" * 100)
    assert predict.read_bytes(str(tmp_path / "small.png"), max_bytes=100) == b"x" * 100


def test_text_output_is_one_line_per_picture_with_control_characters_escaped(tmp_path, model_dir):
    """Newlines in a file name and in metadata, ESC sequences in EXIF: three pictures are
    three lines, and no raw control character reaches the terminal."""
    from tests.helpers import jpeg_with, xmp_packet

    (tmp_path / "two\nlines.png").write_bytes(solid(255))
    (tmp_path / "red\x1b[31m.png").write_bytes(solid(0))
    (tmp_path / "meta.jpg").write_bytes(
        jpeg_with(xmp=xmp_packet("digitalCapture", tool="Paint\nforged line\n"),
                  make="\x1b[2J\x1b]0;owned\x07Canon", model="EOS\u2028R5")
    )  # fmt: skip
    (tmp_path / "bad\tname\r.jpg").write_bytes(b"<html>")
    code, out, err = run([str(tmp_path)], model_dir)
    assert code == 1
    assert out.count("\n") == 3 and err.count("\n") == 1
    for text in (out, err):
        assert not any(c in text for c in "\x1b\x07\r\u2028")
    assert "two\\nlines.png" in out and "red\\x1b[31m.png" in out
    assert "bad\\tname\\r.jpg: error:" in err
    meta = next(line for line in out.splitlines() if "meta.jpg" in line)
    assert "\\x1b[2J" in meta and "software Paint forged line" in meta
    code, out, _ = run(["--csv", str(tmp_path)], model_dir)
    assert out.count("\n") == 5 and "\x1b" not in out  # header + four rows
