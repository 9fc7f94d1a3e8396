"""``python -m faceswap_gan ...`` is the ``faceswap-gan`` command."""

from faceswap_gan.cli import main

main()
