"""dlgrade.autograde.notebook: what is kept and not run, line maps, matching, and hostile files."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from dlgrade.autograde.notebook import (
    MAX_LISTED, Extraction, NotebookError, Origin, defined_functions, extract, match,
)

FIXTURES = Path(__file__).parent / "notebooks"
FIXTURE_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".ipynb", ".py") and p.stem != "make_fixtures")


@dataclass(frozen=True)
class Q:
    id: str
    student_functions: tuple[str, ...]

    @property
    def slug(self) -> str:
        return self.id.replace(".", "_")


# the course's questions, as the task registry declares them
QUESTIONS = [
    Q("hw6.q1", ("batch_norm", "layer_norm")),
    Q("hw6.q2", ("bert_param_count", "build_bert_encoder")),
    Q("hw6.q3", ("rotate_batch", "build_trunk")),
    Q("hw6.q4", ("build_model",)),
    Q("hw14.q1", ("cosine_distance", "analogy", "weat_effect_size")),
    Q("hw14.q2", ("build_embedding_net", "triplet_loss", "batch_hard_triplet_loss", "batch_semi_hard_triplet_loss")),
    Q("hw14.q3", ("build_resnet14", "class_weights")),
    Q("hw14.q4", ("build_model",)),
]


def notebook(*cells, metadata=None, **top) -> bytes:
    """A v4 notebook; a cell is ``"code"`` text, or ``("md", text)``."""
    nb = v4.new_notebook(metadata=metadata or {})
    for i, c in enumerate(cells):
        cell = v4.new_markdown_cell(c[1]) if isinstance(c, tuple) else v4.new_code_cell(c)
        cell.id = f"c{i}"
        nb.cells.append(cell)
    data = json.loads(nbformat.writes(nb))
    data.update(top)
    return json.dumps(data).encode()


def raw_notebook(cells, **top) -> bytes:
    """A notebook from raw cell objects (anything JSON), to build malformed ones."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **top}).encode()


def ex_of(*cells, name="hw.ipynb", **kw) -> Extraction:
    return extract(notebook(*cells), name, **kw)


def kinds(ex: Extraction) -> list[tuple[str, int | None, int, str]]:
    return [(n.kind, n.cell, n.line, n.source) for n in ex.not_run]


def compiles(ex: Extraction) -> None:
    compile(ex.source, ex.name, "exec", dont_inherit=True)


# ------------------------------------------------------------------------------------------- fixtures


def _load_fixture_script():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_fixtures_are_what_the_script_writes(tmp_path):
    written = _load_fixture_script().build(tmp_path)
    assert sorted(p.name for p in written) == FIXTURE_FILES
    for p in written:
        assert p.read_bytes() == (FIXTURES / p.name).read_bytes(), f"{p.name}: run make_fixtures.py again"


def _original_line(path: Path, origin: Origin) -> str:
    if origin.file_line is not None:
        return path.read_text(encoding="utf-8").split("\n")[origin.file_line - 1]
    nb = nbformat.read(path, as_version=4)
    return nb.cells[origin.cell - 1].source.split("\n")[origin.line - 1]


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixture_module_compiles_and_every_line_maps_back_to_the_same_text(name):
    ex = extract(FIXTURES / name)
    compiles(ex)
    lines = ex.source.split("\n")[:-1]
    assert len(lines) == len(ex.line_map)
    mapped = 0
    for number, (text, origin) in enumerate(zip(lines, ex.line_map), 1):
        if origin is None:
            assert text == "" or number <= 2, f"line {number} has no origin: {text!r}"
            continue
        original = _original_line(FIXTURES / name, origin)
        assert original.endswith(text) or original.startswith(text), (number, text, original)
        assert ex.origin(number) == origin
        mapped += 1
    assert mapped >= 3
    assert not ex.not_run or ex.not_run_total == len(ex.not_run)


