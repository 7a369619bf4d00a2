"""A stand-in for Colab's ``google.colab`` (CI only): files, drive and output, recorded on disk.

Colab's kernel imports ``google.colab`` before the first cell; ci/colab_stub/startup.py does the
same here, so the notebooks take their Colab branches. What the stubs do:

- ``files.upload()`` returns one small WAV (a tone in noise), as if the learner had picked it;
  with ``COLAB_STUB_UPLOAD=none`` it returns ``{}`` (the learner pressed Cancel).
- ``files.download(path)`` records the call in ``$COLAB_STUB_DIR/downloads.txt``: the CI job
  fails if Run-all downloaded anything.
- ``drive.mount(path)`` creates ``$COLAB_STUB_DIR/drive`` and links ``path`` to it only if
  ``path`` can be created; calls are recorded in ``mounts.txt``.
- ``output.enable_custom_widget_manager()`` is recorded in ``widget_manager.txt``.
"""

from . import drive, files, output

__all__ = ["drive", "files", "output"]
