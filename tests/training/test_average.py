"""The moving average of the generator's weights: its ramp, what it saves, and how it resumes."""

import torch
from torch import nn

from faceswap_gan.training.average import WeightAverage


def _linear(value: float) -> nn.Linear:
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.fill_(value), layer.bias.fill_(value)
    return layer


def test_the_average_starts_as_a_copy_then_follows_the_ramped_decay():
    live = _linear(1.0)
    average = WeightAverage(live, decay=0.995)
    average.update()  # the first update copies the live weights
    assert torch.equal(average.generator.weight, live.weight)
    with torch.no_grad():
        live.weight.fill_(12.0)
    average.update()  # after 1 update the decay is min(0.995, 2 / 11): 9/11 of the way to the new weights
    torch.testing.assert_close(average.generator.weight, torch.full((2, 2), 1 + 11 * 9 / 11))
    for _ in range(10_000):  # late in a run the decay is the configured one
        average.update()
    assert average.weight == 1 - 0.995
    assert average.generator is not live


def test_decay_zero_is_the_live_generator_and_saves_nothing_extra():
    live = _linear(1.0)
    average = WeightAverage(live, decay=0.0)
    average.update()
    assert average.generator is live and average.state() == {}


def test_state_and_load_restore_the_average_and_its_count():
    live = _linear(1.0)
    average = WeightAverage(live, decay=0.9)
    for value in (1.0, 5.0, 3.0):
        with torch.no_grad():
            live.weight.fill_(value)
        average.update()
    state = average.state()
    assert state["average_count"] == 3
    assert torch.equal(state["generator_train"]["weight"], live.weight)
    assert not torch.equal(state["generator"]["weight"], live.weight)
    other = WeightAverage(_linear(7.0), decay=0.9)
    other.load(state)
    assert torch.equal(other.generator.weight, average.generator.weight)
    assert int(other.averaged.n_averaged) == 3
    # A checkpoint written without an average: the next update starts it from the live weights.
    fresh = WeightAverage(_linear(7.0), decay=0.9)
    fresh.load({"generator": state["generator_train"]})
    fresh.update()
    assert torch.equal(fresh.generator.weight, fresh.live.weight)


def test_integer_buffers_are_copied_not_averaged():
    live = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    average = WeightAverage(live, decay=0.99)
    for _ in range(3):
        live(torch.rand(2, 3, 4, 4))
        average.update()
    assert int(average.generator[1].num_batches_tracked) == int(live[1].num_batches_tracked) == 3
    assert not torch.equal(average.generator[1].running_mean, live[1].running_mean)
