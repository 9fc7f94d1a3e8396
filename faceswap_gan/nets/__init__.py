"""The networks: blocks, autoencoder (shared encoder + decoders), discriminator, perceptual backbones."""
