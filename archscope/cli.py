"""The command line. The only module that prints; torch is imported only by commands that trace."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from archscope import __version__
from archscope.errors import ArchscopeError, LockError, ModelSpecError, UsageError
from archscope.units import Convention, Device, Format, Mode


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit status 2, as for every bad input
        command = self.prog.split()[1:]  # "archscope summary" -> ["summary"]; the top level has none
        sys.stderr.write(f"archscope: {message} (see {' '.join(['archscope', *command[-1:], '--help'])})\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archscope", description="Inspect PyTorch architectures: shapes, parameters, "
                     "mult-adds and memory per layer, from one trace on the meta device.")
    parser.add_argument("--version", action="version", version=f"archscope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="the zoo's models")
    listing.add_argument("--format", choices=["text", "json"], default="text")

    summary = commands.add_parser("summary", help="per-layer table and totals, like torchinfo",
                                  description="MODEL is a zoo name, package.module:callable or path/file.py:callable.")
    summary.add_argument("model", metavar="MODEL")
    summary.add_argument("--input", metavar="SHAPE", help="e.g. 20,3,224,224; several inputs separated by ';' "
                         "(default: the zoo entry's input)")
    summary.add_argument("--depth", type=_positive_int, default=3, help="deepest level shown in text (default 3)")
    summary.add_argument("--device", choices=[d.value for d in Device], default=Device.META.value)
    summary.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.EVAL.value)
    summary.add_argument("--format", choices=[f.value for f in Format], default=Format.TEXT.value)
    summary.add_argument("--convention", choices=[c.value for c in Convention], default=Convention.ARCHSCOPE.value,
                         help="totals as that tool computes them, rebuilt from archscope's records")
    summary.add_argument("--view", choices=list(VIEWS), default="layers",
                         help="layers (torchinfo's table, default), stages, bottlenecks (1x1 reductions), "
                              "factorization, rf (receptive field) or heads")
    report = commands.add_parser(
        "report", help="Markdown and self-contained HTML report with charts",
        description="Writes DIR/MODEL/: index.md (+ SVG charts), index.html, layers.csv, analysis.json. "
                    "With --all: every zoo model at its default input, and DIR/index.md, DIR/index.html.")
    report.add_argument("model", metavar="MODEL", nargs="?")
    report.add_argument("--all", action="store_true", help="every zoo model, plus a comparison index")
    report.add_argument("--input", metavar="SHAPE", help="e.g. 20,3,224,224 (default: the zoo entry's input)")
    report.add_argument("--out", metavar="DIR", default="reports", help="output directory (default: reports)")
    report.add_argument("--depth", type=_positive_int, default=3, help="deepest level of the Markdown layer table")
    report.add_argument("--device", choices=[d.value for d in Device], default=Device.META.value)
    report.add_argument("--no-counters", action="store_true",
                        help="leave out the Counters section (torchinfo, fvcore and FlopCounterMode run for real)")
    check = commands.add_parser(
        "check", help="check what articles, papers and documentation state against the models",
        description="Verdict on every claim (archscope/claims/*.toml) about the given models: reproduced, "
                    "contradicted or not checkable. Exit status 1 when a verdict differs from the one the "
                    "claim expects.")
    check.add_argument("models", metavar="MODEL", nargs="*", help="zoo names")
    check.add_argument("--all", action="store_true", help="every claim about every zoo model")
    check.add_argument("--format", choices=[Format.TEXT.value, Format.JSON.value], default=Format.TEXT.value)
    teach = commands.add_parser(
        "teach", help="a lesson written from the traced model (Markdown and HTML, en or zh)",
        description="Writes DIR/MODEL/lesson.LANG.md and lesson.LANG.html: the architecture table, shape "
                    "arithmetic, parameter derivations, the 1×1 bottleneck, the receptive field, pitfalls and "
                    "exercises with an answer key, every number from the trace. --all: the lesson set of "
                    "`make lessons` in both languages.")
    teach.add_argument("model", metavar="MODEL", nargs="?")
    teach.add_argument("--all", action="store_true", help="the lesson set (the articles' networks and the blocks)")
    teach.add_argument("--input", metavar="SHAPE", help="e.g. 1,3,320,320 (default: the zoo entry's input)")
    teach.add_argument("--out", metavar="DIR", default="reports/lessons", help="output directory (default: reports/lessons)")
    teach.add_argument("--lang", choices=["en", "zh"], help="language (default: en; with --all both)")
    lock = commands.add_parser(
        "lock", help="write a lock file: totals and per-layer figures to pin in a regression test",
        description="Writes FILE (default MODEL.lock.json): params, trainable, mult-adds and memory totals "
                    "and, per layer call, path, type, output shapes, params and mult-adds, one call per line. "
                    "archscope verify FILE traces the model again and compares.")
    lock.add_argument("model", metavar="MODEL")
    lock.add_argument("--input", metavar="SHAPE", help="e.g. 1,3,224,224 (default: the zoo entry's input)")
    lock.add_argument("-o", "--output", metavar="FILE", help="lock file to write (default: MODEL.lock.json)")
    verify = commands.add_parser(
        "verify", help="trace the models of lock files again and compare (exit 1 when one drifted)",
        description="Exit status 0 when every lock matches, 1 with the differences (totals with change "
                    "and percent; layer calls removed, added, changed) when one drifted, 2 for a file "
                    "that is not a lock. A MODEL spec is imported from the current directory.")
    verify.add_argument("files", metavar="FILE", nargs="+")
    verify.add_argument("--update", action="store_true", help="rewrite the locks that drifted")
    diff = commands.add_parser(
        "diff", help="where two models differ: layers aligned by path then structure, totals side by side",
        description="Both models are traced at the same input (default: MODEL_A's zoo input; a zoo "
                    "MODEL_B that cannot take it, at its own). Layer calls are paired by path, then by type "
                    "and output shape, then by type; pairs that differ are grouped by what differs (kernel, "
                    "bias, pooling, ...). --all writes the diffs the zoo lists (reports/diffs/).")
    diff.add_argument("model_a", metavar="MODEL_A", nargs="?")
    diff.add_argument("model_b", metavar="MODEL_B", nargs="?")
    diff.add_argument("--input", metavar="SHAPE", help="e.g. 1,3,224,224 (default: MODEL_A's zoo input)")
    diff.add_argument("--format", choices=[Format.TEXT.value, "md", Format.JSON.value], default=Format.TEXT.value)
    diff.add_argument("--all", action="store_true", help="write the zoo's diffs (Markdown) and an index to --out")
    diff.add_argument("--out", metavar="DIR", help="with --all (default: reports/diffs)")
    for sub in (summary, report, lock):
        sub.add_argument("--weights", metavar="FILE", help="a checkpoint (state dict) read with torch.load(weights_"
                         "only=True): checked against the model by name and shape; its values run on --device cpu")
    for sub in (listing, summary, report, check, teach, lock, verify, diff):
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return parser


def run_list(args) -> int:
    from archscope import zoo
    from archscope.render.text import zoo_table

    entries = [zoo.entry(name).to_dict() for name in zoo.names()]
    if args.format == "json":
        print(json.dumps({"models": entries}, indent=2, ensure_ascii=False))
    else:
        print(zoo_table(entries))
    return 0


# summary --view: the document key each view shows (None: the layer table and totals)
VIEWS = {"layers": None, "stages": "stages", "bottlenecks": "bottlenecks", "factorization": "factorizations",
         "rf": "receptive_fields", "heads": "heads"}


def run_summary(args) -> int:
    from archscope.api import analyze
    from archscope.inputs import parse_shapes
    from archscope.render.text import csv_text, summary_text, view_rows, view_text

    input_size = parse_shapes(args.input) if args.input is not None else None
    analysis = analyze(args.model, input_size, device=args.device, mode=args.mode, convention=args.convention,
                       weights=args.weights)
    for notice in analysis.trace.notices:
        print(f"archscope: {notice}", file=sys.stderr)
    fmt, key = Format(args.format), VIEWS[args.view]
    document = analysis.to_dict(counterfactual=args.view == "bottlenecks")
    if key is None:
        if fmt is Format.JSON:
            sys.stdout.write(json.dumps(document, indent=1, sort_keys=True) + "\n")
        elif fmt is Format.CSV:
            sys.stdout.write(csv_text(analysis.rows))
        else:
            sys.stdout.write(summary_text(document, depth=args.depth))
        return 0
    if fmt is Format.JSON:
        found = {"model": document["model"], "input": document["input"], "device": document["device"],
                 "mode": document["mode"], "view": args.view, key: document[key]}
        if args.view == "bottlenecks":
            found["counterfactual"] = document["counterfactual"]
        sys.stdout.write(json.dumps(found, indent=1, sort_keys=True) + "\n")
    elif fmt is Format.CSV:
        sys.stdout.write(csv_text(view_rows(document, args.view)))
    else:
        sys.stdout.write(view_text(document, args.view))
    return 0


def _report_one(model, input_size, args, out) -> dict:
    """Trace, render and write one report; its directory and analysis document (for the zoo index)."""
    from archscope import zoo
    from archscope.api import analyze, check, counters, versions
    from archscope.output import write_directory
    from archscope.render.report import report_files

    analysis = analyze(model, input_size, device=args.device, weights=args.weights)
    for notice in analysis.trace.notices:
        print(f"archscope: {notice}", file=sys.stderr)
    document = analysis.to_dict(counterfactual=True)
    in_zoo = isinstance(model, str) and model in zoo.names()
    entry = zoo.entry(model).to_dict() if in_zoo else None
    if in_zoo:  # each claim at its own input: the report's analysis serves those made at the report's
        document["claims"] = [verdict.to_dict() for verdict in check([model], analysis=analysis)]
    reconciled = None if args.no_counters else counters(model, input_size, analysis=analysis)
    files = report_files(document, entry, versions(), depth=args.depth, counters=reconciled)
    directory = out / _directory_name(document["model"])
    write_directory(directory, files)
    return {"directory": directory, "document": document, "entry": entry}


def _directory_name(model: str) -> str:
    """A MODEL spec such as ``pkg.mod:make`` or ``path/file.py:make`` as one safe directory name."""
    name = "".join(char if char.isalnum() or char in "-_." else "-" for char in model).strip("-.")
    return name or "model"


def _one_or_all(args):
    """(input sizes or None, output directory) of a command taking MODEL or --all, --input and --out."""
    from archscope.inputs import parse_shapes
    from archscope.output import writable_directory

    if args.all == (args.model is not None):
        raise UsageError("give a MODEL or --all (not both)")
    if args.all and args.input is not None:
        raise UsageError("--input applies to one MODEL; --all uses each entry's default input")
    return (parse_shapes(args.input) if args.input is not None else None), writable_directory(args.out)


def run_report(args) -> int:
    import time

    from archscope import zoo

    input_size, out = _one_or_all(args)
    if args.all and args.weights:
        raise UsageError("--weights fits one MODEL, not --all")
    if not args.all:
        written = _report_one(args.model, input_size, args, out)["directory"]
        print(f"archscope: wrote {written}/index.md and index.html", file=sys.stderr)
        return 0
    from archscope.output import write_files
    from archscope.render.report import claims_files, index_files

    reports, names = [], zoo.names()
    for number, name in enumerate(names, 1):
        started = time.perf_counter()
        reports.append(_report_one(name, None, args, out))
        print(f"archscope: [{number}/{len(names)}] {name} {time.perf_counter() - started:.1f} s", file=sys.stderr)
    from archscope.claims.load import load_all

    order = {claim.id: number for number, claim in enumerate(load_all())}  # claims.md: in file order
    records = sorted((record for report in reports for record in report["document"].get("claims", [])),
                     key=lambda record: order[record["id"]])
    write_files(out, {**index_files(reports), **claims_files(records)})
    print(f"archscope: wrote {len(names)} reports, {out}/index.md, index.html, claims.md and claims.html",
          file=sys.stderr)
    return 0


def run_check(args) -> int:
    from archscope.api import check
    from archscope.render.claims import check_text

    if args.all == bool(args.models):
        raise UsageError("give one or more MODELs or --all (not both)")
    records = [verdict.to_dict() for verdict in check(None if args.all else args.models)]
    if args.format == Format.JSON.value:
        sys.stdout.write(json.dumps({"claims": records}, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(check_text(records))
    return 0 if all(record["as_expected"] for record in records) else 1


def run_teach(args) -> int:
    from archscope.output import write_files
    from archscope.teach import LANGUAGES, lesson_files, lesson_models

    input_size, out = _one_or_all(args)
    languages = [args.lang] if args.lang else (list(LANGUAGES) if args.all else ["en"])
    for name in lesson_models() if args.all else [args.model]:
        files = {}
        for lang in languages:  # rendered in full before anything is written
            files.update(lesson_files(name, input_size, lang))
        directory = out / _directory_name(name)
        write_files(directory, files)  # the other language's files stay
        print(f"archscope: wrote {directory}/ ({', '.join(sorted(files))})", file=sys.stderr)
    return 0


def run_lock(args) -> int:
    from archscope.inputs import parse_shapes
    from archscope.output import write_file
    from archscope.testing import lock_text, make_lock

    document = make_lock(args.model, parse_shapes(args.input) if args.input is not None else None,
                         weights=args.weights)
    path = Path(args.output or f"{_directory_name(args.model)}.lock.json")
    if path.is_dir():
        raise UsageError(f"-o {str(path)!r} is a directory")
    write_file(path, lock_text(document))
    print(f"archscope: wrote {path} ({len(document['layers'])} layer calls)", file=sys.stderr)
    return 0


def run_verify(args) -> int:
    from archscope.output import write_file
    from archscope.render.diff import drift_text
    from archscope.testing import drift_of, lock_text, read_lock

    # every file read and every model traced before anything is written or printed
    locks = [(path, read_lock(path)) for path in args.files]
    results = []
    for path, locked in locks:
        try:
            results.append((path, locked, *drift_of(locked)))
        except ArchscopeError as error:
            location = locked["model"].rpartition(":")[0]
            gone = isinstance(error, ModelSpecError) and location.endswith(".py") and not Path(location).is_file()
            where = " (a file in a MODEL spec is found from the current directory)" if gone else ""
            raise LockError(f"{path}: {error}{where}") from None
    drifted = 0
    for path, locked, drift, fresh in results:
        if drift["equal"]:
            print(f"{path}: ok ({locked['model']}, {len(locked['layers'])} layer calls)")
            continue
        sys.stdout.write(drift_text(drift, path))
        if args.update:
            write_file(Path(path), lock_text(fresh))
            print(f"{path}: updated to the new trace")
        else:
            drifted += 1
    return 1 if drifted else 0


def run_diff(args) -> int:
    from archscope.api import diff
    from archscope.render.diff import diff_markdown, diff_text

    if args.all:
        if args.model_a or args.model_b or args.input is not None:
            raise UsageError("--all takes no MODEL and no --input: each pair is traced at its first model's input")
        if args.format != Format.TEXT.value:
            raise UsageError("--all writes Markdown files; --format is for one pair on stdout")
        return _diff_all(args)
    if args.out is not None:
        raise UsageError("--out is for --all; one diff goes to stdout (redirect it to a file)")
    if not args.model_b:
        raise UsageError("give MODEL_A and MODEL_B (or --all)")
    from archscope.inputs import parse_shapes

    document = diff(args.model_a, args.model_b, parse_shapes(args.input) if args.input is not None else None)
    if args.format == Format.JSON.value:
        sys.stdout.write(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(diff_markdown(document) if args.format == "md" else diff_text(document))
    return 0


def _diff_all(args) -> int:
    """The diffs the zoo entries list (``diffs`` in the catalog), as Markdown, and their index."""
    from archscope import zoo
    from archscope.api import diff
    from archscope.output import writable_directory, write_files
    from archscope.render.diff import diff_index_markdown, diff_markdown

    out = writable_directory(args.out or "reports/diffs")
    pairs = []
    for name in zoo.names():
        for other, why in zoo.entry(name).diffs:
            document = diff(name, other)
            pairs.append({"file": f"{name}--{other}.md", "why": why, "document": document,
                          "text": diff_markdown(document)})
    # written only once every diff has been computed
    write_files(out, {**{pair["file"]: pair["text"] for pair in pairs}, "index.md": diff_index_markdown(pairs)})
    print(f"archscope: wrote {len(pairs)} diffs and {out}/index.md", file=sys.stderr)
    return 0


COMMANDS = {"list": run_list, "summary": run_summary, "report": run_report, "check": run_check, "teach": run_teach,
            "lock": run_lock, "verify": run_verify, "diff": run_diff}


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so that every write in progress is undone (``archscope.output``)."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # a SIGTERM ignored by the caller (nohup, a trap) stays ignored
    takes_over = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN)
    previous = signal.signal(signal.SIGTERM, _terminate) if takes_over else None
    try:
        return COMMANDS[args.command](args)
    except (ArchscopeError, ValueError) as error:
        if args.debug:
            raise
        message = " ".join(str(error).split())
        print(f"archscope: {message}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as stop:
        print("archscope: interrupted (each file is as it was before, or complete)", file=sys.stderr)
        return 130 if isinstance(stop, KeyboardInterrupt) else 128 + signal.SIGTERM
    finally:
        if takes_over:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
