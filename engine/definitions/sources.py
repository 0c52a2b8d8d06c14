"""Reading a package's files: a folder or a zip, YAML or JSON.

``read_package`` finds ``app.yaml`` (or ``.yml`` / ``.json``),
``forms/*.yaml|yml|json``, ``rules/*.yaml|yml|json``, ``flows/*.yaml|yml|json``,
``reports/*.yaml|yml|json``, ``dashboards/*.yaml|yml|json`` and the one-file parts ``menus.yaml`` and ``roles.yaml`` (``PART_NAMES``), and
parses each into plain data; ``print/*.html`` is read by ``print_templates``
through ``read_raw_files``. Other folders of the package (data ...)
are not read yet and do not disturb the reading.

YAML is read with YAML 1.2 scalars: only ``true``/``false`` are booleans (an
option keyed ``no`` stays the text ``no``), dates and times stay text (the
schema and the field types parse them), ``010`` is not octal and ``9:30`` is
not a number of minutes. A key given twice in one mapping is an error rather
than a silent overwrite.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, cast

import yaml

from engine.core.i18n import Label
from engine.definitions.issues import DefinitionIssue

MANIFEST_NAMES = ("app.yaml", "app.yml", "app.json")
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
# The parts of a package that are one file at its top, by kind.
PART_NAMES: dict[str, tuple[str, ...]] = {
    kind: tuple(kind + suffix for suffix in DEFINITION_SUFFIXES) for kind in ("menus", "roles")
}
_TOP_NAMES = frozenset(MANIFEST_NAMES).union(*PART_NAMES.values())
# The folders of a package that hold one definition per file.
LISTED_FOLDERS = ("forms", "rules", "flows", "reports", "dashboards")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_VALUES = 500_000


@dataclass(frozen=True)
class SourceFile:
    """A parsed definition file: its name in the package and its data."""

    name: str
    data: Any


@dataclass
class PackageFiles:
    """What ``read_package`` found: the manifest, the forms (by file name),
    the one-file parts by kind (``menus``, ``roles``) and the problems met
    while reading."""

    manifest: SourceFile | None
    forms: list[SourceFile]
    issues: list[DefinitionIssue]
    parts: dict[str, SourceFile] = field(default_factory=dict)
    rules: list[SourceFile] = field(default_factory=list)
    flows: list[SourceFile] = field(default_factory=list)
    reports: list[SourceFile] = field(default_factory=list)
    dashboards: list[SourceFile] = field(default_factory=list)


def read_package(path: str | Path) -> PackageFiles:
    """Read and parse the definition files of the package at ``path``."""
    texts = read_raw_files(path)
    if isinstance(texts, DefinitionIssue):
        return PackageFiles(None, [], [texts])
    return _parse_all(texts)


# A file's raw content, or the issue that kept it from being read.
RawFiles = dict[str, bytes | DefinitionIssue]


def read_raw_files(path: str | Path, wanted: Callable[[str], bool] | None = None) -> RawFiles | DefinitionIssue:
    """The unparsed files of the package at ``path`` (a folder or a zip) that
    ``wanted`` picks by their ``/``-separated name (by default the manifest
    and the forms); an issue when ``path`` is no package."""
    path = Path(path)
    wanted = wanted or _wanted
    if path.is_dir():
        return _folder_files(path, wanted)
    if path.is_file() and zipfile.is_zipfile(path):
        return _zip_files(path, wanted)
    message = Label(f"{path} 不是文件夹或 zip 文件", f"{path} is not a folder or a zip file")
    return DefinitionIssue(path.name or str(path), "", message)


def _wanted(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if any(part.startswith(".") or part == "__MACOSX" for part in parts):
        return False
    if len(parts) == 1:
        return parts[0] in _TOP_NAMES
    return len(parts) == 2 and parts[0] in LISTED_FOLDERS and parts[1].endswith(DEFINITION_SUFFIXES)


def _too_large(name: str) -> DefinitionIssue:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return DefinitionIssue(name, "", Label(f"文件超过 {limit} MB", f"the file is larger than {limit} MB"))


def _folder_files(root: Path, wanted: Callable[[str], bool]) -> RawFiles:
    found: RawFiles = {}
    for file in sorted(root.rglob("*")):
        name = file.relative_to(root).as_posix()
        if not file.is_file() or not wanted(name):
            continue
        found[name] = _too_large(name) if file.stat().st_size > MAX_FILE_BYTES else file.read_bytes()
    return found


def _zip_files(path: Path, wanted: Callable[[str], bool]) -> RawFiles:
    with zipfile.ZipFile(path) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        # A zip of the package folder holds one top folder; a zip of its
        # contents holds app.yaml at the top. Both are a package.
        prefix = ""
        names = [info.filename for info in infos]
        if not any(name in MANIFEST_NAMES for name in names):
            tops = {name.split("/", 1)[0] for name in names if "/" in name}
            tops.discard("__MACOSX")
            if len(tops) == 1:
                prefix = tops.pop() + "/"
        found: RawFiles = {}
        for info in sorted(infos, key=lambda i: i.filename):
            if not info.filename.startswith(prefix):
                continue
            name = info.filename[len(prefix):]
            if not wanted(name):
                continue
            found[name] = _too_large(name) if info.file_size > MAX_FILE_BYTES else archive.read(info)
        return found


def _parse_all(files: RawFiles) -> PackageFiles:
    issues: list[DefinitionIssue] = []
    parsed: dict[str, SourceFile] = {}
    for name, content in files.items():
        if isinstance(content, DefinitionIssue):
            issues.append(content)
            continue
        result = parse_text(name, content)
        if isinstance(result, DefinitionIssue):
            issues.append(result)
        else:
            parsed[name] = result
    manifests = [name for name in MANIFEST_NAMES if name in files]
    manifest = parsed.get(manifests[0]) if manifests else None
    if not manifests:
        issues.insert(0, DefinitionIssue(
            "app.yaml", "", Label("缺少应用清单 app.yaml", "the app manifest app.yaml is missing")
        ))
    for extra in manifests[1:]:
        issues.append(DefinitionIssue(extra, "", Label(
            f"应用清单只能有一个：已经有 {manifests[0]}",
            f"a package has one manifest: {manifests[0]} is already there",
        )))
    folders = {folder: [source for name, source in parsed.items() if name.startswith(folder + "/")]
               for folder in LISTED_FOLDERS}
    return PackageFiles(manifest, folders["forms"], issues, _parts(files, parsed, issues), folders["rules"],
                        folders["flows"], folders["reports"], folders["dashboards"])


def _parts(files: RawFiles, parsed: dict[str, SourceFile], issues: list[DefinitionIssue]) -> dict[str, SourceFile]:
    found: dict[str, SourceFile] = {}
    for kind, names in PART_NAMES.items():
        present = [name for name in names if name in files]
        for extra in present[1:]:
            issues.append(DefinitionIssue(extra, "", Label(
                f"{kind} 只能有一个文件：已经有 {present[0]}",
                f"a package has one {kind} file: {present[0]} is already there",
            )))
        if present and present[0] in parsed:
            found[kind] = parsed[present[0]]
    return found


def parse_text(name: str, content: bytes) -> SourceFile | DefinitionIssue:
    """Parse one file's bytes (UTF-8, YAML or JSON by its suffix)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return DefinitionIssue(name, "", Label(
            f"文件不是 UTF-8 编码（第 {exc.start} 个字节）",
            f"the file is not UTF-8 text (byte {exc.start})",
        ))
    if name.endswith(".json"):
        return _parse_json(name, text)
    return _parse_yaml(name, text)


