"""Exercise notebooks: their answer cells, filling them (for tests), checking their form, per-trainee variants.

An exercise notebook has exactly one cell tagged ``parameters`` (``data``, ``seed``, ``trainee``) and one cell
per question tagged ``answer`` whose metadata names the question::

    {"tags": ["answer"], "salesmetrics": {"question": "q2"}}

The answer cell holds only the placeholder assignment (``per_owner = ____``); the check is in the next cell
(``ex.q2.check(per_owner)``), so the test harness can replace the answer cell with the question's solution or
typical wrong code (:func:`fill_answers`) and leave everything else as the trainee sees it.
:func:`make_variants` writes each trainee's notebooks with their parameters injected by papermill, unexecuted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics._util.csv_safe import csv_rows, unescape_cell
from salesmetrics._util.output import check_output_folder
from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises import NOTEBOOKS, exercise_modules, find_exercise
from salesmetrics.exercises.progress import name_key
from salesmetrics.exercises.variants import missing_needs, seed_for
from salesmetrics.log.reading import read_log
from salesmetrics.simulation.params import SCENARIOS

ANSWER_TAG = "answer"
PARAMETERS = ("data", "seed", "trainee")
MODES = ("blank", "solution", "wrong")


def read_notebook(path: str | Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def notebook_path(module: ModuleType, folder: str | Path | None = None) -> Path:
    """The notebook of an exercise module: ``<folder>/<ID>.ipynb`` (default folder: the repository's exercises)."""
    return Path(folder or NOTEBOOKS) / f"{module.ID}.ipynb"


def answer_cells(nb) -> dict[str, int]:
    """Question id -> index of its answer cell."""
    out = {}
    for i, cell in enumerate(nb.cells):
        if ANSWER_TAG in cell.get("metadata", {}).get("tags", []):
            qid = cell.metadata.get("salesmetrics", {}).get("question")
            if qid:
                out[qid] = i
    return out


def fill_answers(nb, exercise, mode: str):
    """A copy of ``nb`` with every answer cell left blank (``"blank"``), replaced by the question's solution code
    (``"solution"``) or by its typical wrong code (``"wrong"``; questions without one keep their solution)."""
    import copy

    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    nb = copy.deepcopy(nb)
    if mode == "blank":
        return nb
    for qid, index in answer_cells(nb).items():
        question = exercise[qid]
        code = question.solution_code if mode == "solution" else (question.wrong_code or question.solution_code)
        nb.cells[index].source = code
    return nb


def check_notebook(nb, module: ModuleType) -> list[str]:
    """Problems with the form of an exercise notebook (an empty list when it is fine).

    Checks: no outputs or execution counts; exactly one ``parameters`` cell defining data, seed and trainee;
    one answer cell per question of the module, each holding ``____`` and no more than a few lines; a
    ``.<id>.check(`` call for every question; a ``.<id>.show_options()`` cell before each choice question's
    answer (no option written with a fixed letter); no solution code in the notebook.
    """
    problems = []
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        problems.append(f"expected exactly one cell tagged 'parameters', found {len(params)}")
    else:
        for name in PARAMETERS:
            if not re.search(rf"^{name}\s*:", params[0].source, flags=re.M):
                problems.append(f"the parameters cell does not define '{name}: type = value  # comment'")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {i} has outputs or an execution count: store the notebook without outputs")
    exercise = module.setup(progress=False)
    cells = answer_cells(nb)
    ids = [q.id for q in exercise]
    for qid in ids:
        if qid not in cells:
            problems.append(f"question {qid} has no answer cell (tag 'answer', metadata salesmetrics.question)")
    for qid in cells:
        if qid not in ids:
            problems.append(f"answer cell for {qid!r}, which {module.ID} does not define")
    for qid, index in cells.items():
        if "____" not in nb.cells[index].source:
            problems.append(f"the answer cell of {qid} holds no ____ placeholder")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for qid in ids:
        if not re.search(rf"\.{qid}\.check\(", code):
            problems.append(f"no cell calls .{qid}.check(...)")
    text = "\n".join(c.source for c in nb.cells)
    for q in exercise:
        if q.kind != "choice" or q.id not in cells:
            continue
        shown = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f".{q.id}.show_options()" in c.source]
        if not shown or min(shown) > cells[q.id]:
            problems.append(
                f"no cell shows the options of {q.id} before its answer cell: `ex.{q.id}.show_options()` (letters "
                "are shuffled per trainee, so they cannot be written in the text)"
            )
        for line in re.findall(r"^- \*\*[A-Z]\*\*: .*$", text, flags=re.M):
            problems.append(f"the notebook writes an option with a fixed letter ({line[:50]!r}); use show_options()")
            break
    for q in exercise:
        if q.kind in ("function", "frame", "value"):
            solution = q.solution_code
            body = [
                line.strip()
                for line in solution.splitlines()
                if len(line.strip()) > 25 and not line.strip().startswith(("#", '"""', "def ", "return ____"))
            ]
            for line in body:
                if line in text:
                    problems.append(f"the notebook contains solution code of {q.id}: {line[:60]!r}")
                    break
    return problems


