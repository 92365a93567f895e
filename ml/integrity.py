"""What a model is allowed to be: the exact pickle and preprocessing code that training logged.

A model folder (an MLflow model, or an ml.export) holds ``model.pkl`` and ``code/ml``, the
preprocessing modules the pickle refers to (``ml.text``, ``ml.features``). ``ml.train`` records
the pickle's sha256 and the code's digest as registry tags; every consumer verifies both before
anything is unpickled or imported, then loads the pickle against *that* code, under a private
module name, never against whatever ``ml`` the consumer happens to ship.

The files are read once: the bytes that were hashed are the bytes that get unpickled and
executed, so nothing can change between the check and the load.

Standard library only: the backend image imports this without MLflow or pandas.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import io
import pickle
import pickletools
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ml.contract import CODE_PACKAGE, MODEL_FILE
from ml.errors import PipelineError

PACKAGE = "ml"
_STRING_OPS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


class IntegrityError(PipelineError):
    """A model's files differ from what was recorded, or cannot be checked; nothing was loaded."""

    exit_code = 3


@dataclass(frozen=True)
class Expected:
    """A recorded digest and where it was read from (named in every refusal)."""

    value: str
    source: str


@dataclass(frozen=True)
class VerifiedModel:
    """A model folder's verified content, held in memory: load these bytes, not the files."""

    folder: Path
    pickle_bytes: bytes
    model_sha256: str
    code: dict[str, bytes]  # path relative to code/ml -> content
    code_sha256: str
    model_source: str
    code_source: str

    @property
    def code_files(self) -> dict[str, str]:
        return file_manifest(self.code)


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def file_manifest(files: Mapping[str, bytes]) -> dict[str, str]:
    """Each file's sha256, by path."""
    return {name: sha256_bytes(files[name]) for name in sorted(files)}


def code_digest(files: Mapping[str, bytes]) -> str:
    """One digest for a code folder: sha256 of its ``sha256sum``-style manifest, sorted by path.

    ``cd code/ml && find . -name '*.py' | sort | xargs sha256sum`` lists the same lines (paths
    there start with ``./``; here they do not).
    """
    lines = "".join(f"{digest}  {name}\n" for name, digest in file_manifest(files).items())
    return sha256_bytes(lines.encode())


def read_code(package_dir: Path) -> dict[str, bytes]:
    """Every ``.py`` file under a code folder, by relative path; caches are not code."""
    if not package_dir.is_dir():
        raise IntegrityError(f"no preprocessing code at {package_dir}: cannot verify the model")
    files: dict[str, bytes] = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if "__pycache__" in relative.parts:
            continue
        if path.is_symlink():
            raise IntegrityError(f"{path} is a symbolic link; a model's code must be plain files")
        if path.is_file():
            if path.suffix != ".py":
                raise IntegrityError(f"{path} is not a Python source file; refusing the model code")
            files[relative.as_posix()] = path.read_bytes()
    if "__init__.py" not in files:
        raise IntegrityError(f"{package_dir} has no __init__.py: not the model's code package")
    return files


def _differences(expected: Mapping[str, str], actual: Mapping[str, str]) -> str:
    changed = [
        name for name in sorted(set(expected) & set(actual)) if expected[name] != actual[name]
    ]
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (
            ("changed", changed),
            ("missing", sorted(set(expected) - set(actual))),
            ("added", sorted(set(actual) - set(expected))),
        )
        if names
    ]
    return "; ".join(parts)


