"""Stub of ``google.colab.output``."""

from __future__ import annotations

from ._record import record


def enable_custom_widget_manager() -> None:
    """Record that the notebook asked for Colab's custom widget manager (needed for ipywidgets 8)."""
    record("widget_manager.txt", "enabled")
