"""Reading `data/`: YAML files parsed with the line number of every record and field.

Parsing is pure: `load_data(path)` returns the raw records with their locations and the problems
found while reading (bad YAML, wrong shape). Checking the records is `kb.validate`'s job.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .doi import InvalidDOI, normalize_doi

try:  # libyaml is about ten times faster; both give node line numbers
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located for a person to fix.

    `lost` is set on the problem that stopped a whole file from being read: the ids (or DOIs) the
    file seems to define, so a missing reference to one of them is known to follow from it. `cause`
    is set on such a consequence: the file that could not be read.
    """

    path: str
    line: int | None
    field: str | None
    message: str
    lost: frozenset[str] | None = None
    cause: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        return f"{text} (because {self.cause} could not be read)" if self.cause else text


class Located(dict):
    """A YAML mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, line: int):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


_PLAIN_TAGS: dict[str, str] = {}  # plain scalar -> resolved tag; depends on the text only


class _Loader(_BaseLoader):
    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        """The standard tag resolution, memoised for short plain scalars (ids, numbers, enums)."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG  # quoted: always text
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 40 and len(_PLAIN_TAGS) < 100_000:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, *args: Any) -> None:  # no path resolvers are registered
        pass

    def ascend_resolver(self) -> None:
        pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    result = Located()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text here: `2026-13-01` must become a located validation error, not a crash while loading.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


_STR, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"
_SCALARS = {
    "tag:yaml.org,2002:null": lambda loader, node: None,
    "tag:yaml.org,2002:bool": _BaseLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": _BaseLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": _BaseLoader.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": lambda loader, node: node.value,  # text, as above
}


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    """Build Python values from libyaml's node tree directly.

    Gives what `_Loader`'s constructors give (`Located` mappings with key lines, dates as text), in
    about half the time: PyYAML's generic `construct_object` bookkeeping is skipped for the plain
    scalars, lists and mappings data/ is made of. Anything else goes through the registered
    constructors.
    """
    cls = node.__class__
    if cls is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        make = _SCALARS.get(node.tag)
        return make(loader, node) if make else loader.construct_object(node, deep=True)
    if cls is yaml.SequenceNode and node.tag == "tag:yaml.org,2002:seq":
        return [_construct(loader, item) for item in node.value]
    if cls is yaml.MappingNode and node.tag == "tag:yaml.org,2002:map":
        if any(k.tag == _MERGE for k, _ in node.value):
            loader.flatten_mapping(node)
        result = Located()
        result.line = node.start_mark.line + 1
        lines: dict[str, int] = {}
        result.key_lines = lines
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            try:
                seen = key in result
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found unhashable key", key_node.start_mark,
                ) from None  # fmt: skip
            if seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            result[key] = _construct(loader, value_node)
            lines[str(key)] = key_node.start_mark.line + 1
        return result
    return loader.construct_object(node, deep=True)


def _load(text: str | bytes) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _construct(loader, node)
    finally:
        loader.dispose()


# Where an anchor (`&name`) or an alias (`*name`) could start a node; only then are events read.
_ALIAS_HINT_RE = re.compile(r"(?:^|[\s\[{,])[&*][^\s,\[\]{}]")
ALIAS_MESSAGE = (
    "YAML anchors and aliases (&name, *name) are not allowed in curated data: write the value out"
)


