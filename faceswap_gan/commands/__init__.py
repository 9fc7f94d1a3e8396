"""The commands of `faceswap-gan`, by concern: data (extract, prepare, masks, sample, augment-parts),
training (pretrain, train), model (convert, export, evaluate), tools (demo, benchmark). Each registers
on ``cli.cli``."""
