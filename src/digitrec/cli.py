"""The `digitrec` command. Only this module prints; everything it calls returns values.

Exit codes: 0 success, 1 bad input (a one-line `digitrec: error: ...` on stderr, no traceback),
2 bad usage (argparse), 130 interrupted.
"""

import argparse
import json
import os
import sys
import time

from .errors import DigitrecError


class WithoutOptionalImports:
    """An import hook that refuses the optional modules Keras imports at start-up for features
    digitrec never uses; Keras guards each of these imports and carries on without it:

    - `matplotlib.pyplot`, for `keras.visualization` (digitrec draws with matplotlib's object API,
      `plots.py`);
    - `pandas` (and pyarrow behind it), so that `fit` accepts DataFrames; digitrec passes arrays;
    - `sklearn` (and scipy.stats behind it), for `keras.wrappers`' scikit-learn estimators.

    pyplot comes with the `train` extra; pandas and scikit-learn with other extras or dev tools
    (Ray Data, the tests).
    The hook is in place only while Keras is imported: a module imported later (Ray imports pandas)
    loads normally, though Keras keeps running without it.
    """

    REFUSED = ("matplotlib.pyplot", "pandas", "sklearn")

    def find_spec(self, name, path=None, target=None):
        if name in self.REFUSED:
            raise ImportError(f"{name} is not imported with Keras by the digitrec command")
        return None


