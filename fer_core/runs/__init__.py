"""The run-folder format (the fixed files every training run writes) and the registry of shipped models."""
