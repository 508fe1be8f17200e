"""The reader as stages: open -> working picture -> learned stage -> pieces and digits -> MNIST
normalisation.

`segmenter` holds the learned stage (a small fully convolutional network that says, per pixel of
the working picture, how likely it is handwriting); `learned` reads digits from its output. The
rule-based reader in `digitrec.imaging` is the default until the learned one measures at least as
well on real pictures (`benchmarks/real_pictures.py --reader both`).
"""