def quiet_tensorflow():
    """Import Keras with TensorFlow's start-up chatter (absl notes about CPU features and oneDNN,
    printed before any log level applies) kept off the user's terminal, and without the optional
    modules it has no use for here (`WithoutOptionalImports`). If the import fails, the captured
    output is shown after all."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if sys.modules.get("keras") is not None:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    hook = WithoutOptionalImports()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        sys.meta_path.insert(0, hook)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", errors="replace"))
            raise
        finally:
            sys.meta_path.remove(hook)
            os.dup2(saved, 2)
            os.close(saved)


def percent(value) -> str:
    return f"{100 * value:.2f} %"


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def command_models(args):
    from .models import MODELS

    rows = [(spec.name, spec.parameters, spec.source, spec.recipe.describe()) for spec in MODELS.values()]
    if args.json:
        print(json.dumps([dict(zip(("name", "parameters", "source", "recipe"), row)) for row in rows], indent=2))
        return 0
    table = [("model", "parameters", "source"), *((name, f"{count:,}", source) for name, count, source, _ in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(2)]
    print(f"{table[0][0]:<{widths[0]}}  {table[0][1]:>{widths[1]}}  {table[0][2]}")
    for (name, count, source), (_, _, _, recipe) in zip(table[1:], rows):
        print(f"{name:<{widths[0]}}  {count:>{widths[1]}}  {source}")
        print(f"{'':<{widths[0]}}  {'':>{widths[1]}}  recipe: {recipe}")
    return 0


def command_data_download(args):
    from .data import default_cache_dir
    from .download import download_mnist

    folder = args.to or default_cache_dir()
    download_mnist(folder)  # fetches and verifies only the files that are missing
    print(f"MNIST ready in {folder}")
    return 0


def command_data_info(args):
    import numpy as np

    from .data import load_mnist, resolve_mnist_dir

    folder = resolve_mnist_dir(args.data_dir)
    (x_train, y_train), (x_test, y_test) = load_mnist(folder)
    print(f"MNIST from {folder}")
    print(f"train: {x_train.shape[0]:,} images {x_train.shape[1]}x{x_train.shape[2]}, test: {x_test.shape[0]:,}")
    print("digit  " + "  ".join(f"{d:>5}" for d in range(10)))
    print("train  " + "  ".join(f"{n:>5}" for n in np.bincount(y_train, minlength=10)))
    print("test   " + "  ".join(f"{n:>5}" for n in np.bincount(y_test, minlength=10)))
    return 0


def command_data_show(args):
    from . import plots
    from .data import load_mnist

    (x_train, y_train), (_, y_test) = load_mnist(args.data_dir)
    start = args.start
    if not 0 <= start < len(x_train):
        raise DigitrecError(f"--start must be between 0 and {len(x_train) - 1}, got {start}")
    count = args.rows * args.columns
    if start + count > len(x_train):
        raise DigitrecError(f"--start {start} with {args.rows}x{args.columns} = {count} images runs past the {len(x_train):,} training images; "
                            f"use --start {len(x_train) - count} or less")
    figure = plots.plot_samples(x_train[start : start + count], y_train[start : start + count], args.rows, args.columns)
    samples = plots.save_figure(figure, os.path.join(args.out, "samples.png"))
    distribution = plots.save_figure(plots.plot_label_distribution(y_train, y_test), os.path.join(args.out, "distribution.png"))
    print(f"wrote {samples} and {distribution}")
    return 0


def command_train(args):
    if not args.data:
        from .data import prefetch_mnist

        prefetch_mnist(args.data_dir)  # read while Keras is imported
    quiet_tensorflow()
    from .config import TrainConfig
    from .training import train

    verbose = 1 if sys.stdout.isatty() else 2
    if args.resume:
        from .checkpoints import saved_config

        given = [flag for flag, value in (("--model", args.model), ("--out", args.out), ("--epochs", args.epochs),
                                          ("--batch-size", args.batch_size), ("--learning-rate", args.learning_rate),
                                          ("--steps-per-epoch", args.steps_per_epoch), ("--limit", args.limit),
                                          ("--overwrite", args.overwrite), ("--data", args.data),
                                          ("--validation-split", args.validation_split), ("--ema", args.ema),
                                          ("--weight-decay", args.weight_decay), ("--test-shifts", args.test_shifts),
                                          ("--elastic", args.elastic))
                 if value is not None and value is not False]
        if given:
            raise DigitrecError(f"--resume continues a run with its own settings; leave out {', '.join(given)}")
        config = saved_config(args.resume)
        if args.engine == "ray":
            from .parallel import train_data_parallel

            result = train_data_parallel(config, args.workers or 2, args.resume, data_dir=args.data_dir, verbose=verbose,
                                         resume=True, address=args.ray_address)
        else:
            result = train(config, data_dir=args.data_dir, out_dir=args.resume, verbose=verbose, resume=True)
        args.model = config.model
    else:
        if not args.model:
            raise DigitrecError("train needs --model NAME (see `digitrec models`), or --resume RUN to continue a killed run")
        extra = {}
        if args.validation_split == 0:  # the recipe is chosen: fixed epochs on every training image
            extra.update(validation="none", validation_fraction=0.0)
        elif args.validation_split is not None:  # checked with the rest of the recipe (models.Recipe)
            extra.update(validation="split", validation_fraction=args.validation_split)
        if args.data:
            from .models import get_spec

            if not os.path.isfile(args.data):
                raise DigitrecError(f"{args.data}: no such file (--data takes Kaggle's train.csv)")
            if not extra and get_spec(args.model).recipe.validation == "test":
                # train.csv has no test set: hold out 8 % of it, as the Kaggle tutorial (codeastar's) does
                extra.update(validation="split", validation_fraction=0.08, validation_seed=7)
            extra["data"] = os.path.abspath(args.data)
        if args.elastic is not None:
            import dataclasses

            from .models import Augmentation, get_spec

            augmentation = get_spec(args.model).recipe.augmentation or Augmentation(rotation_degrees=0, zoom=0, shift=0)
            extra["augmentation"] = dataclasses.replace(augmentation, elastic_alpha=args.elastic)
        config = TrainConfig.from_recipe(
            args.model,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            steps_per_epoch=args.steps_per_epoch,
            ema_momentum=args.ema,
            weight_decay=args.weight_decay,
            test_shifts=None if args.test_shifts is None else args.test_shifts == "on",
            seed=args.seed,
            limit=args.limit,
            **extra,
        )
        out_dir = args.out or os.path.join("runs", f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
        if args.engine == "ray":
            from .parallel import train_data_parallel

            result = train_data_parallel(config, args.workers or 2, out_dir, data_dir=args.data_dir, overwrite=args.overwrite,
                                         verbose=verbose, address=args.ray_address)
        else:
            if args.workers or args.ray_address:
                raise DigitrecError("--workers and --ray-address are for data-parallel training: add --engine ray")
            result = train(config, data_dir=args.data_dir, out_dir=out_dir, overwrite=args.overwrite, verbose=verbose)
    metrics = result.metrics
    measured = next((name for name in ("test", "validation") if f"{name}_accuracy" in metrics), None)
    figures = (f"{measured} accuracy {percent(metrics[f'{measured}_accuracy'])}, {measured} loss {metrics[f'{measured}_loss']:.4f}"
               if measured else "every row trained on, none held out to measure")
    print(f"{args.model}: {figures}, {metrics['train_seconds']:.1f} s training ({metrics['train_images_per_second']:,.0f} images/s)")
    if measured != "test":
        print("(train.csv has no test set; Kaggle scores a submission: digitrec predict test.csv --model RUN --submission FILE)")
    from . import runs

    print(f"saved {result.run_dir} ({runs.listed(runs.TRAINED_FILES)})")
    if args.report:
        from .report import build_report

        print(f"wrote {build_report(result.run_dir, data_dir=args.data_dir)}")
    return 0


def command_report(args):
    quiet_tensorflow()
    from .report import build_report

    print(f"wrote {build_report(args.run_dir, data_dir=args.data_dir)}")
    return 0


def command_evaluate(args):
    if not str(args.path).endswith(".onnx") and str(args.path) != "pretrained":  # ONNX is evaluated without TensorFlow
        quiet_tensorflow()
    from .evaluation import evaluate_path

    metrics = evaluate_path(args.path, data_dir=args.data_dir, pictures=args.pictures)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"test accuracy {percent(metrics['test_accuracy'])}  test loss {metrics['test_loss']:.4f}  ({metrics['num_images']:,} images)")
    print()
    print("digit  precision  recall     f1  support")
    for row in metrics["per_class"]:
        print(f"{row['digit']:>5}  {percent(row['precision']):>9}  {percent(row['recall']):>8} {row['f1']:.4f}  {row['support']:>7}")
    print()
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit, row in enumerate(metrics["confusion_matrix"]):
        print(f"{digit:>5} " + "".join(f"{n:>6}" for n in row))
    from .saving import model_folder

    folder = model_folder(args.path)
    from . import runs

    if runs.is_run(folder):
        pictures = f", {runs.listed(runs.EVALUATION_PICTURES)}" if args.pictures else ""
        print(f"\nwrote {folder / runs.METRICS}{pictures}")
    return 0


def command_ensemble(args):
    quiet_tensorflow()
    from pathlib import Path

    from . import runs
    from .ensemble import build_ensemble

    members = list(args.members)
    if args.train:
        from .multirun import member_jobs

        if members:
            raise DigitrecError("give member runs or --train MODEL, not both")
        if len(args.seeds) < 2 or len(set(args.seeds)) != len(args.seeds):
            raise DigitrecError(f"--seeds needs at least 2 different seeds, got {' '.join(map(str, args.seeds))}")
        if Path(args.out).exists() and not args.overwrite:  # refused now, not after hours of training
            raise DigitrecError(f"{args.out}: already exists; choose another --out or pass --overwrite")
        jobs = member_jobs(args.train, args.seeds, epochs=args.epochs, limit=args.limit)
        root = Path(args.out).parent / f"{Path(args.out).name}-members"
        summaries = train_jobs(args, jobs, root)
        members = [row["run"] for row in summaries]
    elif any(value is not None for value in (args.epochs, args.limit, args.workers, args.ray_address)) or args.engine != "local":
        raise DigitrecError("--epochs, --limit, --engine, --workers and --ray-address are for training members (--train MODEL)")
    metrics = build_ensemble(members, args.out, overwrite=args.overwrite, data_dir=args.data_dir, shifts=args.shifts)
    width = max(len(row["path"]) for row in metrics["members"])
    print(f"{'member':<{width}}  {'model':<16} test accuracy")
    for row in metrics["members"]:
        print(f"{row['path']:<{width}}  {row['model']:<16} {percent(row['test_accuracy']):>13}")
    if len(metrics["members"]) > 1:
        print(f"members: mean {percent(metrics['members_mean_accuracy'])} ± {100 * metrics['members_std_accuracy']:.2f} (standard deviation)")
    shifts = " with test-time shifts" if metrics["test_time_shifts"] else ""
    print(f"ensemble of {len(metrics['members'])}{shifts}: test accuracy {percent(metrics['test_accuracy'])}, test loss {metrics['test_loss']:.4f}")
    print(f"saved {args.out} ({runs.listed((runs.MODEL, runs.CONFIG, runs.METRICS))})")
    return 0


def train_jobs(args, jobs, root):
    """Train `jobs` (multirun.Job) into `root` as the command's --engine, --workers and
    --ray-address say, with a line per run as it is planned and a table at the end."""
    import time

    from .multirun import run_jobs

    where = "Ray" if args.engine == "ray" else "this machine"
    print(f"training {len(jobs)} runs into {root} on {where}", flush=True)
    started = time.perf_counter()
    summaries = run_jobs(jobs, root, engine=args.engine, workers=args.workers, address=args.ray_address, data_dir=args.data_dir)
    print(f"trained {len(jobs)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    return summaries


def command_sweep(args):
    import csv
    import io
    from pathlib import Path

    from .config import TrainConfig
    from .files import write_text
    from .multirun import sweep_jobs

    # the model and the split are checked here, before any run starts (each run checks its own settings)
    TrainConfig.from_recipe(args.model, validation="split", validation_fraction=args.validation_split)
    grid = {"learning_rate": args.learning_rate, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seeds}
    jobs = sweep_jobs(args.model, grid, limit=args.limit, validation_split=args.validation_split)
    if len(jobs) < 2:
        raise DigitrecError("a sweep needs at least two settings: give several values to --learning-rate, --epochs, --batch-size or --seeds")
    summaries = train_jobs(args, jobs, Path(args.out))
    summaries.sort(key=lambda row: -row["validation_accuracy"])
    columns = ["name", *[key for key, values in grid.items() if values], "validation_accuracy", "train_seconds", "run"]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(summaries)
    table = Path(args.out) / "sweep.csv"
    write_text(table, text.getvalue())
    width = max(len(row["name"]) for row in summaries)
    print(f"{'run':<{width}}  validation accuracy  training")
    for row in summaries:
        print(f"{row['name']:<{width}}  {percent(row['validation_accuracy']):>19}  {row['train_seconds']:>6.1f} s")
    print(f"validated on {100 * args.validation_split:g} % of the training images held out (never the test set); wrote {table}")
    return 0


def command_export(args):
    quiet_tensorflow()
    if args.format == "legacy":
        from .saving import export_legacy

        out_dir = export_legacy(args.path, args.out, overwrite=args.overwrite)
        print(f"wrote {os.path.join(out_dir, 'model.json')} and {os.path.join(out_dir, 'model.weights.h5')}")
    else:
        from .export import export_onnx

        path = export_onnx(args.path, args.out, overwrite=args.overwrite)
        print(f"wrote {path}")
    return 0


def command_serve(args):
    from .config import ServeConfig
    from .service import serve

    config = ServeConfig(model=args.model, host=args.host, port=args.port, max_body_bytes=args.max_body_bytes,
                         max_in_flight=args.max_in_flight, threshold=args.threshold, header_timeout=args.header_timeout,
                         body_timeout=args.body_timeout, max_connections=args.max_connections,
                         max_client_connections=args.max_client_connections, max_decoded_bytes=args.max_decoded_mib * 2**20)

    def started():
        print(f"digitrec: serving on http://{args.host}:{args.port}/ (API docs at /docs); Ctrl-C stops", flush=True)

    serve(config, workers=args.workers, started=started)
    return 0


def printable(text) -> str:
    """A file name as one printable line: bytes that are not UTF-8 as \\xNN, control characters
    (a newline in a name) as escapes, so a table row stays one row."""
    text = os.fsencode(str(text)).decode("utf-8", "backslashreplace")
    return "".join(character if character.isprintable() else character.encode("unicode_escape").decode("ascii") for character in text)


TABLE_HEADER = ("path", "digits", "confidence", "note")


def prediction_cells(prediction, show_top=False) -> tuple:
    """The predict table's cells for one answer: path, digits, confidence, note."""
    source = printable(prediction.source)
    if prediction.error is not None:
        message = prediction.error.removeprefix(f"{prediction.source}: ")  # the path is in the first column
        return source, "-", "-", printable(f"error: {message}")
    if not prediction.found:
        return source, "-", "-", printable(prediction.reason)
    notes = [d.reason for d in prediction.digits if d.reason]
    note = f"uncertain: {notes[0]}" if notes else ""
    if notes or show_top:
        tops = "; ".join(", ".join(f"{digit} {100 * p:.1f} %" for digit, p in d.candidates) for d in prediction.digits)
        note = f"{note}; top: {tops}" if note else f"top: {tops}"
    return source, prediction.text, percent(prediction.confidence), note


