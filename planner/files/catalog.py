"""The catalog of profile files: discovery in the folders it is given, lookup with suggestions, parsing once.
Layout of a profile folder (built-in, ``PLANNER_PROFILES`` or ``--profiles DIR``)::

    DIR/hardware/<id>.yaml   DIR/models/<id>.yaml   DIR/laws/<id>.yaml   DIR/engines/<id>.yaml

The file name is the profile id. Search order: ``--profiles DIR``, then each folder in
``PLANNER_PROFILES`` (``os.pathsep``-separated; the CLI reads both and passes them in), then the
bundled set; the first file found for an id wins, so a user file overrides a built-in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from planner.domain import BandTable, Engine, HardwareProfile, ModelProfile
from planner.errors import ProfileError, UnknownNameError, suggest
from planner.files.bands import parse_bands
from planner.files.checker import ProfileErrors
from planner.files.disk import is_file, is_folder, read_yaml
from planner.files.engines import parse_engine
from planner.files.hardware import parse_hardware
from planner.files.laws import parse_law
from planner.files.models import parse_model
from planner.files.quantization import parse_penalty

KINDS = {"hardware": "hardware", "model": "models", "law": "laws", "quantization": "quantization", "engine": "engines",
         "bands": "calibration"}
PARSERS: dict[str, Callable[[dict, Path], Any]] = {
    "hardware": parse_hardware, "model": parse_model, "law": parse_law, "quantization": parse_penalty,
    "engine": parse_engine, "bands": parse_bands,
}


# Locations


def bundled_dir() -> Path:
    """The built-in profiles: ``planner/_profiles`` in a wheel, ``<repo>/profiles`` in a checkout."""
    here = Path(__file__).resolve().parent.parent  # the planner package
    packaged = here / "_profiles"
    return packaged if is_folder(packaged) else here.parent / "profiles"


def search_dirs(user_dirs: Sequence[tuple[str | Path, str]] = ()) -> list[Path]:
    """Profile folders in lookup order: the user's (each with where it came from, for messages), then the bundled set."""
    dirs: list[Path] = []
    for raw, origin in user_dirs:
        try:
            path = Path(raw).expanduser()
        except RuntimeError as exc:  # '~nouser': no such user's home
            raise ProfileError(raw, None, f"profile folder cannot be found (from {origin}): {exc}") from None
        if not is_folder(path):
            raise ProfileError(path, None, f"profile folder does not exist (from {origin})")
        dirs.append(path)
    dirs.append(bundled_dir())
    return dirs


@dataclass(frozen=True, slots=True)
class ProfileFile:
    kind: str
    id: str
    path: Path
    builtin: bool
    overrides: Path | None  # the built-in (or lower-priority) file this one hides


class Catalog:
    """Lazy index of profile files; profiles are parsed on first use."""

    def __init__(self, user_dirs: Sequence[tuple[str | Path, str]] = ()):
        """``user_dirs``: (folder, where it came from) pairs, highest priority first; the bundled set comes last."""
        self.dirs = search_dirs(user_dirs)
        self._bundled = bundled_dir().resolve()
        self._files: dict[str, dict[str, ProfileFile]] = {}
        self._cache: dict[tuple[str, str], Any] = {}

    def files(self, kind: str) -> dict[str, ProfileFile]:
        if kind not in self._files:
            found: dict[str, ProfileFile] = {}
            for directory in self.dirs:
                sub = directory / KINDS[kind]
                if not is_folder(sub):
                    continue
                for path in sorted(sub.glob("*.y*ml")):
                    stem = path.stem
                    builtin = directory.resolve() == self._bundled
                    if stem in found:
                        prev = found[stem]
                        if prev.overrides is None and prev.path != path:
                            found[stem] = ProfileFile(kind, stem, prev.path, prev.builtin, path)
                        continue
                    found[stem] = ProfileFile(kind, stem, path, builtin, None)
            self._files[kind] = dict(sorted(found.items()))
        return self._files[kind]

    def names(self, kind: str) -> list[str]:
        return list(self.files(kind))

    def file(self, kind: str, name: str) -> ProfileFile:
        files = self.files(kind)
        key = name.strip()
        if key not in files:
            lowered = {k.lower(): k for k in files}
            if key.lower() in lowered:
                key = lowered[key.lower()]
            else:
                raise UnknownNameError(kind, name, files)
        return files[key]

    def get(self, kind: str, name: str, parse: Callable[[dict, Path], Any]) -> Any:
        """Parse (once) and return profile ``name`` of ``kind`` with ``parse(data, path)``."""
        entry = self.file(kind, name)
        cache_key = (kind, entry.id)
        if cache_key not in self._cache:
            data = read_yaml(entry.path)
            self._cache[cache_key] = parse(data, entry.path)
        return self._cache[cache_key]

    def hardware(self, name: str) -> HardwareProfile:
        return self.get("hardware", name, parse_hardware)

    def model(self, name: str) -> ModelProfile:
        return self.get("model", name, parse_model)

    def engine(self, name: str) -> Engine:
        return self.get("engine", name, parse_engine)

    def bands(self, name: str = "bands") -> BandTable:
        """Calibration bands (``calibration/bands.yaml``; a user file of that name overrides the built-in one)."""
        return self.get("bands", name, parse_bands)

    def law(self, name: str) -> tuple[Any, str]:
        """A law by id (built-in or user) or from a YAML file (e.g. written by `planner fit`), and where it came from."""
        path = Path(name)
        if path.suffix in (".yaml", ".yml") or is_file(path):
            if not is_file(path):
                raise ProfileError(path, None, "law file does not exist")
            return parse_law(read_yaml(path), path, check_id=False), str(path)
        return self.get("law", name, parse_law), self.describe_source("law", name)

    def raw(self, kind: str, name: str) -> dict:
        return read_yaml(self.file(kind, name).path)

    def describe_source(self, kind: str, name: str) -> str:
        """'built-in' or the user file, and what it overrides: for reports."""
        entry = self.file(kind, name)
        if entry.builtin:
            return "built-in"
        text = str(entry.path)
        if entry.overrides is not None:
            text += " (overrides built-in)" if _is_under(entry.overrides, self._bundled) else f" (overrides {entry.overrides})"
        return text


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Reading and writing files

# ---------------------------------------------------------------------------------------------
# Validation of a whole folder


def validate_dir(directory: Path, parsers: Mapping[str, Callable[[dict, Path], Any]] | None = None) -> tuple[int, list[ProfileError]]:
    """Parse every profile under ``directory``; return (files checked, every problem found)."""
    parsers = dict(parsers or PARSERS)
    checked, problems = 0, []
    directory = Path(directory)
    if not is_folder(directory):
        raise ProfileError(directory, None, "profile folder does not exist")
    for kind, parse in parsers.items():
        sub = directory / KINDS[kind]
        for path in sorted(sub.glob("*.y*ml")) if is_folder(sub) else []:
            checked += 1
            try:
                parse(read_yaml(path), path)
            except ProfileErrors as exc:
                problems.extend(exc.problems)
            except ProfileError as exc:
                problems.append(exc)
    known = {KINDS[k] for k in parsers}
    for child in sorted(directory.iterdir()):
        if is_folder(child) and child.name not in set(KINDS.values()) and not child.name.startswith((".", "_")):
            hint = suggest(child.name, known)
            problems.append(ProfileError(child, None, "unknown profile folder" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected {', '.join(sorted(known))}")))
    return checked, problems

