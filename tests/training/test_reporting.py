import csv

from faceswap_gan.training.reporting import loss_row, plot_losses, read_losses, write_losses


def test_every_term_the_step_returns_gets_a_column_cycle_included():
    history = [
        {"d_a": 1.0, "g_total": 4.0, "adv": 1.0, "cycle": 3.0},
        {"d_a": 3.0, "g_total": 2.0, "adv": 2.0, "cycle": 1.0},
    ]
    assert loss_row(10, history) == {"iteration": 10, "d_a": 2.0, "g_total": 3.0, "adv": 1.5, "cycle": 2.0}


def test_a_term_switched_on_when_resuming_rewrites_the_table_with_every_column(tmp_path):
    path = tmp_path / "losses.csv"
    log = [
        {"iteration": 5, "d_a": 1.0, "recon": 2.0},
        {"iteration": 10, "d_a": 0.5, "recon": 1.5},
        {"iteration": 15, "d_a": 0.4, "recon": 1.0, "cycle": 7.0},
        {"iteration": 20, "d_a": 0.3, "recon": 0.9, "cycle": 6.0},
    ]
    write_losses(path, log)
    assert read_losses(path) == log
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["iteration", "d_a", "recon", "cycle"]
    assert [(r["iteration"], r["cycle"]) for r in rows] == [("5", ""), ("10", ""), ("15", "7.0"), ("20", "6.0")]
    plot_losses(path, tmp_path / "plot.png")  # columns with gaps still plot
    assert (tmp_path / "plot.png").stat().st_size > 1000
