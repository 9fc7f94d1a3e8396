from faceswap_gan.training.schedule import loss_schedule, phase_at, switches_at


def test_train_schedule_reproduces_the_original_switch_points():
    phases = loss_schedule(40000, "train")
    assert [p.start for p in phases] == [0, 7850, 11850, 15850, 19850, 26516, 31850, 35850]
    assert phase_at(phases, 7849).use_pl is False and phase_at(phases, 7850).use_pl is True
    assert (phase_at(phases, 12000).mask_hinge, phase_at(phases, 12000).m_mask) == (True, 0.5)
    assert phase_at(phases, 30000).lr_factor == 0.3 and phase_at(phases, 39999).lr_factor == 0.1
    assert [p.start for p in phases if p.swap_decoders] == [31850]


def test_colab_schedule_reproduces_the_notebook():
    phases = loss_schedule(34000, "colab")
    assert [p.start for p in phases] == [0, 6650, 10050, 13450, 16850, 22516, 27050, 30450]
    assert [p.start for p in phases if p.swap_decoders] == [22516]
    assert phase_at(phases, 22516).lr_factor == 1.0 and phase_at(phases, 16850).lr_factor == 0.3


def test_short_runs_keep_every_phase_in_order():
    phases = loss_schedule(10, "train", display_every=2)
    starts = [p.start for p in phases]
    assert starts == sorted(starts) and starts[0] == 0 and starts[-1] < 10
    assert [p.swap_decoders for p in switches_at(phases, starts[6])] == [True]
    assert switches_at(phases, 0) == []


def test_fast_schedule_has_the_perceptual_loss_and_a_high_mask_hinge_from_the_start():
    phases = loss_schedule(40000, "fast")
    first = phase_at(phases, 0)
    assert (first.use_pl, first.mask_hinge, first.m_mask, first.lr_factor) == (True, True, 0.9, 1.0)
    assert all(p.mask_hinge and p.m_mask == 0.9 and p.mask_factor == 10 and not p.swap_decoders for p in phases)
    assert all(p.mask_factor == 1 for p in loss_schedule(40000, "train") + loss_schedule(34000, "colab"))
    assert [phase_at(phases, i).lr_factor for i in (0, 26700, 36000)] == [1.0, 0.3, 0.1]
