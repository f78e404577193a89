"""The "which technique?" guide: every combination of answers, and the command."""

from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from panoptix.cli.main import app
from panoptix.viz.advise import QUESTIONS, Advice, advice_table, advise

NAMES = [q for q, _ in QUESTIONS]
ALL = list(itertools.product([False, True], repeat=5))


def expected(every_pixel, separate_objects, overlaps, scores, countable_and_background) -> str:
    # the guide written out as a table, independently of the rule chain in advise()
    if not separate_objects:
        return "semantic"
    if overlaps or scores:
        return "instance"
    if every_pixel or countable_and_background:
        return "panoptic"
    return "instance"


@pytest.mark.parametrize("answers", ALL, ids=lambda a: "".join("YN"[not v] for v in a))
def test_every_combination(answers):
    adv = advise(*answers)
    assert isinstance(adv, Advice)
    assert adv.kind == expected(*answers)
    assert adv.reason and adv.annotation and adv.metric
    metric_word = {"semantic": "mIoU", "instance": "AP", "panoptic": "PQ"}[adv.kind]
    assert metric_word in adv.metric and f"panoptix eval {adv.kind}" in adv.metric
    kw = dict(zip(NAMES, answers))
    if adv.kind == "instance" and (kw["overlaps"] or kw["scores"]):
        assert "panoptic labels cannot hold" in adv.reason
    if adv.kind == "instance" and not kw["scores"]:
        assert any("constant score" in n for n in adv.notes)
    if adv.kind == "semantic" and not kw["every_pixel"]:
        assert any("ignore index" in n for n in adv.notes)
    assert advise(**kw) == adv  # keywords and positions agree
    assert json.loads(json.dumps(adv.to_dict()))["kind"] == adv.kind


def test_table_covers_all_answers():
    rows = advice_table()
    assert len(rows) == 32
    assert {tuple(r[n] for n in NAMES) for r in rows} == set(ALL)
    assert {r["kind"] for r in rows} == {"semantic", "instance", "panoptic"}


runner = CliRunner()


def test_cli_flags():
    res = runner.invoke(app, ["advise", "--every-pixel", "--separate-objects", "--no-overlaps", "--no-scores",
                              "--countable-and-background"])
    assert res.exit_code == 0, res.output
    assert "Use panoptic segmentation" in res.output and "PQ" in res.output


def test_cli_json():
    res = runner.invoke(app, ["advise", "--no-every-pixel", "--separate-objects", "--overlaps", "--scores",
                              "--no-countable-and-background", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["kind"] == "instance" and out["answers"]["overlaps"] is True


def test_cli_prompts_for_missing_answers():
    # every pixel? yes; separate objects? yes; overlaps? no; scores? no; things and background? no
    res = runner.invoke(app, ["advise"], input="y\ny\nn\nn\nn\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("[y/N]") == 5
    assert "Use panoptic segmentation" in res.output


def test_cli_skips_moot_questions():
    res = runner.invoke(app, ["advise", "--no-separate-objects"], input="n\nn\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("[y/N]") == 2  # overlaps and scores are not asked
    assert "Use semantic segmentation" in res.output


def test_cli_without_answers_fails_cleanly():
    res = runner.invoke(app, ["advise", "--every-pixel"], input="")
    assert res.exit_code == 2
    assert "--separate-objects/--no-separate-objects" in res.output
    assert "Traceback" not in res.output
