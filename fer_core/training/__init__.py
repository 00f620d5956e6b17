"""Training: the FER2013 data, FER+ votes, augmentation, the Keras architectures, the training loop, SWA, ensembles,
evaluation, model cards and shipping. Needs TensorFlow and Keras (the `train` extra)."""
