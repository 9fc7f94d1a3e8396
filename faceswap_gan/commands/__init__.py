"""The commands of `faceswap-gan`, by concern: data (extract, prepare, masks, sample, augment-parts),
model (train, convert, export, evaluate), tools (demo, benchmark). Each registers on ``cli.cli``."""
