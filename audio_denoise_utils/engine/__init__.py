"""Engineering behind the course's helpers: code the notebooks never send a learner to read.

- :mod:`.trainer`: the training engine around the learner's loop (mixed precision, gradient
  clipping, learning-rate schedule, DDP, progress bars, timing, time budgets, checkpoints, resume).
- :mod:`.checkpoints`: safe checkpoint files (atomic writes, ``weights_only`` loading, checks).
- :mod:`.device`: device choice, global seeding, the torchrun process group.
"""
