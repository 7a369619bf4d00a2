# IPython start-up file for the Colab CI job: like Colab's kernel, import google.colab (the stub
# in ci/colab_stub) and ipywidgets before the first cell runs.
import google.colab  # noqa: F401
import ipywidgets  # noqa: F401
