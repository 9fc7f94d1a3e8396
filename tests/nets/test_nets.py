import itertools

import pytest
import torch
import torch.nn.functional as F

from faceswap_gan.config import ModelConfig
from faceswap_gan.nets.autoencoder import Decoder, Encoder
from faceswap_gan.nets.blocks import NORMS, ScalarNorm, SelfAttention, UpscaleNN, UpscalePS, icnr_, init_weights
from faceswap_gan.nets.discriminator import Discriminator


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# Spec §1.6 (self-attention on): encoder, one decoder, one discriminator; the last two rows were
# measured on the original Keras code.
PARAMETER_COUNTS = [
    ("standard", "instancenorm", 64, 59_130_506, 6_300_924, 747_845),
    ("standard", "instancenorm", 128, 68_567_692, 6_490_305, 1_878_664),
    ("standard", "instancenorm", 256, 78_004_878, 6_679_686, 3_009_483),
    ("standard", "none", 64, 59_130_498, 6_300_918, 747_841),
    ("lite", "hybrid", 64, 10_119_690, 420_948, 768_517),
    ("lite", "hybrid", 128, 19_115_660, 442_089, 1_915_848),
    ("lite", "hybrid", 256, 19_721_998, 463_230, 3_063_179),
    ("lite", "instancenorm", 64, 10_065_994, 415_460, 747_845),
    ("standard", "hybrid", 64, 59_541_258, 6_322_652, 768_517),
]


@pytest.mark.parametrize("capacity, norm, resolution, encoder, decoder, discriminator", PARAMETER_COUNTS)
def test_parameter_counts_match_the_original(capacity, norm, resolution, encoder, decoder, discriminator):
    config = ModelConfig(resolution, capacity, norm, self_attention=True)
    assert count(Encoder(config)) == pytest.approx(encoder, rel=0.01)
    assert count(Decoder(config)) == pytest.approx(decoder, rel=0.01)
    assert count(Discriminator(config)) == pytest.approx(discriminator, rel=0.01)


@pytest.mark.parametrize(
    "norm, capacity, attention", list(itertools.product(NORMS, ["lite", "standard"], [True, False]))
)
def test_every_combination_builds_and_runs_at_64(norm, capacity, attention):
    config = ModelConfig(64, capacity, norm, attention)
    encoder, decoder, disc = Encoder(config), Decoder(config), Discriminator(config)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    out = decoder(encoder(x))
    assert out.alpha.shape == (2, 1, 64, 64) and out.colour.shape == (2, 3, 64, 64) and out.aux == []
    assert out.alpha.min() >= 0 and out.alpha.max() <= 1 and out.colour.abs().max() <= 1
    assert disc(out.colour, x).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("resolution", [128, 256])