def test_colab_notebook_keeps_definitions_and_lists_what_it_did_not_run():
    ex = extract(FIXTURES / "Q4.ipynb")
    assert defined_functions(ex) == ("build_baseline", "build_model", "plot_history")
    for kept in ("import keras_tuner as kt", "EPOCHS = 50", "LEARNING_RATES = [1e-4", "class_names = ["):
        assert kept in ex.source
    for dropped in ("!pip", "nvidia-smi", "google.colab", "mount", "load_data", ".fit(", "tuner.search",
                    "print(", "%matplotlib", "%%time", "INPUT_SHAPE", "plot_history(history)\n"):
        assert dropped not in ex.source
    got = kinds(ex)
    assert ("shell", 2, 1, "!pip install -q -U keras-tuner") in got
    assert ("shell", 2, 2, "!nvidia-smi") in got
    assert ("colab", 3, 1, "from google.colab import drive") in got
    assert ("colab", 3, 2, "drive.mount('/content/drive')") in got
    assert ("magic", 4, 6, "%matplotlib inline") in got
    assert ("magic", 13, 1, "%%time") in got
    assert ("call", 13, 2, "history = model.fit(x_train, y_train, epochs=EPOCHS, validation_split=0.2)") in got
    assert ("call", 14, 8, "plot_history(history)") in got
    assert any((k, c, ln) == ("call", 11, 4) and s.startswith("tuner.search(x_train") for k, c, ln, s in got)
    assert any(k == "call" and c == 5 and "fashion_mnist.load_data()" in s for k, c, _, s in got)
    input_shape = next(n for n in ex.not_run if n.source.startswith("INPUT_SHAPE"))
    assert input_shape.kind == "statement" and "x_train" in input_shape.note and "cell 5, line 1" in input_shape.note
    assert all(len(n.source) <= 80 for n in ex.not_run)
    assert [n.origin for n in ex.not_run] == sorted((n.origin for n in ex.not_run), key=lambda o: (o.cell, o.line))
    # the cell with the unclosed parenthesis is reported, and the cells after it are still used
    (syntax,) = [i for i in ex.issues if i.code == "syntax_error"]
    assert syntax.origin == Origin(12, 2) and "never closed" in syntax.message and syntax.message.startswith("Cell 12, line 2")
    assert ex.title == "Q4.ipynb" and "HW14 - Q4" in ex.headings
    assert str(ex.not_run[0]) == "cell 2, line 1 (shell): !pip install -q -U keras-tuner"


def test_line_map_leads_an_error_back_to_its_cell_and_line():
    ex = extract(FIXTURES / "Q4.ipynb")
    lines = ex.source.split("\n")
    n = lines.index("def build_model(hp):") + 1
    assert ex.origin(n) == Origin(10, 1) and ex.where(n) == "cell 10, line 1"
    n = next(i for i, ln in enumerate(lines, 1) if "hp.Choice('learning_rate'" in ln)
    assert ex.where(n) == "cell 10, line 7"
    # the line numbers Python reports for the module (tracebacks) name the cell and line the student sees
    code = compile(ex.source, "student_hw14_q4.py", "exec", dont_inherit=True)
    fn = next(c for c in code.co_consts if getattr(c, "co_name", None) == "plot_history")
    assert ex.where(fn.co_firstlineno) == "cell 14, line 1"
    assert ex.origin(0) is None and ex.origin(10_000) is None and ex.where(1) == ""


