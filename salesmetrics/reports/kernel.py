"""The Python kernel that runs report notebooks, and reading which cell of an executed notebook failed.

A batch starts one kernel and runs every report in it, one after another (see :class:`ReportKernel`).
"""

from __future__ import annotations

import re
from pathlib import Path

KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]  # no start-up chatter from the kernel on the terminal

#: Run between two reports in one kernel: every variable deleted, every figure closed, modules kept.
RESET = """\
get_ipython().run_line_magic("reset", "-f")
import matplotlib.pyplot
matplotlib.pyplot.close("all")
del matplotlib
"""


class ReportKernel:
    """One Python kernel that runs report notebooks one after another.

    A batch starts the kernel once, so each further report costs only its own cells (no kernel start-up, no
    imports). Between two reports every variable is deleted (``%reset -f``) and every figure closed; modules
    stay imported. A report that fails or is interrupted shuts the kernel down, and the next starts a new one.
    """

    def __init__(self, cwd: Path):
        self.cwd = str(cwd)
        self.client = None
        self.runs = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _client(self, nb):
        from contextlib import asynccontextmanager

        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        class Client(NotebookClient):
            @asynccontextmanager
            async def async_setup_kernel(self, **kwargs):
                # nbclient's own version installs SIGINT/SIGTERM handlers that outlive the run (Ctrl-C would then
                # only stop the current report's kernel, and the batch would go on); start and keep the kernel
                if not self.km.has_kernel:
                    await self.async_start_new_kernel(**kwargs)
                if self.kc is None:
                    await self.async_start_new_kernel_client()
                yield

        if self.client is None:
            self.client = Client(
                nb,
                km=AsyncKernelManager(kernel_name="python3"),
                kernel_name="python3",
                timeout=None,
                startup_timeout=120,
                extra_arguments=KERNEL_ARGS,
                resources={"metadata": {"path": self.cwd}},
            )
        self.client.nb = nb
        return self.client

    def execute(self, nb):
        """Run every cell of ``nb`` in place; raises nbclient's CellExecutionError when a cell fails."""
        from nbformat.v4 import new_code_cell, new_notebook

        try:
            if self.runs:
                self._client(new_notebook(cells=[new_code_cell(RESET)])).execute()
            self._client(nb).execute()
        except BaseException:
            self.close()  # nothing of a failed or interrupted report is left for the next one
            raise
        self.runs += 1
        return nb

    def close(self):
        client, self.client, self.runs = self.client, None, 0
        if client is None:
            return
        import asyncio

        from jupyter_core.utils import ensure_event_loop, run_sync

        try:
            loop = ensure_event_loop()
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]  # an interrupted run's cells
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            if client.kc is not None:
                client.kc.stop_channels()
            if client.km is not None and client.km.has_kernel:
                run_sync(client.km.shutdown_kernel)(now=True)
        except Exception:  # shutting down a kernel that is already gone
            pass


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-+>\s*(\d+)\s(.*)$")


def failed_cell(nb) -> str | None:
    """'cell 4, line 8 (`health = pipeline_health(...`): ValueError: ...' for the first error, or None."""
    for i, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            where, code = f"cell {i}", next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
            for frame in output.get("traceback", []):  # the cell's own frame comes first
                lines = [_ARROW.match(line) for line in _ANSI.sub("", frame).splitlines()]
                found = next((m for m in lines if m), None)
                if found:
                    where, code = f"cell {i}, line {found[1]}", found[2].strip()
                    break
            code = code if len(code) <= 70 else code[:67] + "..."
            evalue = str(output.get("evalue")).rstrip(".")
            return f"{where} (`{code}`): {output.get('ename')}: {evalue}"
    return None
