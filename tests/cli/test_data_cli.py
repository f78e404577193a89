"""`panoptix convert | info | validate` over real files, in real processes."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from panoptix.core import Taxonomy, rgb_to_id


@pytest.fixture
def sample_copy(sample_dir, tmp_path):
    dst = tmp_path / "sample"
    shutil.copytree(sample_dir, dst)
    return dst


def test_info_lists_images_classes_and_no_problems(run_cli, sample_dir):
    res = run_cli("info", sample_dir / "panoptic.json")
    assert res.returncode == 0, res.stderr
    assert "2 images" in res.stdout and "133 classes" in res.stdout
    assert "person" in res.stdout and "no problems found" in res.stdout


def test_convert_panoptic_to_semantic_png_pixel_for_pixel(run_cli, sample_dir, tmp_path):
    out = tmp_path / "sem"
    res = run_cli("convert", sample_dir / "panoptic.json", out, "--to", "semantic-png")
    assert res.returncode == 0, res.stderr
    gt = json.loads((sample_dir / "panoptic.json").read_text())
    assert (out / "categories.json").is_file()
    for ann in gt["annotations"]:
        ids = rgb_to_id(np.array(Image.open(sample_dir / "panoptic" / ann["file_name"]).convert("RGB")))
        expected = np.full(ids.shape, 255)
        for s in ann["segments_info"]:
            expected[ids == s["id"]] = s["category_id"]
        got = np.array(Image.open(out / ann["file_name"]))
        assert np.array_equal(got, expected)


def test_convert_to_coco_instances_then_validate(run_cli, sample_dir, tmp_path):
    out = tmp_path / "inst.json"
    assert run_cli("convert", sample_dir / "panoptic.json", out, "--to", "coco-instances").returncode == 0
    data = json.loads(out.read_text())
    tax = Taxonomy.from_coco(json.loads((sample_dir / "panoptic.json").read_text())["categories"])
    assert data["annotations"] and all(tax[a["category_id"]].isthing for a in data["annotations"])
    res = run_cli("validate", out)
    assert res.returncode == 0 and "valid" in res.stdout


def test_validate_reports_every_problem_with_ids_and_exit_2(run_cli, sample_copy):
    data = json.loads((sample_copy / "panoptic.json").read_text())
    ann = data["annotations"][0]
    dropped = ann["segments_info"].pop(0)          # now in the PNG but not in the JSON
    ann["segments_info"][0]["category_id"] = 9999  # unknown category
    (sample_copy / "panoptic.json").write_text(json.dumps(data))
    res = run_cli("validate", sample_copy / "panoptic.json")
    assert res.returncode == 2
    assert f"segment {dropped['id']}: segment is in the PNG but not in the JSON" in res.stderr
    assert "unknown category id 9999" in res.stderr
    assert f"image {ann['image_id']}" in res.stderr
    assert "Traceback" not in res.stderr


def test_truncated_png_is_one_line_exit_2_and_nothing_written(run_cli, sample_copy, tmp_path):
    png = sample_copy / "panoptic" / "000000142238.png"
    png.write_bytes(png.read_bytes()[:300])
    out = tmp_path / "inst.json"
    res = run_cli("convert", sample_copy / "panoptic.json", out, "--to", "coco-instances")
    assert res.returncode == 2
    assert "000000142238.png" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".inst.json*"))


def test_unwritable_output_exit_2(run_cli, sample_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = run_cli("convert", sample_dir / "panoptic.json", blocker / "out.json", "--to", "coco-instances")
    assert res.returncode == 2 and "cannot write" in res.stderr


def test_missing_field_and_missing_file_exit_2(run_cli, sample_copy):
    data = json.loads((sample_copy / "panoptic.json").read_text())
    del data["annotations"][1]["segments_info"][0]["category_id"]
    (sample_copy / "panoptic.json").write_text(json.dumps(data))
    res = run_cli("validate", sample_copy / "panoptic.json")
    assert res.returncode == 2 and "category_id" in res.stderr
    res = run_cli("info", sample_copy / "nope.json")
    assert res.returncode == 2 and "nope.json" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("cmd", ["convert", "info", "validate"])
def test_help_has_an_example(run_cli, cmd):
    res = run_cli(cmd, "--help")
    assert res.returncode == 0 and "Example" in res.stdout


def test_commands_take_fsspec_urls(run_cli, sample_dir, tmp_path):
    res = run_cli("info", f"file://{sample_dir / 'panoptic.json'}")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "sem"
    res = run_cli("convert", f"file://{sample_dir / 'panoptic.json'}", f"file://{out}", "--to", "semantic-png")
    assert res.returncode == 0, res.stderr
    assert len(list(out.glob("*.png"))) == 2