class Table:
    """`predict`'s answers as aligned columns under a header, printed as they come: the first rows
    (up to `hold`, or those of the first second) set the column widths, later rows follow them."""

    def __init__(self, before_print=None, hold=200, seconds=1.0):
        self.held, self.widths = [], None
        self.hold, self.deadline = hold, time.monotonic() + seconds
        self.before_print = before_print or (lambda: None)

    def add(self, cells):
        if self.widths is not None:
            return self.print_rows([cells])
        self.held.append(cells)
        if len(self.held) >= self.hold or time.monotonic() > self.deadline:
            self.finish()

    def finish(self):
        if self.widths is None and self.held:
            rows = [TABLE_HEADER, *self.held]
            self.widths = [max(len(row[i]) for row in rows) for i in range(3)]
            self.print_rows(rows)
            self.held = []

    def print_rows(self, rows):
        self.before_print()
        for path, digits, confidence, note in rows:
            print(f"{path:<{self.widths[0]}}  {digits:<{self.widths[1]}}  {confidence:>{self.widths[2]}}  {note}".rstrip())


MAX_STDIN_BYTES = 256 * 2**20


def stdin_prediction(predictor, multi):
    """`predict -`: one picture read from standard input."""
    from .inference import Prediction

    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    try:
        if len(data) > MAX_STDIN_BYTES:
            raise DigitrecError(f"-: standard input is larger than {MAX_STDIN_BYTES // 2**20} MiB")
        if not data:
            raise DigitrecError("-: standard input is empty (pipe a picture into it: digitrec predict - < photo.jpg)")
        return predictor.predict_image(data, multi=multi, name="-")
    except DigitrecError as error:
        return Prediction("-", [], error=str(error))