def _alias_line(text: str | bytes) -> int | None:
    """The line of the first anchor or alias in text, None when there is none.

    Curated data needs neither, and aliases nested in aliases expand without bound (a few
    hundred bytes can ask for gigabytes: "billion laughs"), so they are refused before any value
    is built. A YAML error is left to the parse that follows, which reports it with its line.
    """
    probe = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if ("&" not in probe and "*" not in probe) or not _ALIAS_HINT_RE.search(probe):
        return None  # the `in` tests are 1000 times faster than the search, which is rarely needed
    try:
        for event in yaml.parse(probe, Loader=_BaseLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return event.start_mark.line + 1
    except yaml.YAMLError:
        return None
    return None


def parse_yaml(text: str | bytes, path: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; on a syntax error return (None, [problem with its line])."""
    if (line := _alias_line(text)) is not None:
        return None, [Problem(path, line, None, ALIAS_MESSAGE)]
    try:
        return _load(text), []
    except RecursionError:
        return None, [Problem(path, None, None, "YAML error: a structure that contains itself")]
    except _DuplicateKey as exc:
        return None, [Problem(path, exc.line, exc.key, "duplicate key")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(x for x in (exc.context, exc.problem) if x)
        return None, [Problem(path, line, None, f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(path, None, None, f"YAML error: {exc}")]


@dataclass
class RawData:
    """What `data/` holds, before validation. Each record is a `Located` dict with `_file` set."""

    sources: list[Located] = field(default_factory=list)
    questions: list[Located] = field(default_factory=list)
    claims: list[Located] = field(default_factory=list)
    articles: list[Located] = field(default_factory=list)
    faq: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def file_bytes(path: Path) -> bytes:
    """A file's content for hashing; a file that cannot be read hashes as its error (reported later)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return f"\0unreadable: {exc.strerror or exc}".encode()


def _read(path: Path, rel: str) -> tuple[str | None, str | None, list[Problem]]:
    """(text, the text as far as it can be read, problems): a file that is not there, not a file or
    not UTF-8 is a problem; the second text (bad bytes replaced) is kept for `_defined`."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        return None, None, [Problem(rel, None, None, f"cannot be read: {exc.strerror or exc}")]
    try:
        text = content.decode("utf-8")
        return text, text, []
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        message = (
            f"not UTF-8 text (byte 0x{content[exc.start]:02x} at offset {exc.start}): "
            "save the file as UTF-8"
        )
        return None, content.decode("utf-8", "replace"), [Problem(rel, line, None, message)]


# What a file that cannot be parsed seems to define, found line by line in its text.
_KEY_RES = {
    "claim": re.compile(r"^[ \t]*(?:-[ \t]+)?id:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)[\"']?[ \t]*(?:#.*)?$", re.M),
    "question": re.compile(r"^[ \t]*(?:-[ \t]+)?id:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)[\"']?[ \t]*(?:#.*)?$", re.M),
    "article": re.compile(r"^id:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)[\"']?[ \t]*(?:#.*)?$", re.M),
    "source": re.compile(r"^[ \t]*(?:-[ \t]+)?doi:[ \t]*[\"']?([^\s\"'#]+)[\"']?[ \t]*(?:#.*)?$", re.M),
}  # fmt: skip


def _defined(text: str | None, kind: str) -> frozenset[str]:
    """The claim ids, article ids or source DOIs an unparseable file's text appears to define."""
    pattern = _KEY_RES.get(kind)
    if text is None or pattern is None:
        return frozenset()
    keys = set()
    for match in pattern.finditer(text):
        key = match.group(1)
        if kind == "source":
            try:
                key = normalize_doi(key)
            except InvalidDOI:
                continue
        keys.add(key)
    return frozenset(keys)


def _whole_file_lost(errs: list[Problem], text: str | None, kind: str) -> list[Problem]:
    """Mark the problems that stopped a file from being read with what its text seems to define."""
    lost = _defined(text, kind)
    return [replace(p, lost=lost) for p in errs]


def _read_list(
    path: Path, rel: str, kind: str, out: list[Located], problems: list[Problem]
) -> None:
    text, lossy, errs = _read(path, rel)
    doc = None
    if text is not None:
        doc, errs = parse_yaml(text, rel)
    if not errs and doc is not None and not isinstance(doc, list):
        errs = [Problem(rel, 1, None, f"expected a list of {kind} records at the top level")]
    if errs:
        problems.extend(_whole_file_lost(errs, lossy, kind))
        return
    if doc is None:
        return
    for i, item in enumerate(doc):
        if not isinstance(item, Located):
            problems.append(Problem(rel, None, None, f"{kind} item {i + 1} is not a mapping"))
            continue
        item["_file"] = rel
        out.append(item)


# The curated files at the top of data/ that each hold one list of records.
LIST_FILES = ("sources", "questions", "faq")


def _yml_files(folder: Path) -> list[Path]:
    """The `*.yml` entries of a folder that are not folders (an unreadable one is reported later)."""
    return sorted(p for p in folder.glob("*.yml") if not p.is_dir())


def misnamed_files(data_dir: Path) -> list[Problem]:
    """Curated files that would be silently skipped: `.yaml` (or `.YML`) where `.yml` is read."""
    data_dir = Path(data_dir)
    candidates = [p for p in data_dir.glob("*") if p.stem in LIST_FILES]
    for folder in ("claims", "articles"):
        if (data_dir / folder).is_dir():
            candidates += (data_dir / folder).iterdir()
    return [
        Problem(str(p.relative_to(data_dir.parent)), None, None,
                f"not read: use the .yml extension ({p.stem}.yml)")
        for p in sorted(candidates)
        if p.suffix.lower() in (".yml", ".yaml") and p.suffix != ".yml" and not p.is_dir()
    ]  # fmt: skip


def data_files(data_dir: Path) -> list[Path]:
    """Every curated YAML file, in a stable order."""
    files = [data_dir / f"{name}.yml" for name in LIST_FILES]
    files += _yml_files(data_dir / "claims")
    files += _yml_files(data_dir / "articles")
    return [f for f in files if f.exists()]


def data_fingerprint(data_dir: Path) -> str:
    """A hash of every file under data/ (curated and fetched): equal hashes, equal builds."""
    digest = hashlib.sha256()
    for path in sorted(p for p in data_dir.rglob("*") if not p.is_dir()):
        digest.update(str(path.relative_to(data_dir)).encode())
        digest.update(b"\0")
        digest.update(file_bytes(path))
        digest.update(b"\0")
    return digest.hexdigest()


def load_data(data_dir: Path) -> RawData:
    data_dir = Path(data_dir)
    raw = RawData()
    if not data_dir.is_dir():
        raw.problems.append(Problem(str(data_dir), None, None, "data folder not found"))
        return raw

    def rel(p: Path) -> str:
        return str(p.relative_to(data_dir.parent)) if data_dir.parent != p else str(p)

    sources = data_dir / "sources.yml"
    if sources.exists() or sources.is_symlink():  # a broken link is reported as unreadable
        _read_list(sources, rel(sources), "source", raw.sources, raw.problems)
    else:
        raw.problems.append(
            Problem(rel(sources), None, None, "missing: every KB needs sources.yml")
        )
    questions = data_dir / "questions.yml"
    if questions.exists() or questions.is_symlink():
        _read_list(questions, rel(questions), "question", raw.questions, raw.problems)
    for path in _yml_files(data_dir / "claims"):
        _read_list(path, rel(path), "claim", raw.claims, raw.problems)
    faq = data_dir / "faq.yml"
    if faq.exists() or faq.is_symlink():
        _read_list(faq, rel(faq), "faq", raw.faq, raw.problems)
    for path in _yml_files(data_dir / "articles"):
        read_article(path, rel(path), raw.articles, raw.problems)
    raw.problems += misnamed_files(data_dir)
    return raw


def read_records(path: Path, rel: str, kind: str) -> tuple[list[Located], list[Problem]]:
    """One file holding a list of records (sources, claims, FAQ): the records and the problems."""
    records: list[Located] = []
    problems: list[Problem] = []
    _read_list(path, rel, kind, records, problems)
    return records, problems


def read_article(path: Path, rel: str, out: list[Located], problems: list[Problem]) -> None:
    text, lossy, errs = _read(path, rel)
    doc = None
    if text is not None:
        doc, errs = parse_yaml(text, rel)
    if not errs and not isinstance(doc, Located):
        errs = [Problem(rel, 1, None, "expected one article mapping")]
    if errs:
        problems.extend(_whole_file_lost(errs, lossy, "article"))
        return
    doc["_file"] = rel
    out.append(doc)