def test_nbconvert_export_runs_without_running_its_top_level_code(tmp_path):
    ex = extract(FIXTURES / "normalization.py")
    got = kinds(ex)
    assert ("shell", 1, 3, "get_ipython().system('pip install -q tensorflow==2.9')") in got
    assert ("magic", 1, 4, "get_ipython().run_line_magic('matplotlib', 'inline')") in got
    assert any(k == "magic" and s.startswith("get_ipython().run_cell_magic('time'") for k, _, _, s in got)
    assert ("call", 2, 7, "X = np.random.rand(5, 5)") in got
    assert "EPS = 1e-3" in ex.source and "np.random" not in ex.source
    first = next(n for n in ex.not_run if n.kind == "shell")
    assert first.origin == Origin(1, 3, 9) and str(first.origin) == "line 9 (cell 1, line 3)"
    # import it with stand-ins for TensorFlow: nothing runs at import, and the functions work
    stub = tmp_path / "stubs" / "tensorflow" / "keras"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text("")
    (stub / "layers.py").write_text("")
    (tmp_path / "student.py").write_text(ex.source, encoding="utf-8")
    probe = ("import numpy as np, student\n"
             "out = student.batch_norm(np.arange(25.0).reshape(5, 5))\n"
             "assert np.allclose(out.mean(axis=0), 0), out\n"
             "assert np.allclose(student.layer_norm(np.arange(25.0).reshape(5, 5)).mean(axis=1), 0)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "stubs"), str(tmp_path)])}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # show(...) and print(...) at top level were not run


def test_colab_py_export_with_raw_shell_lines_and_magics():
    ex = extract(FIXTURES / "HW14_Q4.py")
    compiles(ex)
    got = kinds(ex)
    assert ("shell", None, 12, "!pip install -q -U keras-tuner") in got
    assert ("magic", None, 21, "%matplotlib inline") in got
    assert ("shell", None, 44, "files = !ls /content/drive/MyDrive") in got
    assert ("statement", None, 45, "for f in files: !echo {f}") in got
    assert ("call", None, 39, "tuner.search(img_train, label_train, epochs=50, validation_split=0.2)") in got
    assert ("call", None, 39, 'print("done")') in got
    assert defined_functions(ex) == ("build_model",)
    assert ex.title == "HW14_Q4.ipynb" and ex.format == "py"


def test_nbformat_3_notebook_with_a_heading_cell():
    ex = extract(FIXTURES / "normalization_v3.ipynb")
    assert ex.nbformat_version == (3, 0)
    assert "HW6 - Q1: normalization" in ex.headings
    assert defined_functions(ex) == ("batch_norm",)
    assert ex.where(ex.source.split("\n").index("def batch_norm(x, eps=1e-3):") + 1) == "cell 3, line 1"
    assert ("magic", 2, 2, "%matplotlib inline") in kinds(ex)


# ------------------------------------------------------------------------------------------- rules


def test_constants_kept_only_when_they_call_nothing_but_pure_constructors():
    ex = ex_of(textwrap.dedent("""\
        import numpy as np
        import tensorflow as tf
        A = [1, 2, (3, 4)]
        B = np.array([[1, 2], [3, 4]], dtype=np.float32)
        C = np.random.rand(3)
        D = dict(units=64, lr=1e-3)
        E = tf.keras.optimizers.Adam()
        F = A + [5] * 2
        G = UNDEFINED + 1
        H = lambda x: x * model
        I = ", ".join(["a", "b"])
        J = {k: v for k, v in zip("ab", range(2))}
        x: int = 5
        A += [6]
        obj.attr = 1
        d['k'] = 1
        N = len(A) if A else 0
        P = (yield)
        """))
    kept = [ln.split(" ")[0].rstrip(":") for ln in ex.source.split("\n")[2:] if ln]
    assert kept == ["import", "import", "A", "B", "D", "F", "H", "I", "J", "x", "A", "N"]
    dropped = {n.source.split(" ")[0]: (n.kind, n.note) for n in ex.not_run}
    assert dropped["C"][0] == dropped["E"][0] == "call"
    assert dropped["G"] == ("statement", "uses UNDEFINED, which is not defined before it")
    assert dropped["obj.attr"][0] == dropped["d['k']"][0] == "statement"
    assert "P" in dropped
    assert defined_functions(ex) == ("H",)
    compiles(ex)


def test_definitions_that_need_names_only_skipped_code_sets_are_not_run():
    ex = ex_of("from google.colab import output\nfrom ipywidgets import interact\nimport numpy as np",
               "data = np.load('/content/drive/MyDrive/x.npy')",
               "def f(x=data):\n    return x",
               "@interact(n=5)\ndef g(n):\n    return n",
               "def h(x):\n    return x + data.mean()",
               "def k(x):\n    display(x)\n    return get_ipython()")
    assert defined_functions(ex) == ("h", "k")
    notes = {n.source.split("(")[0]: n.note for n in ex.not_run}
    assert "data, which only code not run sets (cell 2, line 1)" in notes["def f"]
    assert "interact, which exists only in Colab/Jupyter" in notes["@interact"]
    assert set(ex.unusable_functions) == {"f", "g"}
    warnings_ = {i.code: i for i in ex.issues if i.severity == "warning"}
    assert "h (cell 5, line 1) uses data" in warnings_["uses_not_run_name"].message
    assert "get_ipython" in warnings_["notebook_only_name"].message or "display" in warnings_["notebook_only_name"].message
    compiles(ex)


def test_try_blocks_that_only_import_are_kept_with_colab_imports_replaced():
    ex = ex_of(textwrap.dedent("""\
        try:
            import keras_tuner as kt
        except ImportError:
            !pip install -q keras-tuner
            import keras_tuner as kt
        try:
            from google.colab import drive
            IN_COLAB = True
        except ImportError:
            IN_COLAB = False
        try:
            model = load()
        except Exception:
            pass
        """))
    compiles(ex)
    assert "import keras_tuner as kt" in ex.source and "IN_COLAB = False" in ex.source
    assert "google.colab" not in ex.source and "load()" not in ex.source
    assert ("colab", 1, 7, "from google.colab import drive") in kinds(ex)
    assert ("shell", 1, 4, "!pip install -q keras-tuner") in kinds(ex)
    assert ("statement", 1, 11, "try: model = load() except Exception: pass") in kinds(ex)


def test_main_guard_loops_and_with_blocks_are_not_run():
    ex = ex_of("def main():\n    return 1\n\nif __name__ == '__main__':\n    main()",
               "for i in range(3):\n    print(i)", "with open('x') as fh:\n    text = fh.read()", "while True:\n    pass")
    assert defined_functions(ex) == ("main",)
    got = kinds(ex)
    assert got[0][:3] == ("statement", 1, 4) and ex.not_run[0].note == 'an if __name__ == "__main__" block'
    assert [k[:2] for k in got[1:]] == [("statement", 2), ("statement", 3), ("statement", 4)]


def test_magic_text_inside_strings_and_brackets_is_left_alone():
    source = 'DOC = """\n!pip install x\n%matplotlib inline\n"""\nY = (10\n% 3)\ndef f():\n    """!ls"""\n    return DOC'
    ex = ex_of(source)
    assert ex.not_run == () and "!pip install x" in ex.source and "% 3)" in ex.source
    compiles(ex)


def test_cell_magics_time_keeps_the_body_and_others_drop_the_cell():
    ex = ex_of("%%time\ndef f():\n    return 1", "%%writefile helper.py\ndef g():\n    return 2", "%%bash\nls -la")
    assert defined_functions(ex) == ("f",)
    assert [(k, c, ln) for k, c, ln, _ in kinds(ex)] == [("magic", 1, 1), ("magic", 2, 1), ("magic", 3, 1)]
    assert "is not Python" in ex.not_run[1].note


def test_future_imports_move_to_the_top_and_bad_definitions_are_dropped_at_compile():
    ex = ex_of("import numpy as np", "from __future__ import annotations\ndef f(a, a):\n    return a",
               "def g(x: np.ndarray) -> np.ndarray:\n    return x")
    compiles(ex)
    assert ex.source.split("\n")[2] == "from __future__ import annotations"
    assert defined_functions(ex) == ("g",) and ex.unusable_functions == ("f",)
    (issue,) = [i for i in ex.issues if i.code == "compile_error"]
    assert "duplicate argument" in issue.message and issue.origin == Origin(2, 2)


def test_a_syntax_error_loses_only_its_own_statement_and_later_cells_are_used():
    ex = ex_of("def batch_norm(x):\n    return x +\n\ndef layer_norm(x):\n    return x", "print 'hi'", "Z = 3")
    assert defined_functions(ex) == ("layer_norm",)
    assert ex.unusable_functions == ("batch_norm",)
    assert [(i.code, i.origin) for i in ex.issues] == [("syntax_error", Origin(1, 2)), ("syntax_error", Origin(2, 1))]
    assert "Z = 3" in ex.source
    m = match(ex, QUESTIONS)
    assert m.matches[0].question == "hw6.q1" and m.matches[0].unusable == ("batch_norm",)
    assert m.matches[0].score == 0.5 and m.matches[0].missing == ("batch_norm",)


def test_imports_colab_mixed_relative_and_not_installed():
    ex = ex_of("import os, google.colab as gc\nfrom . import helpers\nimport seaborn as sns\nimport IPython.display",
               importable=lambda top: top != "seaborn")
    assert "import os\n" in ex.source and "seaborn" not in ex.source and "helpers" not in ex.source
    assert [(k, s) for k, _, _, s in kinds(ex)] == [
        ("colab", "import google.colab as gc"), ("import", "from . import helpers"), ("import", "import seaborn as sns"),
        ("colab", "import IPython.display")]
    compiles(ex)


# ------------------------------------------------------------------------------------------- matching


def test_match_single_question_by_functions_and_by_file_name():
    m = match(extract(FIXTURES / "normalization.py"), QUESTIONS)
    assert [(x.question, x.score, x.by) for x in m.matches] == [("hw6.q1", 1.0, "functions")]
    m = match(extract(FIXTURES / "HW14_Q4.py"), QUESTIONS)
    assert [(x.question, x.by) for x in m.matches] == [("hw14.q4", "file name")]
    for name in ("hw6_q1.ipynb", "HW6-Q1.ipynb", "hw6.q1 (1).ipynb", "hw6_q1 - Copy.ipynb", "Copy of HW6_Q1.ipynb"):
        m = match(ex_of("def unrelated():\n    pass", name=name), QUESTIONS)
        assert [(x.question, x.score, x.missing) for x in m.matches] == [("hw6.q1", 0.0, ("batch_norm", "layer_norm"))]


def test_match_several_questions_in_one_notebook():
    m = match(extract(FIXTURES / "HW14.ipynb"), QUESTIONS)
    assert [(x.question, x.score) for x in m.matches] == [
        ("hw14.q1", 0.6667), ("hw14.q2", 0.5), ("hw14.q3", 1.0), ("hw14.q4", 1.0)]
    assert m.matches[0].missing == ("weat_effect_size",) and m.ambiguities == ()
    assert "HW14" in m.matches[3].by


def test_shared_function_name_resolved_by_file_name():
    m = match(extract(FIXTURES / "HW6_Q4_Ali_Rezaei.ipynb"), QUESTIONS)
    assert [x.question for x in m.matches] == ["hw6.q4"] and "file name" in m.matches[0].by


def test_shared_function_name_resolved_by_markdown_title():
    m = match(extract(FIXTURES / "Q4.ipynb"), QUESTIONS)
    assert [x.question for x in m.matches] == ["hw14.q4"]
    assert "heading (HW14 - Q4)" in m.matches[0].by
    persian = ex_of(("md", "# تمرین ۶ - سوال ۴"), "def build_model(hp):\n    return hp", name="Q4.ipynb")
    assert [x.question for x in match(persian, QUESTIONS).matches] == ["hw6.q4"]


def test_shared_function_name_resolved_by_folder_or_other_questions():
    m = match(extract(FIXTURES / "model.ipynb", name="hw6/model.ipynb"), QUESTIONS)
    assert [x.question for x in m.matches] == ["hw6.q4"]
    m = match(extract(FIXTURES / "model.ipynb"), QUESTIONS, hints=["HW14 submissions"])
    assert [x.question for x in m.matches] == ["hw14.q4"]
    ex = ex_of("def build_resnet14():\n    pass\ndef build_model(hp):\n    pass", name="answers.ipynb")
    assert [x.question for x in match(ex, QUESTIONS).matches] == ["hw14.q3", "hw14.q4"]


def test_truly_ambiguous_names_give_an_explicit_ambiguity():
    ex = extract(FIXTURES / "model.ipynb")
    m = match(ex, QUESTIONS)
    assert m.matches == ()
    (amb,) = m.ambiguities
    assert amb.questions == ("hw6.q4", "hw14.q4") and amb.functions == ("build_model",)
    assert amb.message.startswith("model.ipynb defines build_model, which both hw6.q4 and hw14.q4 ask for; "
                                  "name the file hw6_q4.ipynb or hw14_q4.ipynb.")
    m = match(ex_of("def build_model(hp):\n    pass", name="Q4.ipynb"), QUESTIONS)
    assert m.ambiguities and m.ambiguities[0].questions == ("hw6.q4", "hw14.q4")


def test_names_only_one_question_asks_for_decide_between_sharing_questions():
    qs = [Q("hw1.q1", ("build_model", "train")), Q("hw2.q1", ("build_model",))]
    m = match(ex_of("def build_model():\n    pass\ndef train():\n    pass", name="x.ipynb"), qs)
    assert [x.question for x in m.matches] == ["hw1.q1"] and m.ambiguities == ()


def test_no_question_found_says_why_and_a_named_file_still_reaches_its_question():
    m = match(ex_of("def my_bn(x):\n    return x", name="notebook.ipynb"), QUESTIONS)
    assert m.matches == () and "defines none of the functions" in m.message and "my_bn" in m.message
    m = match(ex_of("def my_bn(x):\n    return x", name="HW6 Q1 ali.ipynb"), QUESTIONS)
    assert [(x.question, x.score, x.by) for x in m.matches] == [("hw6.q1", 0.0, "hint (the file name)")]


def test_registry_still_has_the_shared_build_model():
    from dlgrade.questions import all_questions

    registry = [t for t in all_questions() if t.student_functions]
    m = match(extract(FIXTURES / "model.ipynb"), registry)
    assert m.ambiguities and set(m.ambiguities[0].questions) == {"hw6.q4", "hw14.q4"}
    assert [x.question for x in match(extract(FIXTURES / "HW14.ipynb"), registry).matches][-1] == "hw14.q4"


# ------------------------------------------------------------------------------------------- hostile


def test_huge_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "Q1.ipynb"
    with open(big, "wb") as fh:
        fh.truncate(500 * 2**20)  # sparse: 500 MB that cost nothing
    t0 = time.monotonic()
    with pytest.raises(NotebookError, match=r"Q1.ipynb is 500 MB; files up to 32 MB are read. Clear the outputs"):
        extract(big)
    assert time.monotonic() - t0 < 1
    with pytest.raises(NotebookError, match="is 1.0 MB; files up to"):
        extract(b" " * 2**20, "hw.py", max_bytes=1000)


@pytest.mark.parametrize("code, expected", [
    ("x = " + "-" * 100_000 + "1", "too_complex"),
    ("x = " + "1+" * 100_000 + "1", "too_complex"),
    ("x = a" + ".b" * 100_000, "too_complex"),
    ("x = " + "(" * 100_000 + ")" * 100_000, "syntax_error"),
    ("x = " + "[" * 100_000 + "]" * 100_000, "syntax_error"),
    ("x = f" + "()" * 100_000, "too_complex"),
    ("".join(" " * i + "if 1:\n" for i in range(200)) + " " * 200 + "pass", "syntax_error"),
])
def test_deeply_nested_code_is_an_issue_for_its_cell_within_a_time_cap(code, expected):
    t0 = time.monotonic()
    ex = ex_of("def before():\n    pass", code, "def after():\n    pass")
    assert time.monotonic() - t0 < 5
    assert defined_functions(ex) == ("before", "after")
    assert [(i.code, i.origin.cell) for i in ex.errors] == [(expected, 2)]
    compiles(ex)


def test_deeply_nested_json_is_refused():
    with pytest.raises(NotebookError, match="nested too deeply"):
        extract(b'{"nbformat": 4, "cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "Q1.ipynb")


def test_invalid_json_says_where_and_what_to_do():
    data = notebook("x = 1")[:-40]
    with pytest.raises(NotebookError) as err:
        extract(data, "Q1.ipynb")
    msg = str(err.value)
    assert msg.startswith("Q1.ipynb is not valid JSON at line 1, column ")
    assert "download it again from colab with file > download > .ipynb" in msg.lower()


@pytest.mark.parametrize("data, expected", [
    (b"[1, 2]", "is JSON but not a notebook: it holds a list"),
    (b'{"cells": []}', "has no nbformat version"),
    (b'{"nbformat": 5, "cells": []}', "has nbformat 5"),
    (b'{"nbformat": "4", "cells": []}', "has nbformat '4'"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "cells": {"a": 1}}', "its 'cells' is an object, expected a list"),
    (b'{"nbformat": 4, "x": ' + b"9" * 5000 + b"}", "could not be read as JSON"),
    (b'{"nbformat": 4, "cells": []\x00}', "is not valid JSON"),
    (b'{"nbformat": 4, "cells": ["caf\xe9"]}', "is not UTF-8 text (byte 0xe9 on line 1 is not UTF-8)"),
    (b'{"nbformat": 3, "worksheets": [{"cells": 7}]}', "a worksheet's 'cells' is a number"),
])
def test_unreadable_notebooks_raise_a_clear_notebook_error(data, expected):
    with pytest.raises(NotebookError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        extract(data, "Q1.ipynb")


def test_too_many_cells_is_refused():
    with pytest.raises(NotebookError, match="has 5001 cells"):
        extract(raw_notebook([{"cell_type": "code", "source": "", "metadata": {}, "outputs": []}] * 5001), "Q1.ipynb")


def test_cells_of_the_wrong_type_are_skipped_and_the_others_used():
    good = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "def f():\n    return 1"}
    cells = [
        {"cell_type": "code", "source": 42, "metadata": {}, "outputs": []},
        {"cell_type": "code", "source": ["a = 1\n", 2], "metadata": {}, "outputs": []},
        "print('a cell that is a string')",
        {"source": "x = 1"},
        {"cell_type": "code", "source": "def g(:\n", "metadata": []},
        good,
        {"cell_type": "code", "source": ["def h():\n", "    return 2\n"], "metadata": {}, "outputs": "junk"},
        {"cell_type": "markdown", "source": {"not": "text"}},
    ]
    ex = extract(raw_notebook(cells), "Q1.ipynb")
    assert defined_functions(ex) == ("f", "h")
    by_cell = {i.origin.cell: i for i in ex.issues if i.origin}
    assert "has a source that is a number; expected text" in by_cell[1].message
    assert "has a source that is a list" in by_cell[2].message
    assert "Cell 3 is a string, not an object; it was skipped." == by_cell[3].message
    assert "has cell_type None" in by_cell[4].message
    assert by_cell[5].code == "syntax_error"
    assert by_cell[8].code == "bad_cell"
    assert any(i.code == "schema" and i.severity == "warning" for i in ex.issues)
    compiles(ex)


def test_nul_characters_surrogates_and_bad_bytes(tmp_path):
    ex = extract(raw_notebook([{"cell_type": "code", "source": "x = 1\u0000", "metadata": {}, "outputs": []},
                               {"cell_type": "code", "source": "y = '\ud800'", "metadata": {}, "outputs": []},
                               {"cell_type": "code", "source": "z = 3", "metadata": {}, "outputs": []}]), "Q1.ipynb")
    assert [(i.code, i.origin.cell) for i in ex.errors] == [("bad_text", 1), ("bad_text", 2)]
    assert "NUL" in ex.errors[0].message and "z = 3" in ex.source
    with pytest.raises(NotebookError, match=r"hw6_q1.py contains NUL bytes \(first on line 2\)"):
        extract(b"x = 1\ny = 2\x00\n", "hw6_q1.py")
    ex = extract("# نرمال\u200cسازی\ndef batch_norm(x):\n    return x  # caf\xe9\n".encode("utf-8").replace(b"\xc3\xa9", b"\xe9"),
                 "hw6_q1.py")
    assert defined_functions(ex) == ("batch_norm",)
    assert [(i.code, i.severity, i.origin.line) for i in ex.issues] == [("encoding", "warning", 3)]
    ex = extract("def f():\n    return 'é'\n".encode("utf-16"), "hw.py")
    assert defined_functions(ex) == ("f",) and ex.issues[0].code == "encoding"
    ex = extract(notebook("def f():\n    return 'é'").decode().encode("utf-16"), "Q1.ipynb")
    assert defined_functions(ex) == ("f",) and [i.code for i in ex.issues] == ["encoding"]
    ex = extract(b"# -*- coding: latin-1 -*-\nS = '\xe9'\n", "hw.py")
    assert "S = 'é'" in ex.source and ex.issues == ()


def test_files_that_are_not_regular_files_or_have_unknown_types(tmp_path):
    target = tmp_path / "solution.py"
    target.write_text("def batch_norm(x):\n    return x\n")
    link = tmp_path / "hw6_q1.py"
    link.symlink_to(target)
    with pytest.raises(NotebookError, match="is a symbolic link"):
        extract(link)
    fifo = tmp_path / "Q1.ipynb"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(NotebookError, match="is not a regular file"):
        extract(fifo)
    assert time.monotonic() - t0 < 1
    with pytest.raises(NotebookError, match="was not found"):
        extract(tmp_path / "missing.ipynb")
    with pytest.raises(NotebookError, match="neither a notebook"):
        extract(b"{}", "Q1.ipynb.zip")


def test_hostile_file_name_cannot_inject_code_into_the_module():
    ex = extract(b"def f():\n    return 1\n", "x\nimport os; os.system('rm -rf /')\n\u202e.py")
    header = ex.source.split("\n")[:2]
    assert header[0] == "# -*- coding: utf-8 -*-" and header[1].startswith("# dlgrade: the definitions kept from x_")
    assert ex.source.split("\n")[2:] == ["def f():", "    return 1", ""]
    compiles(ex)


def test_worst_case_input_at_the_code_cap_is_read_within_a_time_cap():
    code = ("!pip install x\nprint(1)\nfor i in y:\n    !echo $i\n" * 20_000)[:299_990] + "\ndef (\n"
    t0 = time.monotonic()
    ex = extract(code.encode(), "hw.py")
    assert time.monotonic() - t0 < 15  # about 2 s on the project's 2-core machine
    assert ex.not_run_total > 10_000 and [i.code for i in ex.errors][-1] == "syntax_error"
    compiles(ex)


def test_many_statements_are_counted_but_listed_up_to_a_cap():
    ex = ex_of("\n".join(f"print({i})" for i in range(5000)))
    assert ex.not_run_total == 5000 and len(ex.not_run) == MAX_LISTED


def test_code_beyond_the_cap_is_skipped_with_an_issue():
    ex = ex_of("def f():\n    return 1", "X = 1\n" * 100, "def g():\n    return 2", max_code_chars=200)
    assert defined_functions(ex) == ("f",)
    (issue,) = ex.issues
    assert issue.code == "code_too_large" and issue.message.startswith("Cells 2 to 3 were not read")


def test_an_r_notebook_and_an_empty_notebook_are_reported():
    ex = extract(notebook("x <- c(1, 2)\nif (x > 1) { print(x) }", metadata={"kernelspec": {"language": "R", "name": "ir", "display_name": "R"}}), "a.ipynb")
    assert [i.code for i in ex.issues] == ["not_python", "syntax_error"]
    ex = extract(notebook(("md", "# HW6 Q1")), "a.ipynb")
    assert [i.code for i in ex.issues] == ["no_code"] and defined_functions(ex) == ()
