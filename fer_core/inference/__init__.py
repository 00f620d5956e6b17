"""Inference: face detection, preprocessing, the model runtime, the per-image pipeline, drawing, the live and video
paths, explanations and file analysis. Nothing here imports the training side."""