class Progress:
    """A progress line on stderr: done/total, inputs per second, time left. On a terminal it is
    redrawn in place (at most 10 times a second) and hidden while a table row is printed; into a
    file or pipe (with --progress) it is a line every 5 seconds."""

    def __init__(self, paths, done=0):
        import threading

        from .batch import count_inputs

        self.terminal = sys.stderr.isatty()
        self.total, self.done, self.start_done = None, done, done
        self.started = self.drawn_at = time.monotonic()
        self.visible = False

        def count():
            self.total = count_inputs(paths)

        threading.Thread(target=count, daemon=True).start()  # a big folder is walked while work goes on

    def text(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        if self.total is None:
            return f"{self.done:,} inputs  {rate:,.0f}/s"
        total = max(self.total, self.done)
        left = (total - self.done) / rate if rate > 0 else 0
        return f"{self.done:,}/{total:,} inputs  {100 * self.done / max(total, 1):.0f} %  {rate:,.0f}/s  ETA {int(left) // 60}:{int(left) % 60:02d}"

    def advance(self, count=1):
        self.done += count
        now = time.monotonic()
        if now - self.drawn_at >= (0.1 if self.terminal else 5.0):
            self.draw()

    def draw(self, final=False):
        self.drawn_at = time.monotonic()
        if self.terminal:
            sys.stderr.write("\r\x1b[K" + self.text() + ("\n" if final else ""))
            self.visible = not final
        else:
            sys.stderr.write(self.text() + "\n")
        sys.stderr.flush()

    def hide(self):
        if self.visible:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.visible = False


def check_submission(submission, inputs, output, overwrite):
    """`--submission` follows `--output`'s rules: never one of the inputs or a symbolic link, an
    existing file replaced only with `--overwrite` (and only once it is complete)."""
    from pathlib import Path

    from .files import refuse_unsafe_output

    refuse_unsafe_output(submission, [text for text in inputs if text != "-"], "--submission")
    if output and Path(output).absolute() == Path(submission).absolute():
        raise DigitrecError(f"{submission}: is also the --output file; name two different files")
    if Path(submission).is_dir():
        raise DigitrecError(f"{submission}: is a folder; --submission takes a file name")
    if Path(submission).exists() and not overwrite:
        raise DigitrecError(f"{submission}: already exists; add --overwrite to replace it")


def command_predict(args):
    from pathlib import Path

    from .batch import ResultFile
    from .files import write_text
    from .inference import Predictor

    if args.resume and not args.output:
        raise DigitrecError("--resume needs --output FILE")
    if args.overwrite and not (args.output or args.submission):
        raise DigitrecError("--overwrite needs --output FILE or --submission FILE")
    if args.output and args.json:
        raise DigitrecError("--json prints to the terminal; with --output, name a .jsonl file instead")
    csv_inputs = {str(Path(text)) for text in args.inputs if str(text).lower().endswith(".csv")}
    if args.submission:
        check_submission(args.submission, args.inputs, args.output, args.overwrite)
        if not csv_inputs:
            raise DigitrecError(f"{args.submission}: --submission needs a Kaggle test.csv among the inputs")
    if "-" in args.inputs and len(args.inputs) > 1:
        raise DigitrecError("- (a picture on standard input) can only be given alone")
    predictor = Predictor(args.model, threshold=args.threshold, top_k=args.top_k or 3, reader=args.reader)
    output = ResultFile(args.output, resume=args.resume, overwrite=args.overwrite, inputs=args.inputs) if args.output else None
    kept = len(output.done) if output else 0
    failures = output.failures if output else 0
    show_progress = args.progress or (sys.stderr.isatty() and (output is not None or not sys.stdout.isatty()))
    progress = Progress(args.inputs, done=kept) if show_progress else None
    count, labelled, submission, unread_csv = 0, {}, [], set()
    table = Table(before_print=progress.hide if progress else None)
    try:
        if args.inputs == ["-"]:
            answers = iter([stdin_prediction(predictor, args.multi)])
        else:
            answers = predictor.predict_paths(args.inputs, multi=args.multi, workers=args.workers, engine=args.engine,
                                              skip=output.done if output else None, ray_address=args.ray_address)
        if args.json and not output:
            sys.stdout.write("[")
        for prediction in answers:
            count += 1
            failures += prediction.error is not None
            origin = prediction.source.rpartition("#")[0]
            if prediction.label is not None and prediction.digits:
                right = labelled.setdefault(origin, [0, 0])
                right[0] += prediction.digits[0].digit == prediction.label
                right[1] += 1
            if prediction.error is not None and prediction.source in csv_inputs:
                unread_csv.add(prediction.source)
            if args.submission and origin in csv_inputs and prediction.digits:
                submission.append(prediction.digits[0].digit)
            if output:
                output.write(prediction)
            elif args.json:
                sys.stdout.write(("\n" if count == 1 else ",\n") + "\n".join("  " + line for line in json.dumps(prediction.to_dict(), indent=2).splitlines()))
            elif not args.submission:
                table.add(prediction_cells(prediction, show_top=args.top_k is not None))
            if progress:
                progress.advance()
        if args.json and not output:
            print("\n]")
    except BaseException:
        if output:
            output.abandon()
        raise
    else:
        if output:
            output.close()
    finally:
        table.finish()  # rows held to set the column widths are printed even after Ctrl-C
        if progress:
            progress.draw(final=True)
    for origin, (right, total) in labelled.items():
        print(f"{origin}: {right}/{total} correct ({percent(right / max(total, 1))})")
    if args.submission:
        if unread_csv:
            raise DigitrecError(f"{sorted(unread_csv)[0]}: could not be read, so no submission was written")
        write_text(args.submission, "ImageId,Label\n" + "".join(f"{i},{d}\n" for i, d in enumerate(submission, 1)))
        print(f"wrote {args.submission} ({len(submission)} rows)")
    if output:
        before = f", {kept:,} kept from before" if kept else ""
        print(f"wrote {output.path}: {count:,} inputs read{before} ({output.rows:,} rows written)")
    if failures:
        where = f" (see the error column of {output.path})" if output else ""
        print(f"digitrec: error: {failures} of {count + kept} inputs could not be read{where}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def fraction_or_zero(text):
    """A positive number, or 0 (train's --validation-split: hold nothing out)."""
    try:
        if float(text) == 0:
            return 0.0
    except ValueError:
        pass
    return positive_float(text)


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def build_parser():
    from .models import MODELS

    parser = argparse.ArgumentParser(prog="digitrec", description="Handwritten-digit recognition with CNNs.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"digitrec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = "MNIST folder (default: $DIGITREC_DATA_DIR, else the user cache, else download)"

    models = commands.add_parser("models", help="list the registry: name, source, parameters, recipe")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table (default: off)")
    models.set_defaults(run=command_models)

    data_parser = commands.add_parser("data", help="fetch or look at MNIST")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    download = data_commands.add_parser("download", help="download and verify MNIST into the cache")
    download.add_argument("--to", help="destination folder (default: the user cache)")
    download.set_defaults(run=command_data_download)
    info = data_commands.add_parser("info", help="image counts and label distribution")
    info.add_argument("--data-dir", help=data_help)
    info.set_defaults(run=command_data_info)
    show = data_commands.add_parser("show", help="draw a grid of training samples and the label distribution")
    show.add_argument("--rows", type=positive_int, default=3, help="grid rows (default: 3)")
    show.add_argument("--columns", type=positive_int, default=3, help="grid columns (default: 3)")
    show.add_argument("--start", type=int, default=0, help="index of the first training image shown (default: 0)")
    show.add_argument("--out", default=".", help="folder for samples.png and distribution.png (default: .)")
    show.add_argument("--data-dir", help=data_help)
    show.set_defaults(run=command_data_show)

    train = commands.add_parser("train", help="train a registry model with its recipe and save the run")
    train.add_argument("--model", choices=list(MODELS), help="registry name (see `digitrec models`)")
    train.add_argument("--resume", metavar="RUN", help="continue a killed run (its --out) from its last finished epoch, with its own settings")
    train.add_argument("--epochs", type=positive_int, help="epochs (default: the recipe's)")
    train.add_argument("--batch-size", type=positive_int, help="batch size (default: the recipe's)")
    train.add_argument("--learning-rate", type=positive_float, help="(peak) learning rate (default: the recipe's)")
    train.add_argument("--steps-per-epoch", type=positive_int, help="steps per epoch (default: the recipe's, else one pass)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--limit", type=positive_int, help="train on the first N training images only (default: all)")
    train.add_argument("--out", help="run folder to create (default: runs/MODEL-TIMESTAMP)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out folder (default: refuse)")
    train.add_argument("--data-dir", help=data_help)
    train.add_argument("--data", metavar="TRAIN_CSV", help="train on Kaggle's train.csv instead of MNIST (8 %% held out when the recipe validates on the test set)")
    train.add_argument("--validation-split", type=fraction_or_zero, metavar="FRACTION",
                       help="hold out this fraction of the training images to validate on (default: the recipe's choice); "
                            "0 trains on every training image, for the final fit of a recipe already chosen")
    train.add_argument("--test-shifts", choices=["on", "off"],
                       help="save the model reading each picture also moved one pixel up, down, left and right, the mean of the five "
                            "(5x the work per picture; default: the recipe's, on for best)")
    train.add_argument("--ema", type=float, metavar="MOMENTUM", help="keep a moving average of the weights (e.g. 0.999), warmed up over the first steps; it is validated and saved (default: the recipe's, none)")
    train.add_argument("--weight-decay", type=float, metavar="RATE", help="decoupled weight decay (AdamW's): each step the kernels shrink by learning rate x RATE; batch norm and biases are not decayed (default: the recipe's, none)")
    train.add_argument("--elastic", type=float, metavar="ALPHA",
                       help="elastic distortion of the training images (Simard et al. 2003): a random field smoothed by a Gaussian of "
                            "the recipe's sigma, times ALPHA px (e.g. 34), read with the recipe's affine augmentation in one resampling; 0 = none "
                            "(default: the recipe's)")
    train.add_argument("--engine", choices=["local", "ray"], default="local", help="local: this process; ray: data-parallel on Ray workers (Keras on PyTorch), pip install 'digitrec[cluster,distributed]' (default: local)")
    train.add_argument("--workers", type=positive_int, help="with --engine ray: workers sharing each batch (default: 2)")
    train.add_argument("--ray-address", help="with --engine ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    train.add_argument("--report", action="store_true", help="also write report.html into the run folder (default: off)")
    train.set_defaults(run=command_train)

    report = commands.add_parser("report", help="write one self-contained HTML report for a run folder")
    report.add_argument("run_dir", help="run folder made by `digitrec train`")
    report.add_argument("--data-dir", help=data_help)
    report.set_defaults(run=command_report)

    evaluate = commands.add_parser("evaluate", help="test loss, accuracy, per-class scores, confusion matrix")
    evaluate.add_argument("path", help="run folder, .keras, model.json or .onnx file, or pretrained (the shipped model)")
    evaluate.add_argument("--data-dir", help=data_help)
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of tables (default: off)")
    evaluate.add_argument("--no-pictures", dest="pictures", action="store_false", help="skip confusion.png, mistakes.png, predictions.png (default: draw them)")
    evaluate.set_defaults(run=command_evaluate)

    def engine_arguments(command):
        command.add_argument("--engine", choices=["local", "ray"], default="local", help="local: training processes here; ray: Ray tasks, pip install 'digitrec[cluster]' (default: local)")
        command.add_argument("--workers", type=positive_int, help="runs trained at once (default: one per CPU, at most the number of runs)")
        command.add_argument("--ray-address", help="Ray cluster to join with --engine ray (default: $RAY_ADDRESS, else a local Ray)")
        command.add_argument("--limit", type=positive_int, help="train on the first N training images only (default: all)")

    ensemble = commands.add_parser("ensemble", help="join trained models into one that averages their probabilities")
    ensemble.add_argument("members", nargs="*", metavar="MODEL", help="run folders, .keras files or model.json pairs (at least 2, or 1 with --shifts)")
    ensemble.add_argument("--train", choices=list(MODELS), metavar="MODEL", help="train the members first: this registry model, once per --seeds")
    ensemble.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="with --train: the members' seeds (default: 0 1 2 3 4)")
    ensemble.add_argument("--epochs", type=positive_int, help="with --train: epochs (default: the recipe's)")
    engine_arguments(ensemble)
    ensemble.add_argument("--out", required=True, help="run folder to create for the ensemble (trained members go to OUT-members/)")
    ensemble.add_argument("--shifts", action="store_true",
                          help="test-time shifts: each member also reads the image moved one pixel up, down, left and right (5x the work)")
    ensemble.add_argument("--overwrite", action="store_true", help="replace an existing --out folder (default: refuse)")
    ensemble.add_argument("--data-dir", help=data_help)
    ensemble.set_defaults(run=command_ensemble)

    sweep = commands.add_parser("sweep", help="train a model with several settings and compare them on held-out training images")
    sweep.add_argument("--model", required=True, choices=list(MODELS), help="registry name (see `digitrec models`)")
    sweep.add_argument("--learning-rate", type=positive_float, nargs="+", help="(peak) learning rates to try (default: the recipe's)")
    sweep.add_argument("--epochs", type=positive_int, nargs="+", help="epochs to try (default: the recipe's)")
    sweep.add_argument("--batch-size", type=positive_int, nargs="+", help="batch sizes to try (default: the recipe's)")
    sweep.add_argument("--seeds", type=int, nargs="+", help="seeds to try (default: 0)")
    sweep.add_argument("--validation-split", type=positive_float, default=0.08, metavar="FRACTION", help="fraction of the training images held out to compare on (default: 0.08)")
    engine_arguments(sweep)
    sweep.add_argument("--out", required=True, help="folder for the runs and sweep.csv")
    sweep.add_argument("--data-dir", help=data_help)
    sweep.set_defaults(run=command_sweep)

    export = commands.add_parser("export", help="write the model in another format")
    export.add_argument("path", help="run folder or .keras file")
    export.add_argument("--format", required=True, choices=["legacy", "onnx"], help="legacy: model.json + model.weights.h5; onnx: model.onnx")
    export.add_argument("--out", help="destination folder (default: beside the model)")
    export.add_argument("--overwrite", action="store_true", help="replace files that are already there (default: refuse)")
    export.set_defaults(run=command_export)

    predict = commands.add_parser("predict", help="read digits in pictures, folders, a Kaggle CSV or an IDX file")
    from .inference import READERS

    predict.add_argument("inputs", nargs="+", help="picture files, folders (searched recursively), list files (.txt: a path per line), Kaggle CSV, IDX files, or - (one picture on standard input)")
    predict.add_argument("--model", help="run folder, .keras or .onnx file (default: the shipped model)")
    predict.add_argument("--multi", action="store_true", help="read several digits per picture, left to right (default: one)")
    predict.add_argument("--threshold", type=float, default=0.8, help="confidence below which an answer is uncertain (default: 0.8)")
    predict.add_argument("--reader", choices=READERS, default=READERS[0],
                         help="how pictures are read: the rules of imaging.py, or the learned stage of reading/ (default: rules)")
    predict.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    predict.add_argument("--top-k", type=positive_int, help="show the K likeliest digits for every answer (default: 3, shown only when uncertain)")
    predict.add_argument("--submission", help="write Kaggle's ImageId,Label CSV for a test.csv input to this file")
    predict.add_argument("--output", help="write a row per input as it is read to this .csv or .jsonl file (default: print)")
    again = predict.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue an --output file: skip the inputs it already has (default: refuse an existing file)")
    again.add_argument("--overwrite", action="store_true", help="replace an existing --output or --submission file (default: refuse)")
    predict.add_argument("--progress", action="store_true", help="show progress on stderr even when it is not a terminal (default: only on a terminal)")
    predict.add_argument("--workers", type=positive_int, help="processes (or Ray actors) reading pictures (default: one per CPU)")
    predict.add_argument("--engine", choices=["local", "ray"], default="local", help="local: worker processes here; ray: a Ray cluster, pip install 'digitrec[cluster]' (default: local)")
    predict.add_argument("--ray-address", help="Ray cluster to join with --engine ray (default: $RAY_ADDRESS, else a local Ray)")
    predict.set_defaults(run=command_predict)

    from .config import ServeConfig

    defaults = ServeConfig()  # each default declared once, in the config the library uses
    serve = commands.add_parser("serve", help="the drawing page and the HTTP API (ONNX inference)")
    serve.add_argument("--model", help=".onnx file or run folder (default: the shipped model)")
    serve.add_argument("--host", default=defaults.host, help=f"address to listen on (default: {defaults.host})")
    serve.add_argument("--port", type=positive_int, default=defaults.port, help=f"port (default: {defaults.port})")
    serve.add_argument("--max-body-bytes", type=positive_int, default=defaults.max_body_bytes,
                       help=f"larger requests get 413 (default: {defaults.max_body_bytes})")
    serve.add_argument("--max-in-flight", type=positive_int, default=defaults.max_in_flight,
                       help=f"concurrent predictions before 503 (default: {defaults.max_in_flight})")
    serve.add_argument("--max-decoded-mib", type=positive_int, default=defaults.max_decoded_bytes // 2**20,
                       help=f"MiB of pictures being decoded at once per process before 503 (default: {defaults.max_decoded_bytes // 2**20})")
    serve.add_argument("--threshold", type=float, default=defaults.threshold,
                       help=f"confidence below which an answer is uncertain (default: {defaults.threshold})")
    serve.add_argument("--workers", type=positive_int, default=1, help="server processes sharing the port, kept up by a supervisor (default: 1)")
    serve.add_argument("--max-connections", type=positive_int, default=defaults.max_connections,
                       help=f"open connections per process before 503 (default: {defaults.max_connections})")
    serve.add_argument("--max-client-connections", type=positive_int,
                       help="of those, open from one client address before its new ones get 503 "
                            "(default: a quarter of --max-connections, at least 32)")
    serve.add_argument("--header-timeout", type=positive_float, default=defaults.header_timeout,
                       help=f"seconds for a request's headers to arrive, else 408 (default: {defaults.header_timeout:g})")
    serve.add_argument("--body-timeout", type=positive_float, default=defaults.body_timeout,
                       help=f"seconds for a prediction's body to arrive, else 408 (default: {defaults.body_timeout:g})")
    serve.set_defaults(run=command_serve)
    return parser


# the optional extras (pyproject.toml) and the modules that tell one is missing
EXTRA_FOR_MODULE = {
    "keras": "train", "tensorflow": "train", "h5py": "train", "onnx": "train", "matplotlib": "train",
    "ray": "cluster", "torch": "distributed", "fastapi": "serve", "uvicorn": "serve", "starlette": "serve", "multipart": "serve", "python_multipart": "serve",
}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DigitrecError as error:
        print(f"digitrec: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitrec: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as error:
        extra = EXTRA_FOR_MODULE.get((error.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"digitrec: error: this command needs {error.name}, which is not installed: pip install 'digitrec[{extra}]'", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return broken_pipe()
    except OSError as error:
        # the machine, not the input: a full disk, a read-only or vanished folder, permission denied
        print(f"digitrec: error: {os_fault(error)}", file=sys.stderr)
        return 1


def os_fault(error: OSError) -> str:
    """An OSError as one line: the file it names (both, for a rename), what went wrong, what to do."""
    from .files import os_reason

    names = " -> ".join(str(name) for name in (error.filename, error.filename2) if name)
    advice = {"no space left on device": "free some space and run it again",
              "read-only file system": "choose a folder that can be written",
              "permission denied": "choose a file or folder this user may use"}.get(os_reason(error), "nothing was replaced")
    return f"{names or 'a file'}: {os_reason(error)}; {advice}"


def broken_pipe() -> int:
    """The reader went away (`digitrec predict ... | head`): stop quietly, as Unix tools do;
    stdout goes to /dev/null so that flushing it at exit raises nothing more."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a tool that a closed pipe stopped


def entry_point():
    code = main()
    if "tensorflow" in sys.modules:
        # TensorFlow's teardown at exit takes over a second (measured 1.4 s after `train --model
        # fast`) and does nothing a finished command needs: every file is written and closed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
