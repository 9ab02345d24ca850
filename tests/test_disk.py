"""planner.files.disk: the one guarded way in and the one safe way out for every file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from planner.errors import ProfileError, short
from planner.files import disk
from planner.files.catalog import bundled_dir

ALIAS_BOMB = (
    "kind: [&a [x,x,x,x,x,x,x,x,x,x], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b],"
    " &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e],"
    " &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g], &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]]\n"
)


def yaml_error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        disk.read_yaml(path)
    message = str(info.value)
    assert message.startswith(str(path)) and len(message) < 400 and "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# The way in: YAML


def test_every_builtin_profile_reads_as_plain_yaml_would():
    for path in sorted(bundled_dir().glob("*/*.yaml")):
        assert disk.read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("text,expected", [
    (ALIAS_BOMB, "alias bomb"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nesting depth"),
    ("a:\n" + "".join("  " * i + "-\n" for i in range(1, 100)), "nested more than 64 levels"),
    ("a: &x [1, *x]\n", "refers to a node that contains it"),
    ("a: *nowhere\n", "undefined alias"),
    ("a: !!binary aGVsbG8=\n", "unsupported YAML tag"),
    ("a: !!set {x, y}\n", "unsupported YAML tag"),
    ("a: !!omap [x: 1]\n", "unsupported YAML tag"),
    ("a: !!python/object:os.system x\n", "could not determine a constructor"),
    ("a: .nan\n", "not a finite number"),
    ("a: -.inf\n", "not a finite number"),
    ("a: " + "9" * 400 + "\n", "out of range"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("? [a, b]\n: 1\n", "expected a plain key"),
    ("- a\n- b\n", "expected a mapping of fields at the top level, got list"),
    ("a: [1\n", "malformed YAML at line 2"),
])
def test_hostile_yaml_is_refused_quickly_with_the_file_named(tmp_path, text, expected):
    start = time.perf_counter()
    assert expected in yaml_error(text, tmp_path)
    assert time.perf_counter() - start < 1.0


def test_alias_bomb_fails_before_memory_grows(tmp_path):
    import tracemalloc

    tracemalloc.start()
    yaml_error(ALIAS_BOMB, tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000


def test_modest_aliases_dates_and_number_keys_load_as_plain_data(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("base: &b {x: 1}\nfirst: *b\nsecond: {<<: *b, y: 2}\nwhen: 2024-05-01\n1: one\nyes: true\n")
    data = disk.read_yaml(path)
    assert data == {"base": {"x": 1}, "first": {"x": 1}, "second": {"x": 1, "y": 2}, "when": "2024-05-01",
                    "1": "one", "yes": True}


def test_many_values_within_the_cap_are_fine(tmp_path):
    rows = "".join(f"  - [{i}, {i + 1}, {i + 2}]\n" for i in range(5000))
    path = tmp_path / "p.yaml"
    path.write_text("points:\n" + rows)
    assert len(disk.read_yaml(path)["points"]) == 5000


# ---------------------------------------------------------------------------------------------
# The way in: what is not a regular file, too big, or not UTF-8


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(ProfileError, match="named pipe"):
        disk.read_yaml(fifo)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("target,expected", [("/dev/zero", "character device"), ("/", "a folder")])
def test_devices_and_folders_are_refused_even_through_a_symlink(tmp_path, target, expected):
    if not Path(target).exists():
        pytest.skip(f"{target} not on this system")
    link = tmp_path / "x.yaml"
    link.symlink_to(target)
    with pytest.raises(ProfileError, match=expected):
        disk.read_yaml(link)


def test_a_symlink_to_a_regular_file_is_followed(tmp_path):
    (tmp_path / "real.yaml").write_text("a: 1\n")
    (tmp_path / "x.yaml").symlink_to(tmp_path / "real.yaml")
    assert disk.read_yaml(tmp_path / "x.yaml") == {"a": 1}


def test_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "MAX_YAML_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(ProfileError, match="more than the limit of 100 bytes"):
        disk.read_yaml(path)


def test_decoding_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes('{\n"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(ProfileError, match=r"config.json: not UTF-8 text: byte 0xe9 on line 2"):
        disk.read_json(path)


@pytest.mark.parametrize("text,expected", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": NaN}', "NaN is not a finite number"),
    ('{"a": 1', "malformed JSON at line 1"),
    ("[1, 2]", "expected a JSON object"),
])
def test_hostile_json(tmp_path, text, expected):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ProfileError, match=expected):
        disk.read_json(path)


def test_unreadable_names_become_errors_not_crashes(tmp_path):
    for name in ("a\0b.yaml", "x" * 5000 + ".yaml", str(tmp_path / "missing.yaml")):
        with pytest.raises(ProfileError) as info:
            disk.read_yaml(Path(name))
        assert len(str(info.value)) < 300


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_rows_strip_pad_and_reject_extra_cells(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"\xef\xbb\xbfa, b\n1 , 2\n\n3\n")
    assert disk.read_csv_rows(path) == (["a", "b"], [{"a": "1", "b": "2"}, {"a": "3", "b": ""}])
    with disk.open_csv_rows(path) as (columns, rows):
        assert columns == ["a", "b"] and list(rows) == [(2, {"a": "1", "b": "2"}), (4, {"a": "3", "b": ""})]
    path.write_text("a,b\n1,2,3\n")
    with pytest.raises(ProfileError, match="line 2: more cells than columns"):
        disk.read_csv_rows(path)
    path.write_text("")
    with pytest.raises(ProfileError, match="empty CSV"):
        disk.read_csv_rows(path)


def test_streamed_csv_names_the_undecodable_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"a,b\n1,2\n\xff,3\n")
    with pytest.raises(ProfileError, match="byte 0xff on line 3"), disk.open_csv_rows(path) as (_, rows):
        list(rows)


def test_csv_from_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "s.csv"
    os.mkfifo(fifo)
    with pytest.raises(ProfileError, match="named pipe"):
        disk.read_csv_rows(fifo)
    with pytest.raises(ProfileError, match="named pipe"), disk.open_csv_rows(fifo):
        pass


# ---------------------------------------------------------------------------------------------
# The way out


def test_write_refuses_to_clobber_and_force_keeps_the_mode(tmp_path):
    path = tmp_path / "law.yaml"
    disk.atomic_write(path, "a: 1\n")
    assert path.read_text() == "a: 1\n"
    with pytest.raises(ProfileError, match="file exists; pass --force"):
        disk.atomic_write(path, "a: 2\n")
    os.chmod(path, 0o640)
    disk.atomic_write(path, "a: 3\n", force=True)
    assert path.read_text() == "a: 3\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["law.yaml"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        disk.atomic_write(tmp_path / "a.yaml", "x")
        os.umask(0o002)
        disk.atomic_write(tmp_path / "b.yaml", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.yaml").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "b.yaml").stat().st_mode) == 0o664


@pytest.mark.parametrize("make,expected", [
    (lambda p: os.mkfifo(p), "named pipe"),
    (lambda p: p.mkdir(), "a folder"),
    (lambda p: p.symlink_to(p.parent / "nowhere"), "symbolic link"),
])
def test_write_refuses_targets_that_are_not_regular_files_even_with_force(tmp_path, make, expected):
    target = tmp_path / "out.yaml"
    make(target)
    for force in (False, True):
        with pytest.raises(ProfileError, match=expected):
            disk.atomic_write(target, "x", force=force)
    assert not (tmp_path / "nowhere").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_write_refuses_a_device():
    with pytest.raises(ProfileError, match="character device"):
        disk.atomic_write(Path("/dev/null"), "x", force=True)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("name", ["x" * 5000, "missing/dir/out.yaml", "a\0b"])
def test_write_errors_are_one_short_line(tmp_path, name):
    with pytest.raises(ProfileError) as info:
        disk.atomic_write(tmp_path / name, "x")
    assert "cannot write" in str(info.value) and len(str(info.value)) < 300
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_error_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ProfileError, match="cannot write: Permission denied"):
            disk.atomic_write(folder / "law.yaml", "x")
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_a_file_appearing_meanwhile_is_never_replaced(tmp_path, monkeypatch):
    target = tmp_path / "out.yaml"
    real = disk._temporary_beside

    def racing(path):  # another writer publishes between our check and our publish
        result = real(path)
        target.write_text("theirs")
        return result

    monkeypatch.setattr(disk, "_temporary_beside", racing)
    with pytest.raises(ProfileError, match="appeared while writing"):
        disk.atomic_write(target, "ours")
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_concurrent_writers_without_force_exactly_one_wins(tmp_path):
    for trial in range(20):
        target = tmp_path / f"r{trial}.yaml"
        results: list[str] = []
        barrier = threading.Barrier(4)

        def write(text, target=target, results=results, barrier=barrier):
            barrier.wait()
            try:
                disk.atomic_write(target, text)
                results.append("ok")
            except ProfileError:
                results.append("refused")

        threads = [threading.Thread(target=write, args=(f"writer {i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert all(not p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_without_hard_links_the_name_is_still_taken_exclusively(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    disk.atomic_write(tmp_path / "a.yaml", "x")
    assert (tmp_path / "a.yaml").read_text() == "x"
    with pytest.raises(ProfileError, match="file exists"):
        disk.atomic_write(tmp_path / "a.yaml", "y")
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    """A writer killed by SIGTERM mid-write removes its temporary file and exits 143."""
    script = (
        "import os, signal, sys\n"
        "from planner.files import disk\n"
        "real = os.write\n"
        "def slow(fd, data):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(fd, data)\n"
        "os.write = slow\n"
        f"disk.atomic_write(disk.Path({str(tmp_path / 'out.yaml')!r}), 'x' * 1000)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_short_never_echoes_a_hostile_value_whole():
    assert short("x" * 10_000).endswith("…") and len(short("x" * 10_000)) <= 60
    assert short(list(range(10**6))) == "a list of 1000000 items"
    assert short(10**5000) == "an integer of about 5000 digits"
    assert short(3.5) == "3.5"