def test_deep_supervision_outputs_for_larger_faces(resolution):
    config = ModelConfig(resolution, "lite", "none", self_attention=False)
    out = Decoder(config)(Encoder(config)(torch.zeros(1, 3, resolution, resolution)))
    assert out.colour.shape[-1] == resolution
    assert [a.shape[-1] for a in out.aux] == [64, 128][: resolution // 128]
    assert Discriminator(config)(out.colour, out.colour).shape == (1, 1, 8, 8)


def test_the_merged_heads_equal_the_alpha_and_colour_convs():
    decoder = Decoder(ModelConfig(64, "lite", "hybrid", True))
    for head in (decoder.alpha_head, decoder.colour_head):
        torch.nn.init.normal_(head.bias)
    z = torch.randn(2, 256, 8, 8)
    x = decoder.body(z)
    out = decoder(z)
    torch.testing.assert_close(out.alpha, torch.sigmoid(decoder.alpha_head(x)))
    torch.testing.assert_close(out.colour, torch.tanh(decoder.colour_head(x)))


def test_gradients_reach_the_shared_encoder_from_both_decoders():
    config = ModelConfig(64, "lite", "hybrid", True)
    encoder, decoder_a, decoder_b = Encoder(config), Decoder(config), Decoder(config)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    for decoder in (decoder_a, decoder_b):
        encoder.zero_grad()
        decoder(encoder(x)).colour.mean().backward()
        assert encoder.stem.weight.grad.abs().sum() > 0
        assert encoder.dense1.weight.grad.abs().sum() > 0


def test_icnr_makes_the_first_pixel_shuffle_a_nearest_neighbour_upsampling():
    block = UpscalePS(8, 4, "none")
    icnr_(block.conv.weight)
    torch.nn.init.zeros_(block.conv.bias)
    x = torch.randn(1, 8, 5, 5)
    y = block(x)
    torch.testing.assert_close(y[..., 0::2, 0::2], y[..., 1::2, 1::2])
    torch.testing.assert_close(y[..., 0::2, 0::2], y[..., 0::2, 1::2])


@pytest.mark.parametrize("affine", [True, False])
def test_scalar_norm_normalises_each_sample_over_channels_and_pixels_together(affine):
    norm = ScalarNorm(affine)
    if affine:
        with torch.no_grad():
            norm.gamma.fill_(1.3)
            norm.beta.fill_(0.2)
    x = torch.randn(3, 5, 4, 4) * 3 + 1
    mean, std = x.mean((1, 2, 3), keepdim=True), x.std((1, 2, 3), keepdim=True, correction=0)
    expected = (x - mean) / (std + 1e-3)
    torch.testing.assert_close(norm(x), expected * 1.3 + 0.2 if affine else expected)


@pytest.mark.parametrize("size", [(5, 7), (1, 3), (16, 16)])
def test_lite_upsampler_equals_nearest_upsampling_reflect_padding_and_a_3x3_conv(size):
    block = UpscaleNN(8, 4, "none")
    torch.nn.init.normal_(block.conv.bias)  # zero at init: make it count
    x = torch.randn(2, 8, *size, requires_grad=True)
    up = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")
    expected = F.conv2d(up, block.conv.weight, block.conv.bias)
    out = block(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(expected)
    inputs = (x, block.conv.weight, block.conv.bias)
    for a, b in zip(torch.autograd.grad(out, inputs, grad), torch.autograd.grad(expected, inputs, grad), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_self_attention_equals_the_explicit_softmax_and_starts_as_identity():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 6, 5)
    torch.testing.assert_close(block(x), x)  # gamma starts at 0
    with torch.no_grad():
        block.gamma.fill_(0.7)
    q, k, v = (conv(x).flatten(2) for conv in (block.g, block.f, block.h))  # (B, C', N)
    attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, N, N), no 1/sqrt(d)
    expected = x + 0.7 * (v @ attention.transpose(1, 2)).view_as(x)
    torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-5)


def test_initialisation_is_reproducible_from_a_generator():
    config = ModelConfig(64, "lite", "hybrid", True)
    a, b = Encoder(config), Encoder(config)
    init_weights(a, torch.Generator().manual_seed(3))
    init_weights(b, torch.Generator().manual_seed(3))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    std = a.down[0][0].weight.std().item()  # he_normal on a 3x3x32 fan-in, truncated at 2 std
    assert 0.7 * (2 / 288) ** 0.5 < std < (2 / 288) ** 0.5


def test_the_bottleneck_width_is_a_setting_and_none_keeps_the_originals():
    assert Encoder(ModelConfig()).dense1.out_features == 1024
    assert Encoder(ModelConfig(resolution=128)).dense1.out_features == 2048
    narrow = Encoder(ModelConfig(latent=256))
    assert (narrow.dense1.out_features, narrow.dense2.in_features) == (256, 256)
    assert narrow(torch.zeros(1, 3, 64, 64)).shape == Encoder(ModelConfig())(torch.zeros(1, 3, 64, 64)).shape
    with pytest.raises(ValueError, match="latent"):
        ModelConfig(latent=300)
