"""Engineering behind the course's helpers: code the notebooks never send a learner to read.

- :mod:`.paths`: output-path safety (never write over an input, refuse unwritable places early).
- :mod:`.checks`: argument validation for the public API (seeds, finite numbers, tensors).
- :mod:`.headers`: plausibility checks of audio file headers before decoding.
- :mod:`.install`: the transactional install of a downloaded archive into its destination.
- :mod:`.signals`: SIGTERM handled like Ctrl-C, so cleanup code runs on both.
"""