def verify_folder(
    folder: Path,
    model: Expected,
    code: Expected,
    code_files: Mapping[str, str] | None = None,
) -> VerifiedModel:
    """Read ``model.pkl`` and ``code/ml`` once and check both digests; refuse with both values.

    ``code_files`` (the recorded per-file manifest, when known) only sharpens the message: it
    names which file changed. The decision rests on the digests alone.
    """
    pickle_path = folder / MODEL_FILE
    try:
        pickle_bytes = pickle_path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"no {MODEL_FILE} in {folder}") from None
    actual_model = sha256_bytes(pickle_bytes)
    if actual_model != model.value:
        raise IntegrityError(
            f"{pickle_path} has sha256 {actual_model}, but {model.source} is {model.value}: "
            "refusing to unpickle it"
        )
    package_dir = folder / CODE_PACKAGE
    code_bytes = read_code(package_dir)
    actual_code = code_digest(code_bytes)
    if actual_code != code.value:
        detail = _differences(code_files, file_manifest(code_bytes)) if code_files else ""
        raise IntegrityError(
            f"{package_dir} has code digest {actual_code}, but {code.source} is {code.value}"
            + (f" ({detail})" if detail else "")
            + ": refusing to load the model with code it was not trained with"
        )
    return VerifiedModel(
        folder=folder,
        pickle_bytes=pickle_bytes,
        model_sha256=actual_model,
        code=code_bytes,
        code_sha256=actual_code,
        model_source=model.source,
        code_source=code.source,
    )


def check_agrees(what: str, recorded: Expected, required: Expected | None) -> Expected:
    """The digest to check against: ``required`` (a deployment's) must equal the one recorded."""
    if required is None:
        return recorded
    if recorded.value != required.value:
        raise IntegrityError(
            f"{what}: {recorded.source} is {recorded.value}, but {required.source} is "
            f"{required.value}: this is not the model the deployment expects"
        )
    return Expected(required.value, f"{required.source} (= {recorded.source})")


# --- what the pickle refers to -------------------------------------------------------------------


def pickled_globals(payload: bytes) -> set[tuple[str, str]]:
    """Every (module, name) a pickle imports when loaded, read from its opcodes without loading.

    ``pickle.dumps`` writes a global as two strings (possibly memoised and fetched again) and
    ``STACK_GLOBAL``, or as one ``GLOBAL`` opcode with "module name".
    """
    found: set[tuple[str, str]] = set()
    recent: list[Any] = []
    memo: dict[int, Any] = {}
    for opcode, argument, _ in pickletools.genops(payload):
        name = opcode.name
        if name in _STRING_OPS:
            recent.append(argument)
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in _PUT_OPS:
            memo[argument] = recent[-1] if recent else None
        elif name in _GET_OPS:
            recent.append(memo.get(argument))
        elif name == "STACK_GLOBAL":
            module, attribute = recent[-2:] if len(recent) >= 2 else (None, None)
            if isinstance(module, str) and isinstance(attribute, str):
                found.add((module, attribute))
            recent.append(None)
        elif name == "GLOBAL":
            module, _, attribute = str(argument).partition(" ")
            found.add((module, attribute))
            recent.append(None)
        else:
            recent.append(None)
        del recent[:-2]
    return found