# ------------------------------------------------------------------------------------------------------------
# Variants for a group of trainees


def read_trainees(path: str | Path) -> list[str]:
    """Trainee names from a text file: one per line; blank lines and lines starting with # are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the trainees file {path}: {exc.strerror or exc}.") from None
    names, seen = [], set()
    for number, line in enumerate(lines, start=1):
        name = " ".join(line.split())
        if not name or name.startswith("#"):
            continue
        key = name.casefold()
        if key in seen:
            raise UsageError(f"{path}, line {number}: {name!r} is listed twice; give each trainee once.")
        seen.add(key)
        names.append(name)
    if not names:
        raise UsageError(f"{path} holds no trainee names; write one name per line.")
    return names


def trainee_folder(name: str) -> str:
    """A folder name for a trainee: ``'Ana Silva'`` -> ``'ana-silva'``.

    >>> trainee_folder("Zoë O'Brien")
    'zoe-o-brien'
    """
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "trainee"


def parameterize(nb, parameters: dict[str, Any]):
    """``nb`` with papermill's ``injected-parameters`` cell after its ``parameters`` cell; nothing is executed."""
    import nbformat
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", nbformat.NotebookNode())
    untagged = []
    for cell in nb.cells:  # papermill expects every cell to have a tags list
        if "tags" not in cell.metadata:
            cell.metadata["tags"] = []
            untagged.append(cell)
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    for cell in untagged:
        if not cell.metadata.get("tags"):
            cell.metadata.pop("tags", None)
    nb.metadata.pop("papermill", None)  # the injected cell says it all; keep the file plain
    return nb


def _check_log_needs(data: str, modules: Sequence[ModuleType]) -> None:
    """Refuse a log folder that lacks what one of the ``modules`` needs (their ``NEEDS``), naming both."""
    log = read_log(data)
    problems = []
    for module in modules:
        lacks = missing_needs(log, getattr(module, "NEEDS", ()))
        if lacks:
            problems.append(f"{module.ID} needs {' and '.join(lacks)}")
    if problems:
        usable = [m.ID.split("-", 1)[0] for m in modules if not missing_needs(log, getattr(m, "NEEDS", ()))]
        tip = f", or pick the exercises it can serve with --exercise ({', '.join(usable)})" if usable else ""
        raise UsageError(
            f"The log {data} cannot serve every exercise: {'; '.join(problems)}, which it lacks. Leave --scenario "
            f"out (each exercise then simulates its own data), give a log that records these{tip}."
        )


