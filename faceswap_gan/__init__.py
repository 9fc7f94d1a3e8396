"""faceswap-gan: face swapping with a shared-encoder GAN (a PyTorch re-creation of faceswap-GAN v2.2)."""

__version__ = "0.1.0"
