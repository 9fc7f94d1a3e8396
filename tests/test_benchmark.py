import json

import pytest
import torch

from faceswap_gan.benchmark import BenchmarkReport, run_hours
from faceswap_gan.runtime import resolve_precision
from tests.test_extract import run_cli


def test_the_time_for_18000_iterations_follows_the_loss_schedule():
    # The train schedule turns the perceptual loss on at 1/5 of the run, less half a display interval:
    # iteration 3450 of 18,000. So 3,450 iterations at 1 s and 14,550 at 2 s.
    assert run_hours(1.0, 2.0, 18_000) == pytest.approx((3_450 * 1 + 14_550 * 2) / 3600)
    assert run_hours(1.0, 1.0, 18_000) == pytest.approx(5.0)


def test_the_report_reads_as_a_table():
    report = BenchmarkReport(
        machine={
            "cpu": "Some CPU",
            "cores": 2,
            "flags": ["avx2", "avx512_bf16"],
            "torch": "2.13",
            "device": "cpu",
            "training_precision": "bf16",
            "training_compiled": True,
        },
        train={"64_lite": 0.5, "64_lite_pl": 0.625, "128_lite": 2.0},
        eta_18000_hours=2.9,
        convert={"720p": 37.0, "1080p": 18.5},
        detect={"720p_full": 20.0, "720p_downscaled": 80.0},
    )
    text = report.describe()
    assert "Some CPU, 2 cores, flags: avx2 avx512_bf16" in text and "on cpu, training in bf16, compiled" in text
    assert "2.00 it/s (0.50 s/it)" in text and "1.60 it/s" in text and "about 2.9 h" in text
    assert "1080p: 18.5 frames/s" in text and "20.0 frames/s (80.0 downscaled)" in text


@pytest.mark.slow
def test_benchmark_through_the_cli_measures_everything_it_names(capsys):
    # --compile off: the minutes of compiling belong to tests/training/test_compiled.py
    code, out, err = run_cli(capsys, "benchmark", "--quick", "--json", "--compile", "off")
    assert code == 0, err
    report = json.loads(out)
    assert report["version"] == 1 and report["machine"]["cores"] >= 1
    # what `train` would use here (--precision auto): bf16 on CPUs with AMX tiles
    assert report["machine"]["training_precision"] == (
        "bf16" if resolve_precision("auto", torch.device("cpu")) else "fp32"
    )
    assert report["machine"]["training_compiled"] is False
    assert set(report["train"]) == {"64_lite", "64_lite_pl", "128_lite"} and min(report["train"].values()) > 0
    assert set(report["convert"]) == {"720p", "1080p"} and min(report["convert"].values()) > 0
    assert report["detect"]["720p_full"] > 0 and report["eta_18000_hours"] > 0
    assert "training 64 lite" in err and "converting 1080p" in err
