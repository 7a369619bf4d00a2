"""``python -m audio_denoise_utils`` runs the ``audio-denoise`` command line."""

from .cli import main

raise SystemExit(main())
