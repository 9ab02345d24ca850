"""The disk: reading YAML, JSON and CSV files and writing files atomically. Only files/ touches the disk.

One guarded way in (:func:`read_text`, used by every reader): regular files only (a FIFO, a device
or a folder is refused before anything blocks on it), a size cap per format, and decoding errors
named with the file. YAML is checked event by event *before* any tree is built: a cap on nesting
depth and on nodes with aliases expanded (a 300-byte alias bomb is refused at once), and a loader
that accepts only plain data (text keys, finite numbers, no dates, sets or binary).

One safe way out (:func:`atomic_write`): an existing target that is not a regular file is refused;
without ``force`` the file is published with ``os.link`` (exclusive: a file that appears
meanwhile is never replaced); with ``force`` the old file's mode is kept; new files follow the
umask; the temporary file is removed on every exit path, SIGTERM and SIGHUP included.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import secrets
import signal
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from planner.errors import ProfileError, short, short_path, short_text

# Size caps (bytes). The largest built-in profile is ~10 KB; a per-problem evaluation CSV of
# 500 problems × 1,024 samples is ~15 MB.
MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_CSV_BYTES = 256 * 1024 * 1024
# YAML structure caps, applied to the event stream before a tree exists.
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 200_000  # scalars + collections, every alias counted as the size of what it points to
# Integers beyond int64 are no physical quantity and overflow float and numpy conversions.
MAX_INTEGER = 2**63 - 1
# Hard-link failures that mean "this file system has no hard links" (publish by O_EXCL instead).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EACCES}


def is_folder(path: Path | str) -> bool:
    """Whether ``path`` is a folder; False (not an exception) for names the system refuses (too long, NUL byte)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_file(path: Path | str) -> bool:
    """Whether ``path`` is a regular file; False (not an exception) for names the system refuses."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _error(path: Path | str, message: str, line: int | None = None) -> ProfileError:
    return ProfileError(path, None, message, line=line)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------------------------
# The way in


@contextlib.contextmanager
def _open_regular(path: Path, limit: int) -> Iterator[tuple[int, int]]:
    """Open ``path`` for reading without blocking; yield (fd, size) if it is a regular file within ``limit``."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging (no effect on regular files).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _error(path, f"cannot read file: {_reason(exc)}") from None
    except (ValueError, RuntimeError) as exc:  # a NUL byte in the name, an unknown ~user
        raise _error(path, f"cannot read file: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error(path, f"cannot read file: it is {_file_kind(info.st_mode)}, expected a regular file")
        if info.st_size > limit:
            raise _error(path, f"cannot read file: {info.st_size:,} bytes is more than the limit of {limit:,} bytes for this kind of file")
        yield fd, info.st_size
    finally:
        os.close(fd)


def read_bytes(path: Path, *, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is a ProfileError naming the file."""
    path = Path(path)
    with _open_regular(path, limit) as (fd, _):
        chunks, total = [], 0
        try:
            while True:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:  # the file grew while we read it
                    raise _error(path, f"cannot read file: more than the limit of {limit:,} bytes for this kind of file")
        except OSError as exc:
            raise _error(path, f"cannot read file: {_reason(exc)}") from None
    return b"".join(chunks)


def _decode(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be decoded "
                           "(save the file as UTF-8)") from None


def read_text(path: Path, *, limit: int = MAX_YAML_BYTES, encoding: str = "utf-8") -> str:
    """A UTF-8 text file through the guards (regular file, size cap, decoding errors named with the file)."""
    return _decode(read_bytes(path, limit=limit), Path(path), encoding)


class YamlMapping(dict):
    """A YAML mapping as read from a file, with the line of every field: ``lines["a.b[2].c"] = 12`` (1-based)."""

    lines: dict[str, int]


def read_yaml(path: Path) -> YamlMapping:
    """Read a YAML mapping through the guards; any problem becomes a ProfileError naming the file."""
    return parse_yaml_text(read_text(path, limit=MAX_YAML_BYTES), path)


class _PlainLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that builds only plain data: text keys, finite numbers, no dates, sets, binary or ordered pairs."""


def _refuse_tag(loader, node):
    raise yaml.constructor.ConstructorError(None, None, f"unsupported YAML tag {node.tag!r} (expected plain text, numbers, lists and mappings)", node.start_mark)


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)  # dates stay the text that was written (JSON and reports need plain values)


def _finite_float(loader, node):
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(None, None, f"{short(node.value)} is not a finite number", node.start_mark)
    return value


def _bounded_int(loader, node):
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    if abs(value) > MAX_INTEGER:
        raise yaml.constructor.ConstructorError(None, None, f"integer {short(node.value)} is out of range (at most 19 digits)", node.start_mark)
    return value


def _plain_mapping(loader, node):
    data: dict = {}
    yield data
    loader.flatten_mapping(node)  # YAML merge keys (<<)
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, "expected a plain key (text), found a list or mapping", key_node.start_mark)
        key = key_node.value  # the key as written: `1:` and `yes:` are text keys, as JSON needs
        if key in data:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {short(key)}", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)