@renamed(force="overwrite")  # its name before 0.2.0: one replace flag (decision 0040)
def make_variants(
    trainees: Sequence[str],
    out: str | Path,
    *,
    exercises: Iterable[str] | None = None,
    data: str | None = None,
    cohort: str = "",
    overwrite: bool = False,
    folder: str | Path | None = None,
    add: bool = False,
) -> list[Path]:
    """Write ``out/<trainee>/<exercise>.ipynb`` for every trainee and exercise, unexecuted, with the trainee's
    name and seed (and ``data``, if given) injected; and ``out/trainees.csv`` (name, folder, seed).

    The seed is :func:`~salesmetrics.exercises.variants.seed_for` of the name and ``cohort``, so the same list gives
    the same variants again, and another cohort gets other numbers. Existing notebooks are not replaced unless
    ``overwrite``; with ``add`` they are left alone and only the missing ones are written (a late joiner, a new
    exercise). ``trainees.csv`` keeps the trainees already in it and adds or updates those given. Every file is
    written atomically. Returns the notebooks written.
    """
    import nbformat

    modules = [find_exercise(e) for e in exercises] if exercises else list(exercise_modules().values())
    if data is not None and data not in SCENARIOS:
        if not Path(data).is_dir():
            raise UsageError(
                f"data {data!r} is neither a simulator scenario ({', '.join(SCENARIOS)}) nor a log folder."
            )
        data = str(Path(data).resolve())  # the notebooks run in the trainee's folder
        _check_log_needs(data, modules)
    out = check_output_folder(
        out,
        logs=[data] if data is not None and Path(data).is_dir() else [],
        inputs=[Path(folder) if folder else notebook_path(modules[0]).parent] if modules else [],
        what="the trainees' notebooks (it is created if it does not exist)",
        replaces=False,
    )
    if add and overwrite:
        raise UsageError("--add keeps existing notebooks and --overwrite replaces them: pass only one of them.")
    earlier = _read_trainees_csv(out / "trainees.csv")
    folders: dict[str, str] = {}
    for name in trainees:
        slug = trainee_folder(name)
        if slug in folders.values():
            other = next(k for k, v in folders.items() if v == slug)
            raise UsageError(f"trainees {other!r} and {name!r} would share the folder {slug!r}; make the names differ.")
        folders[name] = slug
    for name, (slug, _) in earlier.items():
        clash = [n for n, f in folders.items() if f == slug and name_key(n) != name_key(name)]
        if clash:
            raise UsageError(
                f"{clash[0]!r} would use the folder {slug!r} of {name!r}, already in {out / 'trainees.csv'}; "
                "make the names differ."
            )
    sources = {}
    for module in modules:
        path = notebook_path(module, folder)
        if not path.is_file():
            raise UsageError(f"the notebook of exercise {module.ID} is not at {path}; pass the exercises folder.")
        sources[module.ID] = read_notebook(path)
    targets = [out / folders[name] / f"{m.ID}.ipynb" for name in trainees for m in modules]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite and not add:
        raise UsageError(
            f"{len(existing)} of the notebooks already exist (e.g. {existing[0]}). To add only the missing ones "
            "(a late joiner, a new exercise) and leave the others alone, pass --add; --overwrite replaces them, and "
            "the trainees' work in them is lost."
        )
    written = []
    rows = {name_key(k): (k, *v) for k, v in earlier.items()}
    for name in trainees:
        before = rows.get(name_key(name))
        # with --add, a trainee already listed keeps the seed their first notebooks were made with
        seed = int(before[2]) if add and before is not None and before[2].isdigit() else seed_for(name, cohort)
        for module in modules:
            target = out / folders[name] / f"{module.ID}.ipynb"
            if add and target.exists():
                continue
            params: dict[str, Any] = {"trainee": name, "seed": seed}
            if data is not None:
                params["data"] = data
            nb = parameterize(nbformat.from_dict(sources[module.ID]), params)
            write_text_atomic(target, nbformat.writes(nb))
            written.append(target)
        rows[name_key(name)] = (name, folders[name], str(seed))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["trainee", "folder", "seed"])
    writer.writerows(csv_rows(rows.values()))  # a name like '=HYPERLINK(...)' is not a formula in a spreadsheet
    write_text_atomic(out / "trainees.csv", buffer.getvalue())
    return written


def _read_trainees_csv(path: Path) -> dict[str, tuple[str, str]]:
    """Trainee -> (folder, seed) from an earlier ``trainees.csv`` (empty when there is none)."""
    if not path.is_file():
        return {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return {
                unescape_cell(row["trainee"]): (unescape_cell(row["folder"]), unescape_cell(row["seed"]))
                for row in csv.DictReader(handle)
                if row.get("trainee")
            }
    except (OSError, KeyError, csv.Error) as exc:
        raise UsageError(f"cannot read the earlier {path} ({exc}); move it away, then run make again.") from None


__all__ = [
    "ANSWER_TAG",
    "MODES",
    "answer_cells",
    "check_notebook",
    "fill_answers",
    "make_variants",
    "notebook_path",
    "parameterize",
    "read_trainees",
    "run_in_process",
    "trainee_folder",
]


def run_in_process(nb, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the code cells of ``nb`` in this process (no kernel), the ``parameters`` overriding the parameters
    cell; returns the namespace. Quick for tests; figures use the Agg backend and are closed at the end."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*non-interactive.*")
                exec(compile(source, f"<cell {i}>", "exec"), namespace)
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                namespace.update(parameters or {})
    finally:
        plt.close("all")
    return namespace
