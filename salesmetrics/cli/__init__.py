"""The ``salesmetrics`` command line: a thin layer over the package. Nothing below imports it.

- ``main``: the commands and their arguments; ``model`` and ``exercises``: the ``model`` and ``exercises`` commands.
"""