def _is_package_module(module: str) -> bool:
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _module_file(package_dir: Path, module: str) -> Path:
    parts = module.split(".")[1:]
    path = package_dir.joinpath(*parts) if parts else package_dir
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _relative_imports(source: Path, module: str) -> set[str]:
    """Modules of the package that ``source`` imports; absolute ``ml`` imports are refused."""
    tree = ast.parse(source.read_bytes(), filename=str(source))
    is_package = source.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    needed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute = [alias.name for alias in node.names if _is_package_module(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute = [node.module] if node.module and _is_package_module(node.module) else []
        elif isinstance(node, ast.ImportFrom):
            anchor = base[: len(base) - (node.level - 1)]
            target = ".".join(anchor + ([node.module] if node.module else []))
            needed.add(target)
            needed.update(f"{target}.{alias.name}" for alias in node.names)
            continue
        else:
            continue
        if absolute:
            raise IntegrityError(
                f"{source} imports {absolute[0]} absolutely; the model's code must import its "
                "siblings relatively (from .x import y) so a served model uses its trained copy"
            )
    return needed


def stage_code(pipeline_pickle: bytes, package_dir: Path, destination: Path) -> Path:
    """Copy the package modules a pickle needs (and their relative imports) to ``destination/ml``.

    Only the preprocessing code goes beside the model, so that a change to, say, the gate does
    not make every served model's code differ from the one it was trained with.
    """
    wanted = {
        module for module, _ in pickled_globals(pipeline_pickle) if _is_package_module(module)
    }
    wanted.add(PACKAGE)
    copied: set[str] = set()
    target_dir = destination / PACKAGE
    while wanted - copied:
        module = min(wanted - copied)
        copied.add(module)
        source = _module_file(package_dir, module)
        if not source.is_file():
            continue  # "from . import x" names x, which may be a function rather than a module
        target = target_dir / source.relative_to(package_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        wanted.update(_relative_imports(source, module))
    return target_dir


# --- loading against the trained code ------------------------------------------------------------


class _TrainedCode(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one verified code package, from memory, under a private top-level name."""

    def __init__(self, alias: str, files: Mapping[str, bytes], origin: Path) -> None:
        self.alias = alias
        self.files = dict(files)
        self.origin = origin

    def _path_of(self, fullname: str) -> tuple[str, bool] | None:
        parts = fullname.split(".")[1:]
        stem = "/".join(parts)
        package = f"{stem}/__init__.py" if stem else "__init__.py"
        if package in self.files:
            return package, True
        if stem and f"{stem}.py" in self.files:
            return f"{stem}.py", False
        return None

    def find_spec(
        self,
        fullname: str,
        path: Any = None,  # noqa: ANN401 - the import system's signature
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.alias and not fullname.startswith(self.alias + "."):
            return None
        found = self._path_of(fullname)
        if found is None:
            return None
        relative, is_package = found
        spec = importlib.machinery.ModuleSpec(
            fullname, self, origin=str(self.origin / relative), is_package=is_package
        )
        spec.has_location = True
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        found = self._path_of(module.__name__)
        if found is None:  # pragma: no cover - find_spec answered for it
            raise ImportError(module.__name__)
        relative, _ = found
        code = compile(self.files[relative], str(self.origin / relative), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - the verified trained code, the point of this loader


def import_trained_code(verified: VerifiedModel) -> str:
    """Make the verified code importable under a name of its own; returns that name.

    The name carries the digest, so two models trained with different code never share
    modules, and loading the same code twice reuses them.
    """
    alias = f"_rp_model_code_{verified.code_sha256[:16]}"
    if not any(isinstance(f, _TrainedCode) and f.alias == alias for f in sys.meta_path):
        sys.meta_path.insert(0, _TrainedCode(alias, verified.code, verified.folder / CODE_PACKAGE))
    importlib.import_module(alias)
    return alias


class _TrainedCodeUnpickler(pickle.Unpickler):
    def __init__(self, payload: bytes, alias: str, available: set[str]) -> None:
        super().__init__(io.BytesIO(payload))
        self.alias = alias
        self.available = available

    def find_class(self, module: str, name: str) -> Any:  # noqa: ANN401 - any pickled global
        if _is_package_module(module):
            if module not in self.available:
                raise IntegrityError(
                    f"the pickle refers to {module}.{name}, which is not in the model's "
                    "preprocessing code (code/ml); refusing to take it from elsewhere"
                )
            module = self.alias + module[len(PACKAGE) :]
            importlib.import_module(module)
        return super().find_class(module, name)


def _available_modules(files: Mapping[str, bytes]) -> set[str]:
    modules = set()
    for relative in files:
        parts = relative.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.add(".".join([PACKAGE, *parts]))
    return modules


def unpickle(verified: VerifiedModel) -> Any:  # noqa: ANN401 - a fitted pipeline
    """Unpickle the verified bytes, resolving every ``ml.*`` global in the verified code."""
    alias = import_trained_code(verified)
    unpickler = _TrainedCodeUnpickler(
        verified.pickle_bytes, alias, _available_modules(verified.code)
    )
    return unpickler.load()