for _tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
    _PlainLoader.add_constructor(_tag, _refuse_tag)
_PlainLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
_PlainLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)
_PlainLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
_PlainLoader.add_constructor("tag:yaml.org,2002:map", _plain_mapping)


def _check_yaml_shape(text: str, path: Path) -> None:
    """Walk the YAML event stream (no tree built) and refuse deep nesting, recursive aliases or too many nodes."""
    total = 0  # nodes so far, every alias counted as the size of what it names
    open_nodes: list[list] = []  # [anchor, expanded size] of each open collection
    sizes: dict[str, int] = {}  # anchor -> expanded size of what it names
    for event in yaml.parse(text, Loader=_PlainLoader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(open_nodes) >= MAX_YAML_DEPTH:
                raise _error(path, f"YAML nested more than {MAX_YAML_DEPTH} levels deep", line)
            open_nodes.append([event.anchor, 1])
            size = 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = open_nodes.pop()
            if anchor:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
            continue
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(node[0] == event.anchor for node in open_nodes):
                raise _error(path, f"YAML alias *{short_text(event.anchor)} refers to a node that contains it", line)
            size = sizes.get(event.anchor, 1)
        else:
            continue
        total += size
        if open_nodes and not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_nodes[-1][1] += size
        if total > MAX_YAML_NODES:
            raise _error(path, f"YAML has more than {MAX_YAML_NODES:,} values with aliases expanded (an alias bomb?)", line)


def parse_yaml_text(text: str, path: Path) -> YamlMapping:
    """Parse YAML text into a mapping of plain data that knows each field's line, after the shape caps.

    Problems name ``path`` (and the line, when the YAML parser knows it).
    """
    loader = None
    node = None
    try:
        _check_yaml_shape(text, path)
        loader = _PlainLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = short_text(getattr(exc, "problem", None) or str(exc).splitlines()[0], 160)
        field = _field_at(node, line) if isinstance(exc, yaml.constructor.ConstructorError) else None
        if field:  # a value the loader refuses (a date is fine; .nan, a 400-digit integer or !!binary are not)
            raise ProfileError(path, field, problem, line=line) from None
        where = f" at line {line}, column {mark.column + 1}" if mark else ""
        raise ProfileError(path, None, f"malformed YAML{where}: {problem}", line=line) from None
    except RecursionError:
        raise _error(path, "YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise _error(path, f"expected a mapping of fields at the top level, got {type(data).__name__}")
    marked = YamlMapping(data)
    marked.lines = {}
    _collect_lines(node, "", marked.lines)
    return marked


def _field_at(node, line: int | None) -> str | None:
    """The deepest field path whose key or item starts on ``line`` (for errors raised while building values)."""
    if node is None or line is None:
        return None
    lines: dict[str, int] = {}
    _collect_lines(node, "", lines)
    on_line = [field for field, at in lines.items() if at == line]
    return max(on_line, key=len) if on_line else None


def _collect_lines(node, prefix: str, out: dict[str, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item below ``node`` (iteratively: deep files are fine)."""
    stack = [(node, prefix)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = f"{where}.{key_node.value}" if where else str(key_node.value)
                out.setdefault(key, key_node.start_mark.line + 1)
                stack.append((value_node, key))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                key = f"{where}[{i}]"
                out.setdefault(key, item.start_mark.line + 1)
                stack.append((item, key))


def read_json(path: Path, *, allow_nonfinite: bool = False) -> dict:
    """Read a JSON object (e.g. a Hugging Face config.json) through the guards.

    ``allow_nonfinite`` reads NaN / Infinity as floats: real Hugging Face configs carry them
    (Nemotron-H ``time_step_limit: [0.0, Infinity]``); the reader of such a file checks its values.
    """
    text = read_text(path, limit=MAX_JSON_BYTES, encoding="utf-8-sig")
    try:
        data = json.loads(text, parse_constant=float if allow_nonfinite else _refuse_json_constant)
    except json.JSONDecodeError as exc:
        raise _error(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # NaN / Infinity, or an integer with more than 4,300 digits
        raise _error(path, f"malformed JSON: {short_text(str(exc), 120)}") from None
    except RecursionError:
        raise _error(path, "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise _error(path, "expected a JSON object at the top level")
    return data


def _refuse_json_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def dump_yaml(data: Mapping) -> str:
    """Deterministic YAML text (keys in the given order, block style)."""
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


def _csv_records(handle, path: Path) -> Iterator[tuple[int, dict[str, str]] | list[str]]:
    """Yield the header (stripped column names), then (line number, row) for every record."""
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise _error(path, "empty CSV: expected a header row")
        columns = [c.strip() for c in header]
        yield columns
        for cells in reader:
            if not cells:
                continue
            if len(cells) > len(columns):
                raise _error(path, f"line {reader.line_num}: more cells than columns in the header")
            cells = [c.strip() for c in cells] + [""] * (len(columns) - len(cells))
            yield reader.line_num, dict(zip(columns, cells))
    except csv.Error as exc:
        raise _error(path, f"malformed CSV at line {reader.line_num}: {short_text(str(exc), 120)}") from None


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV file with a header row through the guards: (column names, rows as dicts of stripped strings)."""
    path = Path(path)
    text = read_text(path, limit=MAX_CSV_BYTES, encoding="utf-8-sig")
    records = _csv_records(io.StringIO(text, newline=""), path)
    columns = next(records)
    return columns, [row for _, row in records]


@contextlib.contextmanager
def open_csv_rows(path: Path) -> Iterator[tuple[list[str], Iterator[tuple[int, dict[str, str]]]]]:
    """Stream a CSV file through the guards: ``with open_csv_rows(p) as (columns, rows): for line, row in rows: ...``.

    Memory stays flat with the number of rows; a decoding error names the file and the line.
    """
    path = Path(path)
    with _open_regular(path, MAX_CSV_BYTES) as (fd, _), os.fdopen(os.dup(fd), "rb") as raw:
        records = _csv_records(_decoded_lines(raw, path), path)
        columns = next(records)
        yield columns, records  # type: ignore[misc]


def _decoded_lines(raw, path: Path) -> Iterator[str]:
    """UTF-8 lines of a binary file (a leading byte-order mark dropped), decoding errors named with the line."""
    number = 0
    try:
        for number, data in enumerate(raw, start=1):
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _error(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} on line {number} cannot be decoded "
                                   "(save the file as UTF-8)") from None
    except OSError as exc:
        raise _error(path, f"cannot read file: {_reason(exc)}") from None


# ---------------------------------------------------------------------------------------------
# The way out


_CAUGHT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While a temporary file exists, SIGTERM and SIGHUP raise SystemExit so that clean-up runs."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    try:
        for sig in _CAUGHT_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals cannot be caught here
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def atomic_write(path: Path, text: str | bytes, *, force: bool = False) -> None:
    """Write ``text`` (UTF-8; bytes as they are) to ``path`` so that readers see the old file or the new one, never a part.

    Refuses an existing target that is not a regular file (device, folder, FIFO, symbolic link).
    Without ``force`` an existing file is never replaced, even one created while we write.
    With ``force`` the replaced file's permission bits are kept; new files get 0666 less the umask.
    Every ``OSError`` becomes ``ProfileError(path, 'cannot write: <reason>')``.
    """
    path = Path(path)
    old = ensure_writable(path, force=force)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    tmp: Path | None = None
    with _signals_raise():
        try:
            fd, tmp = _temporary_beside(path)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if old is not None:
                    os.fchmod(fd, stat.S_IMODE(old.st_mode))
                os.fsync(fd)
            finally:
                os.close(fd)
            if old is not None:
                os.replace(tmp, path)
                tmp = None
            else:
                _publish_exclusively(tmp, path)
        except FileExistsError:
            raise _error(path, "file exists (it appeared while writing); pass --force to overwrite it") from None
        except OSError as exc:
            raise _error(path, f"cannot write: {_reason(exc)}") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def ensure_writable(path: Path, *, force: bool = False) -> os.stat_result | None:
    """Check, before any work, that :func:`atomic_write` may write ``path``; return the existing file's stat or None.

    Raises ProfileError for an existing file without ``force``, an existing target that is not a regular file,
    a missing folder or a name the system refuses (too long, NUL byte).
    """
    path = Path(path)
    try:
        old = os.lstat(path)
    except FileNotFoundError:
        old = None
    except (OSError, ValueError) as exc:
        raise _error(path, f"cannot write: {_reason(exc) if isinstance(exc, OSError) else exc}") from None
    if old is not None:
        if not stat.S_ISREG(old.st_mode):
            raise _error(path, f"cannot write: it is {_file_kind(old.st_mode)}; refusing to replace it with a file")
        if not force:
            raise _error(path, "file exists; pass --force to overwrite it")
        return old
    try:
        parent = os.stat(path.parent)
    except FileNotFoundError:
        raise _error(path, f"cannot write: folder {short_path(path.parent)} does not exist") from None
    except (OSError, ValueError) as exc:
        raise _error(path, f"cannot write: {_reason(exc) if isinstance(exc, OSError) else exc}") from None
    if not stat.S_ISDIR(parent.st_mode):
        raise _error(path, f"cannot write: {short_path(path.parent)} is not a folder")
    return None


def _temporary_beside(path: Path) -> tuple[int, Path]:
    """Create ``.NAME.XXXXXXXX.tmp`` next to ``path`` (mode 0666 less the umask, like any new file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name[:200]}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free temporary file name")


def _publish_exclusively(tmp: Path, path: Path) -> None:
    """Give ``tmp``'s content the name ``path`` only if no such file exists (FileExistsError otherwise)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # A file system without hard links: reserve the name exclusively, then replace the reservation.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666))
        os.replace(tmp, path)
