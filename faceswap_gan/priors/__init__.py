"""Weights shipped with the package (float16 generators; ``training/prior.py`` reads them), both made
with the project's own commands by ``scripts/make_priors.sh``; the README's "Shipped weights" says what
each was trained on and for how long:

- ``faces64.pt``: the generic face prior, ``train --prior builtin`` (64 px, lite, hybrid, self-attention);
- ``demo64.pt``: the demo pair (Eileen Collins -> Grace Hopper), which ``faceswap-gan demo`` continues from.
"""
