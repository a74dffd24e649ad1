"""The ``salesmetrics`` command line: a thin layer over the package. Nothing below imports it.

- ``main``: the parser, ``main()`` and the ``validate``, ``import`` and ``simulate`` commands;
- ``score``, ``waterfall``, ``report``, ``model``, ``exercises``: one module per other command (group);
- ``flags``: the flags every command shares, spelled one way (``docs/command-line.md``, decision 0040).
"""
