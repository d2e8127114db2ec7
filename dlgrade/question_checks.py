"""The common test every question must pass, in the manner of scikit-learn's ``check_estimator``.

``check_question(question, smoke)`` yields ``(name, check)`` pairs; each ``check()`` raises AssertionError
saying what is wrong. ``smoke`` is a function returning the question's smoke-profile run (a
:class:`~dlgrade.runstore.RunOutcome`), called only by the checks that need one. Built-in questions, course
folders and installed questions all run through it (``tests/test_questions_common.py``).
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Callable, Iterator

from dlgrade import results as results_mod
from dlgrade.kit.config import Config
from dlgrade.kit.question import Question
from dlgrade.profiles import PROFILES
from dlgrade.results import metric_name_problem

from dlgrade.kit.env import QUESTION_SANDBOX_MODULES as SANDBOX_MODULES
from dlgrade.kit.env import SANDBOX_RUNTIME as SAFE_DLGRADE


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module, level) of every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and not node.module:
                out += [(a.name, node.level) for a in node.names]
            else:
                out.append((node.module or "", node.level))
    return out


def sandbox_import_problems(question: Question) -> list[str]:
    """Imports of the question's sandboxed modules that would not exist in a sandbox (or reveal answers)."""
    problems = []
    for name in SANDBOX_MODULES:
        path = question.folder / f"{name}.py"
        if not path.is_file():
            continue
        for module, level in _imports(path):
            if level:
                if module.split(".")[0] not in SANDBOX_MODULES:
                    problems.append(f"{path.name} imports .{module}, which is not available in a sandbox")
            elif module.startswith("dlgrade") and module not in SAFE_DLGRADE:
                problems.append(f"{path.name} imports {module}, which is not sandbox-safe")
    return problems


def check_question(question: Question, smoke: Callable[[], object]) -> Iterator[tuple[str, Callable[[], None]]]:
    """The named checks of ``question``."""
    q = question

    def config_complete():
        assert set(q.configs) == set(PROFILES), f"configs for {sorted(q.configs)}, expected {list(PROFILES)}"
        for p, cfg in q.configs.items():
            assert isinstance(cfg, Config) and dataclasses.is_dataclass(cfg), f"{p}: {type(cfg).__name__} is not a typed Config"
            assert type(cfg).from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg, f"{p}: config does not round-trip"
        assert q.title.get("en") and q.title.get("fa"), "title needs en and fa"

    def declaration_sound():
        assert not q.problems(), q.problems()
        assert all(s.sandboxed or not s.uses for s in q.steps), "only training steps call student functions"

    def sandboxed_code_is_self_contained():
        problems = sandbox_import_problems(q)
        assert not problems, problems

    def reference_defines_student_functions():
        ref = q.module("reference")
        missing = [n for n in q.student_functions if not callable(getattr(ref, n, None))]
        assert not missing, f"reference.py lacks {missing}"
        used = {u for s in q.steps for u in s.uses}
        unused = [n for n in q.student_functions if n not in used]
        assert not unused, f"no step uses student functions {unused} (declare them in a step's uses)"

    def handout_stub_compiles():
        from dlgrade.autograde.handout import module_source, tests_source

        compile(module_source(q), f"{q.slug}.py", "exec")
        compile(tests_source(q), f"test_{q.slug}.py", "exec")

    def hidden_checks_cover_functions():
        from dlgrade.autograde.code_grading import hidden_module
        from dlgrade.kit.hidden import collect

        covered = {f for c in collect(hidden_module(q)) for f in c.functions}
        missing = [n for n in q.student_functions if n not in covered and n not in q.unchecked]
        assert not missing, f"student functions without a hidden check or a declared reason (Question.unchecked): {missing}"

    def rubric_valid():
        from dlgrade.rubric import load_rubric

        rubric = load_rubric(q.rubric_path)
        assert rubric.task == q.id, f"rubric is for {rubric.task}, not {q.id}"
        names = {s.name for s in q.steps}
        no_step = [c.id for c in rubric.checks if c.step is None]
        assert not no_step, f"rubric checks without a step: {no_step}"
        bad = [(c.id, c.step) for c in rubric.checks if c.step not in names]
        assert not bad, f"rubric checks name unknown steps: {bad}; steps: {sorted(names)}"

    def smoke_results_validate():
        outcome = smoke()
        data = json.loads((Path(outcome.run_dir) / results_mod.RESULTS_FILE).read_text(encoding="utf-8"))
        results_mod.validate(data)
        assert data["task"] == q.id and data["provenance"]["profile"] == "smoke"
        assert all(v == "done" for v in data["provenance"]["steps"]["status"].values()), data["provenance"]["steps"]

    def metric_names_follow_the_rule():
        bad = {k: metric_name_problem(k) for k in smoke().result.metrics if metric_name_problem(k)}
        assert not bad, bad

    def figures_registered():
        outcome = smoke()
        registered = set(results_mod.figure_files(outcome.result))
        drawn = {p.name for p in Path(outcome.run_dir).glob("*.png")}
        assert drawn == registered, f"drawn but not registered: {sorted(drawn - registered)}; registered but missing: {sorted(registered - drawn)}"

    def rubric_metrics_exist():
        from dlgrade.rubric import load_rubric

        metrics = smoke().result.metrics
        missing = [c.metric for c in load_rubric(q.rubric_path).checks if c.metric and c.metric not in metrics]
        assert not missing, f"rubric reads metrics the run does not produce: {missing}"

    def witnesses_exist():
        metrics = smoke().result.metrics
        missing = [(s.name, s.witness.metric) for s in q.steps if getattr(s, "witness", None) and s.witness.metric not in metrics]
        assert not missing, f"training steps vouched for by metrics the run does not produce: {missing}"

    def smoke_run_passes_its_rubric():
        from dlgrade.rubric import grade_result, load_rubric

        grade = grade_result(smoke().result, load_rubric(q.rubric_path))
        failed = [(c.id, c.detail) for c in grade.checks if not c.passed]
        assert not failed, f"smoke run fails its own rubric: {failed}"

    def templates_render_in_both_languages():
        from dlgrade.reports.render import Section, render_html
        from dlgrade.rubric import grade_result, load_rubric

        outcome = smoke()
        grade = grade_result(outcome.result, load_rubric(q.rubric_path))
        section = Section(q.id, q.slug, q.title, q.templates, outcome.result, grade, outcome.run_dir, points=grade.total)
        for lang in ("en", "fa"):
            html = render_html([section], "smoke", lang)  # StrictUndefined: a missing metric or fact raises
            assert f'id="{q.slug}"' in html and "<h3>" in html, f"{lang}: the section did not render"

    checks = [config_complete, declaration_sound, sandboxed_code_is_self_contained, reference_defines_student_functions,
              handout_stub_compiles, hidden_checks_cover_functions, rubric_valid, smoke_results_validate,
              metric_names_follow_the_rule, figures_registered, rubric_metrics_exist, witnesses_exist,
              smoke_run_passes_its_rubric,
              templates_render_in_both_languages]
    for fn in checks:
        yield fn.__name__, fn


CHECK_NAMES = [name for name, _ in check_question(None, lambda: None)]  # the closures run only when called
