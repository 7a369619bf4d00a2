"""The training loop a learner writes in notebook 04: the reference solution, kept in one place.

tests/test_training.py checks that ``training.fit`` computes exactly what this loop computes (the
same losses and the same weights after the same steps), with the plain engine and with the
default engine set to plain settings. The notebook's solution cells are this text, verbatim:
if either side changes, the test says so.
"""

import torch

from audio_denoise_utils.losses import si_sdr


def train_step(model, noisy, clean, loss_fn, optimizer):
    """One optimiser step on a batch; returns the loss as a number."""
    estimate = model(noisy)
    loss = loss_fn(estimate, clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def validate(model, pairs):
    """Mean SI-SDR (dB) of the model's outputs over fixed (noisy, clean) pairs."""
    model.eval()
    scores = [si_sdr(model(noisy.unsqueeze(0)), clean.unsqueeze(0)) for noisy, clean in pairs]
    model.train()
    return torch.cat(scores).mean().item()


def train(model, train_data, val_pairs, loss_fn, optimizer, epochs, steps_per_epoch, batch_size):
    """Epochs of random batches, validation after each; returns [(train loss, val SI-SDR), ...]."""
    history = []
    for epoch in range(epochs):
        model.train()
        losses = []
        for noisy, clean in train_data.batches(epoch, steps_per_epoch, batch_size):
            losses.append(train_step(model, noisy, clean, loss_fn, optimizer))
        history.append((sum(losses) / len(losses), validate(model, val_pairs)))
    return history
