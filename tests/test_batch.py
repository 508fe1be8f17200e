"""Batch prediction: inputs listed in order, the same answers on worker processes as one by one,
streamed CSV/JSONL rows, a bad file as a row, --resume after kill -9, progress only on a terminal."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from images import drawn_set, render_number

from digitrec import batch
from digitrec.cli import main
from digitrec.data import write_kaggle_csv
from digitrec.inference import Predictor


def comparable(prediction):
    record = prediction.to_dict()
    record.pop("seconds", None)
    return record


@pytest.fixture(scope="module")
def predictor():
    return Predictor()


@pytest.fixture(scope="module")
def picture_folder(tmp_path_factory):
    """300 drawn digits (PNG and JPEG, several sizes) in nested folders, and a few numbers."""
    folder = tmp_path_factory.mktemp("pictures")
    for index, (image, digit) in enumerate(drawn_set(300, seed=11)):
        sub = folder / f"part-{index % 3}"
        sub.mkdir(exist_ok=True)
        suffix = 'jpg' if index % 4 == 0 and image.mode in ('RGB', 'L') else 'png'
        image.save(sub / f"{index:03d}-{digit}.{suffix}")
    rng = np.random.default_rng(3)
    for index in range(6):
        render_number(str(rng.integers(10, 1000)), rng).save(folder / f"number-{index}.png")
    return folder


def test_list_inputs_in_order_with_every_kind(tmp_path, small_mnist):
    from conftest import write_idx

    folder = tmp_path / "folder"
    (folder / "b").mkdir(parents=True)
    for name in ("b/2.png", "a.png", "c.JPG", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    train_csv = write_kaggle_csv(tmp_path / "train.csv", small_mnist[0][0][:3], small_mnist[0][1][:3])
    idx = write_idx(tmp_path / "few-images-idx3-ubyte", small_mnist[1][0][:2])
    listing = tmp_path / "list.txt"
    listing.write_text("# pictures to read\nfolder/a.png\n\n" + str(tmp_path / "single.png") + "\n")
    paths = [folder, tmp_path / "empty", train_csv, idx, listing]
    items = list(batch.list_inputs(paths))
    assert [item.key for item in items] == [
        str(folder / "a.png"), str(folder / "b" / "2.png"), str(folder / "c.JPG"),
        str(tmp_path / "empty"),
        f"{train_csv}#1", f"{train_csv}#2", f"{train_csv}#3",
        f"{idx}#1", f"{idx}#2",
        str(tmp_path / "folder" / "a.png"), str(tmp_path / "single.png"),
    ]
    assert items[3].error == f"{tmp_path / 'empty'}: no pictures in this folder"
    assert [item.label for item in items[4:7]] == small_mnist[0][1][:3].tolist()
    assert np.array_equal(items[7].pixels, small_mnist[1][0][0])
    assert batch.count_inputs(paths) == len(items)


@pytest.mark.slow
def test_workers_answer_as_one_picture_at_a_time(predictor, picture_folder):
    pictures = sorted(picture_folder.rglob("*.*"))
    one_by_one = [comparable(predictor.predict_image(path, name=str(path))) for path in pictures]
    for workers in (1, 2):
        answers = list(predictor.predict_paths([picture_folder], workers=workers))
        assert [answer.source for answer in answers] == [str(path) for path in pictures]  # input order
        assert [comparable(answer) for answer in answers] == one_by_one
    multi = list(predictor.predict_paths([picture_folder], multi=True, workers=2))
    assert [comparable(answer) for answer in multi] == [comparable(predictor.predict_image(p, multi=True, name=str(p))) for p in pictures]


def test_rows_of_a_csv_are_read_in_batches(predictor, small_mnist, tmp_path):
    images, labels = small_mnist[0][0][:600], small_mnist[0][1][:600]
    test_csv = write_kaggle_csv(tmp_path / "train.csv", images, labels)
    answers = list(predictor.predict_paths([test_csv], workers=2))
    assert [a.source for a in answers] == [f"{test_csv}#{i}" for i in range(1, 601)]
    assert [a.label for a in answers] == labels.tolist()
    assert [comparable(a) for a in answers] == [comparable(p) | {"path": f"{test_csv}#{i}", "label": int(label)}
                                                 for i, (p, label) in enumerate(zip(predictor.predict_pixels(images), labels), 1)]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_output_csv_and_jsonl_rows(tmp_path, capsys):
    from PIL import Image, ImageDraw

    seven = tmp_path / "in" / "seven.png"
    seven.parent.mkdir()
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(50, 40), (150, 40), (90, 170)], fill=0, width=9)
    image.save(seven)
    rng = np.random.default_rng(5)
    render_number("407", rng).save(tmp_path / "in" / "z-number.png")
    (tmp_path / "in" / "m-broken.png").write_text("not a picture")
    out = tmp_path / "answers.csv"
    assert main(["predict", str(tmp_path / "in"), "--multi", "--output", str(out)]) == 1
    printed = capsys.readouterr()
    rows = read_csv(out)
    assert rows[0] == ["path", "digits", "digit", "confidence", "uncertain", "reason", "error"]
    assert rows[1][0].endswith("m-broken.png") and rows[1][6].endswith("not an image Pillow can read") and rows[1][1:6] == [""] * 5
    assert rows[2][:3] == [str(seven), "7", "7"] and rows[2][4] == "false" and float(rows[2][3]) > 0.8
    assert [row[1:3] for row in rows[3:]] == [["407", "4"], ["407", "0"], ["407", "7"]]  # a row per digit
    assert f"wrote {out}: 3 inputs read (5 rows written)" in printed.out
    assert printed.err.strip() == f"digitrec: error: 1 of 3 inputs could not be read (see the error column of {out})"

    jsonl = tmp_path / "answers.jsonl"
    assert main(["predict", str(tmp_path / "in"), "--multi", "--output", str(jsonl)]) == 1
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records[0]["error"].endswith("not an image Pillow can read")
    assert records[1]["digit"] == 7 and len(records[1]["probabilities"]) == 10
    assert records[2]["digits"] == "407" and len(records[2]["per_digit"]) == 3
    capsys.readouterr()
    assert main(["predict", str(seven), "--json"]) == 0  # the same fields as --json
    assert set(json.loads(capsys.readouterr().out)[0]) == set(records[1])


def test_an_output_file_is_never_replaced_unasked(tmp_path, capsys):
    picture = tmp_path / "one.png"
    drawn_set(1)[0][0].save(picture)
    out = tmp_path / "answers.csv"
    out.write_text("precious\n")
    assert main(["predict", str(picture), "--output", str(out)]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {out}: already exists; add --resume to continue it or --overwrite to replace it"
    assert out.read_text() == "precious\n"
    assert main(["predict", str(picture), "--output", str(out), "--resume"]) == 1
    assert "not a digitrec results file" in capsys.readouterr().err
    assert out.read_text() == "precious\n"
    for args, message in [
        (["--output", str(tmp_path / "a.txt")], "--output must end in .csv or .jsonl"),
        (["--resume"], "--resume needs --output FILE"),
        (["--output", str(tmp_path / "b.csv"), "--json"], "--json prints to the terminal"),
        (["--output", str(tmp_path / "no" / "b.csv")], "no such folder"),
    ]:
        assert main(["predict", str(picture), *args]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]
    assert main(["predict", str(picture), "--output", str(out), "--overwrite"]) == 0
    assert read_csv(out)[1][0] == str(picture)


def run_cli(*args, **options):
    return subprocess.Popen([sys.executable, "-m", "digitrec", *map(str, args)], **options)


def worker_pids(parent):
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    pids = []
    for pid in found:
        try:
            if "worker_main" in open(f"/proc/{pid}/cmdline").read():
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


def data_rows(path):
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


@pytest.mark.slow
def test_resume_after_kill_9_gives_every_input_exactly_once(hwd_dir, tmp_path):
    folder = tmp_path / "many"
    pictures = sorted((hwd_dir / "img").glob("*.png"))
    for copy in range(3):  # 3,000 pictures under different names (symbolic links)
        (folder / f"copy-{copy}").mkdir(parents=True)
        for picture in pictures:
            (folder / f"copy-{copy}" / picture.name).symlink_to(picture)
    complete = tmp_path / "complete.csv"
    assert run_cli("predict", folder, "--output", complete, stdout=subprocess.DEVNULL).wait(timeout=300) == 0

    out = tmp_path / "answers.csv"
    process = run_cli("predict", folder, "--output", out, "--workers", "2", stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while data_rows(out) < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    workers = worker_pids(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = data_rows(out)
    assert 300 <= written < 3000
    assert len(workers) == 2
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)  # the workers ended with their parent

    resumed = run_cli("predict", folder, "--output", out, "--resume", stdout=subprocess.PIPE, text=True)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0
    assert "kept from before" in output
    rows = read_csv(out)
    assert len({row[0] for row in rows[1:]}) == len(rows) - 1 == 3000  # each input exactly once
    assert out.read_bytes() == complete.read_bytes()  # and the same file as a run never stopped


def test_a_cut_off_last_row_is_read_again(tmp_path, capsys):
    pictures = tmp_path / "in"
    pictures.mkdir()
    for index, (image, _) in enumerate(drawn_set(4, seed=3)):
        image.save(pictures / f"{index}.png")
    out = tmp_path / "answers.jsonl"
    assert main(["predict", str(pictures), "--output", str(out)]) == 0
    complete = out.read_bytes()
    out.write_bytes(complete[: complete.index(b"\n", complete.index(b"\n") + 1) + 20])  # two lines and a bit
    assert main(["predict", str(pictures), "--output", str(out), "--resume"]) == 0
    assert "3 inputs read, 1 kept from before" in capsys.readouterr().out  # the last whole line is read again too
    assert [json.loads(line)["path"] for line in out.read_text().splitlines()] == [str(pictures / f"{i}.png") for i in range(4)]


def test_progress_only_on_a_terminal_or_when_asked(tmp_path):
    import pty

    pictures = tmp_path / "in"
    pictures.mkdir()
    for index, (image, _) in enumerate(drawn_set(3, seed=4)):
        image.save(pictures / f"{index}.png")

    def stderr_of(*extra, terminal=False):
        out = tmp_path / f"answers-{len(os.listdir(tmp_path))}.csv"
        if not terminal:
            process = run_cli("predict", pictures, "--output", out, *extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            return process.communicate(timeout=120)[1].decode()
        leader, follower = pty.openpty()
        process = run_cli("predict", pictures, "--output", out, *extra, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        captured = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            captured += chunk
        process.wait(timeout=120)
        os.close(leader)
        return captured.decode()

    assert stderr_of() == ""  # piped: nothing extra
    assert "3/3 inputs  100 %" in stderr_of(terminal=True)
    assert "3/3 inputs  100 %" in stderr_of("--progress")


def test_a_killed_worker_is_one_line(tmp_path, hwd_dir):
    folder = tmp_path / "many"
    folder.mkdir()
    for copy in range(4):
        for picture in sorted((hwd_dir / "img").glob("*.png")):
            (folder / f"{copy}-{picture.name}").symlink_to(picture)
    out = tmp_path / "answers.csv"
    process = run_cli("predict", folder, "--output", out, "--workers", "2", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    workers = []
    while not workers and time.monotonic() < deadline:
        workers = worker_pids(process.pid)
        time.sleep(0.01)
    os.kill(workers[0], signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.decode().strip().splitlines() == ["digitrec: error: a worker process stopped unexpectedly (killed, or out of memory); what was written so far is kept"]


# ---------------------------------------------------------------------------------------------
# Nothing silently dropped, nothing overwritten (what a hostile probe found)
# ---------------------------------------------------------------------------------------------


def without_root_powers(command):
    """Run `command` so that file permissions hold for it: as root (here and in CI), without the
    capabilities that let root read any folder or file (setpriv drops them from the bounding set)."""
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_folder_that_cannot_be_listed_is_one_row_and_the_walk_goes_on(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    try:
        pictures = drawn_set(4, seed=2)
        for name, (image, _) in zip(("a.png", "c.png", "d.png"), pictures):
            image.save(folder / name)
        (folder / "sub").mkdir()
        pictures[3][0].save(folder / "sub" / "s.png")
        (folder / "b_locked").mkdir()
        pictures[0][0].save(folder / "b_locked" / "hidden.png")
        os.chmod(folder / "b_locked", 0o000)
        pictures[1][0].save(folder / "unreadable.png")
        os.chmod(folder / "unreadable.png", 0o000)
        os.symlink("loop.png", folder / "loop.png")  # a link to itself
        out = tmp_path / "out"
        out.mkdir()
        result = without_root_powers([sys.executable, "-m", "digitrec", "predict", str(folder), "--output", str(out / "answers.csv")])
        rows = read_csv(out / "answers.csv")[1:]
        by_path = {row[0]: row for row in rows}
        expected = [folder / name for name in ("a.png", "b_locked", "c.png", "d.png", "loop.png", "sub/s.png", "unreadable.png")]
        assert [row[0] for row in rows if row[0] in by_path] == [str(path) for path in expected]
        assert by_path[str(folder / "b_locked")][6] == f"{folder / 'b_locked'}: cannot list this folder (permission denied)"
        assert by_path[str(folder / "loop.png")][6] == f"{folder / 'loop.png'}: cannot open (symbolic link loop)"
        assert by_path[str(folder / "unreadable.png")][6] == f"{folder / 'unreadable.png'}: cannot open (permission denied)"
        for name in ("a.png", "c.png", "d.png", "sub/s.png"):
            assert by_path[str(folder / name)][1].isdigit() and by_path[str(folder / name)][6] == ""
        assert result.returncode == 1
        assert result.stderr.strip() == f"digitrec: error: 3 of 7 inputs could not be read (see the error column of {out / 'answers.csv'})"
    finally:
        os.chmod(folder / "b_locked", 0o755)  # so that pytest can clear it


def kaggle_test_csv(tmp_path, small_mnist, rows=20):
    test_csv = write_kaggle_csv(tmp_path / "test.csv", small_mnist[1][0][:rows])
    return test_csv, test_csv.read_bytes()


def test_an_input_is_never_an_output_whatever_the_flags(tmp_path, small_mnist, capsys):
    test_csv, original = kaggle_test_csv(tmp_path, small_mnist)
    hard_link = tmp_path / "same.csv"
    os.link(test_csv, hard_link)  # another name for the same file
    for args, message in [
        (["--submission", str(test_csv)], f"{test_csv}: is one of the inputs ({test_csv}); writing it would destroy them: choose another --submission"),
        (["--submission", str(test_csv), "--overwrite"], "is one of the inputs"),
        (["--output", str(test_csv), "--overwrite"], f"{test_csv}: is one of the inputs ({test_csv}); writing it would destroy them: choose another --output"),
        (["--output", str(hard_link), "--overwrite"], f"{hard_link}: is one of the inputs ({test_csv})"),
        (["--output", str(test_csv), "--resume"], "is one of the inputs"),
    ]:
        assert main(["predict", str(test_csv), *args]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (args, err)
        assert test_csv.read_bytes() == original


def test_a_submission_follows_the_rules_of_output(tmp_path, small_mnist, capsys):
    test_csv, _ = kaggle_test_csv(tmp_path, small_mnist)
    other = tmp_path / "other.csv"
    other.write_text("precious\n")
    assert main(["predict", str(test_csv), "--submission", str(other)]) == 1
    assert capsys.readouterr().err.strip() == f"digitrec: error: {other}: already exists; add --overwrite to replace it"
    assert other.read_text() == "precious\n"
    assert main(["predict", str(test_csv), "--submission", str(other), "--output", str(other)]) == 1
    assert "is also the --output file" in capsys.readouterr().err
    assert main(["predict", str(test_csv), "--submission", str(other), "--overwrite"]) == 0
    assert other.read_text().splitlines()[0] == "ImageId,Label" and len(other.read_text().splitlines()) == 21
    assert not list(tmp_path.glob(".other.csv.*"))  # written beside it, then renamed: nothing left over


def test_outputs_are_never_written_through_a_symbolic_link(tmp_path, small_mnist, capsys):
    picture = tmp_path / "one.png"
    drawn_set(1)[0][0].save(picture)
    dangling = tmp_path / "dangling.csv"
    os.symlink(tmp_path / "made-through-the-link.csv", dangling)
    target = tmp_path / "target.csv"
    target.write_text("precious\n")
    pointing = tmp_path / "pointing.csv"
    os.symlink(target, pointing)
    test_csv, _ = kaggle_test_csv(tmp_path, small_mnist, rows=3)
    for args, link in [
        (["--output", str(dangling)], dangling),
        (["--output", str(pointing), "--overwrite"], pointing),
        (["--output", str(pointing), "--resume"], pointing),
        (["--submission", str(pointing), "--overwrite"], pointing),
    ]:
        inputs = [str(test_csv)] if "--submission" in args else [str(picture)]
        assert main(["predict", *inputs, *args]) == 1
        flag = "--submission" if "--submission" in args else "--output"
        assert capsys.readouterr().err.strip() == (f"digitrec: error: {link}: is a symbolic link; digitrec does not write through links "
                                                    f"(name a file or folder that is not one as {flag})")
    assert not (tmp_path / "made-through-the-link.csv").exists() and target.read_text() == "precious\n"


def test_a_second_writer_of_one_output_is_refused_at_once(tmp_path, capsys):
    picture = tmp_path / "one.png"
    drawn_set(1)[0][0].save(picture)
    out = tmp_path / "answers.csv"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # a live digitrec holding the lock
    try:
        (tmp_path / ".answers.csv.lock").write_text(str(holder.pid))
        assert main(["predict", str(picture), "--output", str(out)]) == 1
        assert capsys.readouterr().err.strip() == (f"digitrec: error: {out}: another digitrec is writing it (pid {holder.pid}); "
                                                    "wait for it or choose another --output")
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(["predict", str(picture), "--output", str(out)]) == 0  # a lock left by a dead process is taken over
    assert not (tmp_path / ".answers.csv.lock").exists()  # and let go at the end


def test_two_runs_on_one_output_at_once_leave_one_whole_file(tmp_path, hwd_dir):
    out = tmp_path / "answers.csv"
    # --overwrite on both: the second would have emptied the file the first is writing
    command = [sys.executable, "-m", "digitrec", "predict", str(hwd_dir), "--output", str(out), "--workers", "1", "--overwrite"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / ".answers.csv.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 1 and second.stderr.strip().endswith("wait for it or choose another --output")
    paths = [row[0] for row in read_csv(out)[1:]]
    assert len(paths) == len(set(paths)) and b"\0" not in out.read_bytes()


def test_resume_refuses_a_file_of_other_inputs(tmp_path, capsys):
    pictures = drawn_set(3, seed=4)
    for index, (image, _) in enumerate(pictures):
        image.save(tmp_path / f"{index}.png")
    out = tmp_path / "answers.csv"
    assert main(["predict", str(tmp_path / "0.png"), str(tmp_path / "1.png"), "--output", str(out)]) == 0
    before = out.read_bytes()
    assert main(["predict", str(tmp_path / "2.png"), "--output", str(out), "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"digitrec: error: {out}: holds rows of 2 inputs that are not among these inputs; --resume continues a file "
                   "with the inputs it was started with (choose another --output, or --overwrite)"]
    assert out.read_bytes() == before
    assert main(["predict", *(str(tmp_path / f"{i}.png") for i in range(3)), "--output", str(out), "--resume"]) == 0


def mounted_tmpfs(folder, options):
    """A small tmpfs mounted at `folder` (root only); skips the test where mounting is not allowed."""
    folder.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"cannot mount a tmpfs as root: {done.stderr.decode().strip()}")
        pytest.skip("mounting a small file system needs root")
    return folder


def test_a_full_disk_during_output_is_one_line_and_resume_continues(tmp_path, small_mnist):
    test_csv, _ = kaggle_test_csv(tmp_path, small_mnist, rows=500)  # about 60 KB of rows for 16 KB of disk
    disk = mounted_tmpfs(tmp_path / "disk", "size=16k")
    try:
        out = disk / "answers.csv"
        result = subprocess.run([sys.executable, "-m", "digitrec", "predict", str(test_csv), "--output", str(out), "--workers", "1"],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [f"digitrec: error: {out}: cannot write (no space left on device); the rows "
                                                      "written so far are kept: continue with --resume once there is room"]
        kept = read_csv(out)
        assert 1 < len(kept) < 501 and not (disk / ".answers.csv.lock").exists()
        subprocess.run(["mount", "-o", "remount,size=1m", str(disk)], check=True)
        resumed = subprocess.run([sys.executable, "-m", "digitrec", "predict", str(test_csv), "--output", str(out), "--resume"],
                                 capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        assert [row[0] for row in read_csv(out)[1:]] == [f"{test_csv}#{row}" for row in range(1, 501)]
    finally:
        subprocess.run(["umount", str(disk)])
