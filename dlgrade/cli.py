"""Command line: ``dlgrade list|run|grade|report|data|handout|calibrate|ship``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from dlgrade.autograde.executors import add_executor_arguments
from dlgrade.errors import DlgradeError, UsageError
from dlgrade.profiles import DEFAULT_PROFILE, PROFILES


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE, help="run size (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="re-run even when cached results match")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description="Re-run, grade and report the deep-learning homework questions.")
    parser.add_argument("--course", type=Path, action="append", default=[], metavar="DIR",
                        help="a course folder of questions to add or override (repeatable; also DLGRADE_COURSE)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="list the questions and where each comes from")

    p = sub.add_parser("run", help="run tasks and grade them")
    p.add_argument("tasks", nargs="*", metavar="TASK", help="task ids, e.g. hw14.q4")
    p.add_argument("--all", action="store_true", help="run every task")
    _common(p)
    add_executor_arguments(p)

    p = sub.add_parser("grade", help="grade a run folder (or results.json), a student's submission, or a folder of them")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", nargs="?", help="run folder or results.json to grade")
    p.add_argument("--rubric", type=Path, help="rubric YAML to use instead of the task's own (RUN_DIR only)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--submission", type=Path, metavar="DIR", help="grade one student's folder (code and/or results) in the sandbox")
    g.add_argument("--batch", type=Path, metavar="SUBMISSIONS_DIR", help="grade every student folder under SUBMISSIONS_DIR")
    p.add_argument("--tasks", nargs="*", metavar="TASK", help="questions (hw14.q4) or whole assignments (hw14) to grade (default: those handed in); a whole "
                   "assignment makes every student's total out of all its questions")
    p.add_argument("--profile", choices=PROFILES, default="smoke", help="profile of the task runs of students' code and of "
                   "its ranges (default: %(default)s)")
    p.add_argument("--handin-profile", choices=PROFILES, default="full",
                   help="profile whose ranges results hand-ins are graded with: the sizes students ran (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the task runs (default: %(default)s)")
    p.add_argument("--out", type=Path, help="where grades, gradebook and feedback go (default: out/grading)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per hidden check (default: %(default)s)")
    p.add_argument("--run-timeout", type=float, help="seconds for a task run (default: 300 smoke, 3600 quick, 21600 full)")
    p.add_argument("--memory-mb", type=int, default=3072, help="memory limit of a sandbox, all its processes and "
                   "temporary files together (default: %(default)s)")
    p.add_argument("--no-run", action="store_true", help="hidden unit checks only; skip running the task with the student's code")
    p.add_argument("--no-pdf", action="store_true", help="skip the feedback PDFs")
    p.add_argument("--lang", choices=("fa", "en", "both"), default="both", help="feedback PDF language(s)")
    add_executor_arguments(p)

    p = sub.add_parser("ship", help="keep a run (e.g. a full-profile run from a GPU) with its question: its metrics "
                       "and provenance go to questions/<slug>/measured/<profile>.results.json, shown in every report")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run folder or results.json")

    p = sub.add_parser("handout", help="write the students' starter kit: modules to implement and public tests")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--tasks", nargs="*", metavar="TASK", help="only these questions")

    p = sub.add_parser("calibrate", help="run the reference over several seeds and propose rubric ranges")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default: %(default)s)")
    p.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE)
    p.add_argument("-k", type=float, default=3.0, help="half-width in standard deviations (default: %(default)s)")
    p.add_argument("--min-halfwidth", type=float, default=0.0, help="smallest half-width of a proposed range")
    p.add_argument("--all-metrics", action="store_true", help="propose ranges for every numeric metric, not only the rubric's")
    p.add_argument("--out", type=Path, default=Path("out/calibrate"), help="run folder root (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="re-run even when cached results match")
    p.add_argument("--variant", choices=("broken",), help="run the question's deliberately broken implementation "
                   "(questions/<slug>/broken.py) and say whether each current range fails it")
    add_executor_arguments(p)

    p = sub.add_parser("report", help="run every task (cached when unchanged) and write the Persian and English PDFs")
    p.add_argument("--lang", choices=("fa", "en", "both"), default="both")
    p.add_argument("--html", action="store_true", help="also keep the HTML next to each PDF")
    p.add_argument("--tasks", nargs="*", metavar="TASK", help="only these tasks")
    _common(p)
    add_executor_arguments(p)

    p = sub.add_parser("data", help="datasets: list, verify, fetch, import")
    dsub = p.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="where each dataset is found")
    v = dsub.add_parser("verify", help="check the checksums of the datasets found")
    v.add_argument("names", nargs="*")
    f = dsub.add_parser("fetch", help="download datasets into the cache")
    f.add_argument("names", nargs="+")
    i = dsub.add_parser("import", help="check a downloaded file and copy it into the cache")
    i.add_argument("name")
    i.add_argument("file", type=Path)
    return parser


def cmd_list(args) -> int:
    from dlgrade.questions import all_questions

    for q in all_questions():
        print(f"{q.id:8s} {q.title['en']}  [data: {', '.join(q.datasets) or '-'}; from {q.origin}]")
    return 0


def _selected_tasks(ids: list[str] | None, all_flag: bool = True):
    from dlgrade.questions import all_questions, get_question

    if ids:  # a question id (hw14.q4) or a whole assignment (hw14)
        out = []
        for t in ids:
            whole = [q for q in all_questions() if q.id.split(".", 1)[0] == t]
            out += [q for q in (whole or [get_question(t)]) if q not in out]
        return out
    if all_flag:
        return all_questions()
    raise UsageError("name at least one question (see `dlgrade list`) or pass --all")


def _executor(args, label: str, one_thread: bool = True):
    """The executor the command's options ask for (a local pool of one-TensorFlow-thread processes by default)."""
    from dlgrade.autograde.executors import executor_from_args
    from dlgrade.autograde.worker_jobs import ONE_THREAD_ENV

    return executor_from_args(args, log=lambda m: print(m, file=sys.stderr), label=label,
                              local_env=ONE_THREAD_ENV if one_thread else None)


