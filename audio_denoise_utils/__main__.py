"""``python -m audio_denoise_utils`` runs the ``audio-denoise`` command line.

CLI glue: not course material.
"""

from .cli import main

raise SystemExit(main())