def _parse_json(name: str, text: str) -> SourceFile | DefinitionIssue:
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        return DefinitionIssue(name, "", Label(
            f"JSON 无法解析：{exc.msg}（第 {exc.colno} 列）",
            f"not valid JSON: {exc.msg} (column {exc.colno})",
        ), line=exc.lineno)
    except _DuplicateKey as exc:
        return DefinitionIssue(name, "", exc.label)
    return _non_empty(name, data)


class _DuplicateKey(ValueError):
    def __init__(self, key: object, line: int | None = None) -> None:
        self.key = key
        self.line = line
        self.label = Label(f"键 '{key}' 出现了两次", f"the key '{key}' appears twice")
        super().__init__(self.label.en)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_yaml(name: str, text: str) -> SourceFile | DefinitionIssue:
    try:
        try:
            data = yaml.load(text, Loader=FastDefinitionLoader)  # a SafeLoader
        except yaml.YAMLError:
            # Read again to say what is wrong in the pure-Python parser's words.
            data = yaml.load(text, Loader=DefinitionLoader)  # a SafeLoader
    except _DuplicateKey as exc:
        return DefinitionIssue(name, "", exc.label, line=exc.line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "syntax error"
        line = mark.line + 1 if mark is not None else None
        column = f"（第 {mark.column + 1} 列）" if mark is not None else ""
        column_en = f" (column {mark.column + 1})" if mark is not None else ""
        return DefinitionIssue(name, "", Label(
            f"YAML 无法解析：{reason}{column}", f"not valid YAML: {reason}{column_en}"
        ), line=line)
    except yaml.YAMLError as exc:
        return DefinitionIssue(name, "", Label(f"YAML 无法解析：{exc}", f"not valid YAML: {exc}"))
    return _non_empty(name, data)


def _non_empty(name: str, data: Any) -> SourceFile | DefinitionIssue:
    if data is None:
        return DefinitionIssue(name, "", Label("文件是空的", "the file is empty"))
    if _expands_beyond(data, MAX_VALUES):
        # YAML aliases can make a small file mean billions of values.
        return DefinitionIssue(name, "", Label(
            f"文件展开后超过 {MAX_VALUES} 个值", f"the file expands to more than {MAX_VALUES} values"
        ))
    return SourceFile(name, data)


def _expands_beyond(data: Any, limit: int) -> bool:
    """True when walking ``data`` (aliases counted each time they are used) meets more than ``limit`` values."""
    stack = [data]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class _NoDuplicateKeys:
    """A mapping constructor that refuses a key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        loader = cast(yaml.SafeLoader, self)
        loader.flatten_mapping(node)
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return cast(dict[Hashable, Any], super().construct_mapping(node, deep=deep))  # type: ignore[misc]


class DefinitionLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """A safe YAML loader with YAML 1.2 scalars and no duplicate keys. Its
    messages say where a file is broken; ``FastDefinitionLoader`` reads the
    same files the same way, about ten times faster (libyaml's parser)."""


_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
             "tag:yaml.org,2002:timestamp"}
DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


# The same loader on libyaml's parser, when PyYAML was built with it.
FastDefinitionLoader: type[Any] = DefinitionLoader
if yaml.__with_libyaml__:
    class _FastDefinitionLoader(_NoDuplicateKeys, yaml.CSafeLoader):
        yaml_implicit_resolvers = DefinitionLoader.yaml_implicit_resolvers

    FastDefinitionLoader = _FastDefinitionLoader