def _describe_workers(executor) -> None:
    """On a cluster: each worker's host, GPUs and sandbox protections, and the workers refused (versions)."""
    from dlgrade.autograde.executors import LocalExecutor
    from dlgrade.autograde.worker_jobs import describe_worker

    if isinstance(executor, LocalExecutor):
        return
    for w in executor.workers(describe_worker):
        d = w.described if isinstance(w.described, dict) else {}
        state = "accepted" if w.accepted else f"REFUSED: {w.refusal}"
        print(f"worker {w.address} on {w.host or '?'}: {state}; GPUs {', '.join(w.gpus) or 'none'}; "
              f"resources {w.resources or '-'}; sandbox {d.get('protections', '?')}"
              + (f" (not available: {', '.join(d['inactive'])})" if d.get("inactive") else ""), file=sys.stderr)


def cmd_run(args) -> int:
    from dlgrade.pipeline import run_questions

    questions = _selected_tasks(args.tasks, args.all)
    with _executor(args, "questions") as executor:
        _describe_workers(executor)
        ran, failed = run_questions(questions, args.profile, args.seed, args.out, args.force, executor=executor)
    if failed:
        return 2
    return 0 if all(r.grade.passed for r in ran) else 1


def _grading_options(args, tasks):
    from dlgrade.autograde.sandbox import Limits
    from dlgrade.autograde.submission import STAGES
    from dlgrade.pipeline import grading_options

    out = args.out or Path("out/grading")
    return grading_options(args.profile, args.seed, tasks, out, ("unit",) if args.no_run else STAGES,
                           handin_profile=args.handin_profile, check_timeout_s=args.timeout, run_budget_s=args.run_timeout,
                           limits=Limits(memory_mb=args.memory_mb))


def cmd_grade(args) -> int:
    from dlgrade.pipeline import grade_path
    from dlgrade.rubric import format_table

    if args.submission or args.batch:
        return cmd_grade_students(args)
    if args.run_dir is None:
        raise UsageError("give RUN_DIR, --submission DIR or --batch SUBMISSIONS_DIR")
    grade = grade_path(args.run_dir, args.rubric)
    print(format_table(grade))
    return 0 if grade.passed else 1


def cmd_grade_students(args) -> int:
    from dlgrade.autograde import sandbox
    from dlgrade.autograde.batch import student_dirs
    from dlgrade.autograde.submission import format_submission, submitted_tasks
    from dlgrade.pipeline import grade_one_student, grade_students
    from dlgrade.questions import all_questions

    tasks = _selected_tasks(args.tasks, all_flag=False) if args.tasks else None
    langs = () if args.no_pdf else (("fa", "en") if args.lang == "both" else (args.lang,))
    out = args.out or Path("out/grading")

    def stop(signum, frame):  # sandboxes die with their parent (bubblewrap --die-with-parent)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    print("sandbox protections on this machine:\n" + sandbox.protections().describe())
    if tasks is None:
        folders = student_dirs(args.batch)[0] if args.batch else [args.submission]
        held = {t.id for d in folders for t in submitted_tasks(d)}
        tasks = [q for q in all_questions() if q.id in held]
    if args.batch:  # the executor first: a wrong --scheduler or --cluster fails before any reference run
        with _executor(args, "student x question jobs", one_thread=False) as executor:
            _describe_workers(executor)
            options = _grading_options(args, tasks)
            outcome = grade_students(args.batch, out, tasks, options, args.jobs, langs, executor=executor)
        print(f"gradebook: {outcome.gradebook}  ({len(outcome.grades)} students, {outcome.elapsed_s:.1f} s)")
        return 0
    options = _grading_options(args, tasks)
    g, target = grade_one_student(args.submission, out, tasks, options, langs)
    print(format_submission(g))
    print(f"wrote {target}")
    return 0 if g.total and g.earned == g.total else 1


