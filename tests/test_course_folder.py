"""A course adds a question from its own folder: it runs, grades, renders in both PDFs, passes the common checks
and is gradable as a student submission, and `dlgrade list` says where it came from."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dlgrade import cli
from dlgrade.questions import all_questions, get_question, set_courses

FILES = {
    "__init__.py": "from .task import QUESTION\n",
    "spec.py": '''
        from dataclasses import dataclass

        from dlgrade.kit.config import Config as BaseConfig

        SANDBOX_SAFE = True
        SEED_OFFSETS = {"data": 0}


        @dataclass(frozen=True)
        class Config(BaseConfig):
            samples: int


        CONFIGS = {"smoke": Config(20), "quick": Config(200), "full": Config(2000)}
        WORDS = {"caption": {"values": {"en": "Scaled values", "fa": "مقدارهای مقیاس‌شده"}}}
        ''',
    "reference.py": '''
        """hw99.q1: scale a vector."""

        import numpy as np


        def scale(x, factor=2.0):
            """Multiply ``x`` by ``factor``.

            >>> scale(np.array([1.0]), 3.0).tolist()
            [3.0]
            """
            return np.asarray(x, dtype=float) * factor
        ''',
    "train.py": '''
        import numpy as np

        SANDBOX_SAFE = True


        def scaled(env, x):
            return {"y": np.asarray(env.fns.scale(x.copy(), 3.0), dtype=float)}
        ''',
    "task.py": '''
        from pathlib import Path

        import numpy as np

        from dlgrade.kit.question import Question, Step, TrainStep
        from dlgrade.kit.runner import expect_output

        from . import train
        from .spec import CONFIGS, SEED_OFFSETS, WORDS


        def data(ctx, got):
            return {"x": ctx.seeds.rng("data").normal(size=ctx.config.samples)}


        def evaluate(ctx, got):
            x = got["data"]["x"]
            y = expect_output(got["scaled"]["y"], "evaluate", "scale(x, 3)", x.shape)
            ctx.result.metrics["scale.max_abs_error"] = float(np.abs(y - 3 * x).max())
            ctx.result.add_table("values", ["x", "y"], [[round(a, 4), round(b, 4)] for a, b in zip(x[:5], y[:5])])


        QUESTION = Question(
            id="hw99.q1", title={"en": "Scaling a vector", "fa": "مقیاس کردن یک بردار"}, datasets=(), configs=CONFIGS,
            steps=(Step("data", data), TrainStep("scaled", train.scaled, inputs=("data.x",), uses=("scale",)),
                   Step("evaluate", evaluate, needs=("data", "scaled"))),
            student_functions=("scale",), seed_offsets=SEED_OFFSETS, package=__package__, folder=Path(__file__).parent,
            words=WORDS)
        ''',
    "hidden.py": '''
        import numpy as np

        from dlgrade.kit.hidden import expect_array, expect_close, hidden_check


        @hidden_check("scale_values", 2, ("scale",), {"en": "scale multiplies by the factor.", "fa": "scale در ضریب ضرب می‌کند."})
        def scale_values(f, ref):
            x = np.array([1.0, -2.0, 0.5])
            expect_close(expect_array(f.scale(x, 4.0), "scale", (3,)), ref.scale(x, 4.0), "scale")
        ''',
    "rubric.yaml": '''
        task: hw99.q1
        checks:
          - id: scaled_right
            step: evaluate
            metric: scale.max_abs_error
            range: [0, 1.0e-9]
            points: 3
            message: {en: "The vector is scaled by 3.", fa: "بردار در ۳ ضرب شده است."}
        ''',
    "templates/section.html.j2": '''
        {% from "macros.html.j2" import table with context %}
        {% block intro %}{% endblock %}
        {{ table(t["values"], caption=word("caption.values")) }}
        ''',
    "templates/discussion.en.html.j2": '''
        {% extends section %}
        {% block intro %}<p>The largest error is {{ m["scale.max_abs_error"] | num(3) }}.</p>{% endblock %}
        ''',
    "templates/discussion.fa.html.j2": '''
        {% extends section %}
        {% block intro %}<p>بیشترین خطا {{ m["scale.max_abs_error"] | num(3) }} است.</p>{% endblock %}
        ''',
}


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "course" / "hw99_q1"
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    set_courses([tmp_path / "course"])
    yield tmp_path / "course"
    set_courses([])


def test_a_course_question_is_listed_with_its_origin(course, capsys):
    assert "hw99.q1" in [q.id for q in all_questions()]
    assert cli.main(["--course", str(course), "list"]) == 0
    out = capsys.readouterr().out
    assert "hw99.q1" in out and f"course folder {course}" in out


def test_a_course_question_runs_grades_renders_and_passes_the_common_checks(course, tmp_path, capsys):
    from dlgrade.question_checks import check_question
    from dlgrade.runstore import run_question

    q = get_question("hw99.q1")
    outcome = run_question(q, "smoke", 0, tmp_path / "out")
    for name, check in check_question(q, lambda: outcome):
        check()
    code = cli.main(["--course", str(course), "report", "--tasks", "hw99.q1", "--profile", "smoke",
                     "--out", str(tmp_path / "out")])
    assert code == 0
    assert "hw99.q1 (smoke): 3/3 points" in capsys.readouterr().out
    import pdfplumber

    for lang, needle in (("en", "Scaled values"), ("fa", "hw99.q1")):
        with pdfplumber.open(tmp_path / "out" / f"report-{lang}.pdf") as pdf:
            assert needle in "\n".join(p.extract_text() or "" for p in pdf.pages)


def test_a_course_question_overrides_a_builtin_one(tmp_path):
    folder = tmp_path / "course2" / "hw6_q1"
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip().replace("hw99.q1", "hw6.q1"), encoding="utf-8")
    set_courses([tmp_path / "course2"])
    try:
        q = get_question("hw6.q1")
        assert q.title["en"] == "Scaling a vector" and q.origin.startswith("course folder")
        assert [x.id for x in all_questions()].count("hw6.q1") == 1
    finally:
        set_courses([])
    assert get_question("hw6.q1").origin == "dlgrade"


def test_a_broken_course_question_is_a_clear_error(tmp_path):
    folder = tmp_path / "course3" / "hw98_q1"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise ImportError('numpy 7 required')\n")
    set_courses([tmp_path / "course3"])
    try:
        with pytest.raises(Exception, match=r"hw98_q1 could not be loaded: ImportError: numpy 7 required"):
            all_questions()
    finally:
        set_courses([])
