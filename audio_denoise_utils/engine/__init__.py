"""Engineering behind the course's helpers: code the notebooks never send a learner to read.

- :mod:`.trainer`: the training engine around the learner's loop (mixed precision, gradient
  clipping, learning-rate schedule, DDP, progress bars, timing, time budgets, checkpoints, resume).
- :mod:`.checkpoints`: safe checkpoint files (atomic writes, ``weights_only`` loading, checks).
- :mod:`.device`: device choice, global seeding, the torchrun process group.
- :mod:`.runs`: training and evaluating from a data folder (the CLI's train and evaluate).
- :mod:`.perceptual`: PESQ with resampling and per-clip failures as NaN.
- :mod:`.spectral`: the multi-resolution STFT loss of the shipped model's fine-tuning.
- :mod:`.download`: downloading RAVDESS (progress, resume, md5, safe extraction, marker).
- :mod:`.corrupt_file`: a noisy copy of an audio file at an exact SNR (the CLI's corrupt).
- :mod:`.paths`: output-path safety (never write over an input, refuse unwritable places early).
- :mod:`.checks`: argument validation for the public API (seeds, finite numbers, tensors).
- :mod:`.headers`: plausibility checks of audio file headers before decoding.
- :mod:`.install`: the transactional install of a downloaded archive into its destination.
- :mod:`.signals`: SIGTERM handled like Ctrl-C, so cleanup code runs on both.
"""