def cmd_ship(args) -> int:
    from dlgrade import results as results_mod
    from dlgrade.pipeline import ship_measured
    from dlgrade.questions import get_question

    question = get_question(results_mod.load(args.run_dir).task)
    print(f"kept {question.id} as {ship_measured(question, args.run_dir)}")
    return 0


def cmd_handout(args) -> int:
    from dlgrade.autograde.handout import write_handout

    tasks = _selected_tasks(args.tasks) if args.tasks else None
    for path in write_handout(args.out_dir, tasks):
        print(f"wrote {path}")
    return 0


def cmd_calibrate(args) -> int:
    from dlgrade.autograde.calibrate import calibrate, format_proposals
    from dlgrade.questions import get_question

    task = get_question(args.task)
    with _executor(args, "seeds") as executor:
        _describe_workers(executor)
        props = calibrate(task, args.seeds, args.profile, args.k, args.out, args.all_metrics, args.min_halfwidth,
                          args.force, executor=executor, variant=args.variant)
    print(format_proposals(props, task.id, args.profile, args.k, args.variant))
    return 0


def cmd_report(args) -> int:
    from dlgrade.pipeline import make_report

    langs = ("fa", "en") if args.lang == "both" else (args.lang,)
    questions = _selected_tasks(args.tasks)
    with _executor(args, "questions") as executor:
        _describe_workers(executor)
        paths, failures = make_report(questions, args.profile, args.seed, args.out, args.force, langs, args.html,
                                      executor=executor)
    for path in paths:
        print(f"wrote {path}")
    if failures:
        print(f"dlgrade: {len(failures)} question(s) could not run: {', '.join(f.question.id for f in failures)}; "
              "their sections in the report say why", file=sys.stderr)
        return 2
    return 0


def cmd_data(args) -> int:
    from dlgrade.data import DATASETS, DataResolver, search_dirs
    from dlgrade.errors import DatasetError

    resolver = DataResolver(allow_download=args.data_command == "fetch")
    if args.data_command == "list":
        print("search path: " + ", ".join(f"{d} [{label}]" for d, label in search_dirs()))
        for name, ds in DATASETS.items():
            found, looked = resolver.search(name)
            where = f"{found.form.name} in {found.where}" if found else "NOT FOUND (" + (looked[-1] if looked else "") + ")"
            print(f"{name:14s} {where}")
        return 0
    if args.data_command == "verify":
        bad = 0
        for name in args.names or list(DATASETS):
            found, looked = resolver.search(name)
            if found:
                checks = ", ".join(f"{Path(f).name}: {info.get('verified', 'no known checksum')}" for f, info in found.digests.items())
                print(f"{name:14s} OK  {checks}")
            else:
                corrupt = [line for line in looked if "mismatch" in line]
                bad += bool(corrupt)
                print(f"{name:14s} {'CORRUPT ' + corrupt[0] if corrupt else 'not found'}")
        return 1 if bad else 0
    if args.data_command == "fetch":
        for name in args.names:
            print(f"{name}: downloaded into {resolver.fetch(name)}")
        return 0
    if args.data_command == "import":
        dest = resolver.import_file(args.name, args.file)
        print(f"{args.name}: checksum OK, copied to {dest}")
        return 0
    raise DatasetError(f"unknown data command {args.data_command}")


COMMANDS = {"list": cmd_list, "run": cmd_run, "grade": cmd_grade, "report": cmd_report, "data": cmd_data,
            "handout": cmd_handout, "calibrate": cmd_calibrate,
            "ship": cmd_ship}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        if args.course:
            from dlgrade.questions import set_courses

            set_courses(args.course)
        return COMMANDS[args.command](args)
    except DlgradeError as e:
        print(f"dlgrade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlgrade: interrupted; finished runs are kept, tuner state resumes on the next run", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
