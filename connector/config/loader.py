"""Load and validate a district's YAML configuration.

Layout (one folder per district, so one deployment can serve several)::

    config/districts/<key>/district.yaml      scale, mastery policy, frameworks, letter
    config/districts/<key>/sources.yaml       sources and crosswalk files
    config/districts/<key>/destinations.yaml  destinations
    config/districts/<key>/jobs.yaml          jobs and their cron schedules

Every problem is reported with its file, key path and what is wrong, all at
once, so a district IT lead fixes the whole file in one pass.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

from connector.adapters.base import PathResolver
from connector.adapters.messages import flatten
from connector.adapters.registry import destination_class, source_class
from connector.config import preflight
from connector.config.model import (
    DestinationConfig,
    DistrictConfig,
    JobConfig,
    Settings,
    SourceConfig,
)
from connector.config.schemas import (
    DestinationSchema,
    DistrictFileSchema,
    JobSchema,
    SourceSchema,
    make_destination,
    make_source,
)
from connector.config.secrets import expand_references
from connector.domain.scale import ProficiencyScale
from connector.errors import ConfigurationError
from connector.mapping.crosswalk import CROSSWALK_COLUMNS, CrosswalkEntry, parse_crosswalk

FILES = ("district.yaml", "sources.yaml", "destinations.yaml", "jobs.yaml")


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key_path: str
    message: str
    #: error: a run would fail on it; warning: worth fixing, nothing configured needs it yet
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.key_path}" if self.key_path else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "key_path": self.key_path, "message": self.message,
                "severity": self.severity}


class InvalidConfiguration(ConfigurationError):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"configuration has {len(problems)} problem(s):\n{lines}")
        self.problems = problems


def _resolve(base: Path, value: str) -> Path:
    """A config path: environment references expanded, relative to the config's parent."""
    path = Path(expand_references(value))
    return path if path.is_absolute() else base / path


def config_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get("CONNECTOR_CONFIG_DIR", "config")).resolve()


def district_keys(root: Path) -> list[str]:
    base = root / "districts"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "district.yaml").is_file())


def pick_district(root: Path, key: str | None) -> str:
    """The requested district, or the only one configured."""
    keys = district_keys(root)
    if key:
        if key not in keys:
            raise ConfigurationError(f"no district {key!r} under {root / 'districts'}; "
                                     f"configured: {keys}")
        return key
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise ConfigurationError(f"no district configured under {root / 'districts'}")
    raise ConfigurationError(f"several districts are configured {keys}; pass --district")


def load_settings(root: Path, district: str | None = None) -> Settings:
    """Load and validate one district's configuration, or raise with every problem."""
    key = pick_district(root, district)
    folder = root / "districts" / key
    problems: list[ConfigProblem] = []
    raw = {name: _read_yaml(folder / name, problems, required=name == "district.yaml")
           for name in FILES}
    district_cfg = _load(DistrictFileSchema(), raw["district.yaml"], f"{key}/district.yaml",
                         problems)
    base_dir = root.parent
    sources = _load_adapters(raw["sources.yaml"], "sources", f"{key}/sources.yaml", problems,
                             scale=district_cfg.scale if isinstance(district_cfg, DistrictConfig)
                             else None, resolve_path=partial(_resolve, base_dir))
    destinations = _load_adapters(raw["destinations.yaml"], "destinations",
                                  f"{key}/destinations.yaml", problems)
    jobs = _load_jobs(raw["jobs.yaml"], f"{key}/jobs.yaml", problems)
    crosswalk = _load_crosswalks(raw["sources.yaml"], base_dir, f"{key}/sources.yaml", problems)

    if isinstance(district_cfg, DistrictConfig):
        if district_cfg.key != key:
            problems.append(ConfigProblem(f"{key}/district.yaml", "district.key",
                                          f"must match the folder name {key!r}"))
        _check_references(district_cfg, sources, destinations, jobs, key, problems)
    if problems:
        raise InvalidConfiguration(problems)
    assert isinstance(district_cfg, DistrictConfig)
    return Settings(
        district=district_cfg,
        sources=sources,
        destinations=destinations,
        jobs=jobs,
        crosswalk=tuple(crosswalk),
        base_dir=base_dir,
        version=_version(folder, raw["sources.yaml"], base_dir),
    )


def validate(root: Path, district: str | None = None) -> list[ConfigProblem]:
    """Every problem in one district's configuration, errors first (empty when all is well).

    Beyond the schemas, a configuration that loads is checked against this
    machine (:mod:`connector.config.preflight`): unset environment variables,
    missing or unreadable files and folders.
    """
    try:
        settings = load_settings(root, district)
    except InvalidConfiguration as exc:
        return exc.problems
    except ConfigurationError as exc:
        return [ConfigProblem(str(root), "", exc.message)]
    key = settings.district.key
    folder = root / "districts" / key
    raw = {name: _read_yaml(folder / name, [], required=False) for name in FILES}
    found = preflight.environment(raw, settings, key) + preflight.paths(settings, key)
    problems = [ConfigProblem(*finding) for finding in found]
    return sorted(problems, key=lambda p: p.severity != "error")


# ---- internals --------------------------------------------------------------------


def _read_yaml(path: Path, problems: list[ConfigProblem], *, required: bool) -> Any:
    label = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        if required:
            problems.append(ConfigProblem(label, "", "file is missing"))
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.append(ConfigProblem(label, "", f"not valid YAML: {exc}"))
        return {}
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(label, "", f"not UTF-8: {exc}"))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(ConfigProblem(label, "", "top level must be a mapping"))
        return {}
    return data


def _load(schema: Schema, data: Any, label: str, problems: list[ConfigProblem],
          prefix: str = "") -> Any:
    try:
        return schema.load(data)
    except ValidationError as exc:
        for path, message in flatten(exc.messages, prefix):
            problems.append(ConfigProblem(label, path, message))
        return None


def _entries(data: Any, section: str, label: str, problems: list[ConfigProblem]) -> list[Any]:
    entries = (data or {}).get(section, [])
    if not isinstance(entries, list):
        problems.append(ConfigProblem(label, section, "must be a list"))
        return []
    return entries


def _with_defaults(entry: Mapping[str, Any], scale: ProficiencyScale, resolve_path: PathResolver,
                   label: str, prefix: str,
                   problems: list[ConfigProblem]) -> Mapping[str, Any] | None:
    """A source entry with what its adapter supplies (a vendor profile's cut scores) filled in.

    None when the adapter could not supply them (an unknown profile): that one
    problem is reported, not the missing settings it would have filled in.
    """
    try:
        cls = source_class(str(entry.get("kind", "")))
    except ConfigurationError:
        return entry  # reported at .kind
    try:
        defaults = cls.config_defaults(entry, resolve_path, [lv.code for lv in scale.levels],
                                       scale.proficient_code)
    except ConfigurationError as exc:
        problems.append(ConfigProblem(label, prefix, exc.message))
        return None
    return _merged(defaults, entry)


def _merged(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, key by key in nested settings; lists are replaced whole.

    So a district that sets its own cut scores keeps what the adapter gives besides them
    (a profile's evidence type, Canvas's mastery words), and its own value wins wherever
    it sets one.
    """
    out = {**defaults, **given}
    for key, value in defaults.items():
        if isinstance(value, Mapping) and isinstance(given.get(key), Mapping):
            out[key] = _merged(value, given[key])
    return out


def _load_adapters(data: Any, section: str, label: str, problems: list[ConfigProblem],
                   scale: ProficiencyScale | None = None,
                   resolve_path: PathResolver = Path) -> dict[str, Any]:
    loaded: dict[str, SourceConfig | DestinationConfig] = {}
    seen: set[str] = set()
    is_source = section == "sources"
    # Without the district's scale, defaults a vendor profile gives (evidence, cut scores)
    # cannot be worked out: those fields are checked when present, not required.
    common_schema: Schema = (SourceSchema(partial=None if scale is not None else (
        "evidence", "score_conversion")) if is_source else DestinationSchema())
    for index, entry in enumerate(_entries(data, section, label, problems)):
        prefix = f"{section}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(ConfigProblem(label, prefix, "each entry must be a mapping of "
                                                         "settings (key, kind, ...)"))
            continue
        if is_source and scale is not None:
            with_defaults = _with_defaults(entry, scale, resolve_path, label, prefix, problems)
            if with_defaults is None:
                continue
            entry = with_defaults
        common = _load(common_schema, entry, label, problems, prefix)
        if common is None:
            continue
        try:
            cls = source_class(common["kind"]) if is_source else destination_class(common["kind"])
        except ConfigurationError as exc:
            problems.append(ConfigProblem(label, f"{prefix}.kind", exc.message))
            continue
        own = {k: v for k, v in entry.items() if k not in common_schema.fields}
        options = _load(cls.options_schema(), own, label, problems, prefix)
        if options is None:
            continue
        if common["key"] in seen:
            problems.append(ConfigProblem(label, f"{prefix}.key",
                                          f"key {common['key']!r} is used twice"))
            continue
        seen.add(common["key"])
        if is_source and scale is None:
            continue  # checked as far as it can be; the settings will not load anyway
        loaded[common["key"]] = (make_source if is_source else make_destination)(common, options)
    return loaded


def _load_jobs(data: Any, label: str, problems: list[ConfigProblem]) -> dict[str, JobConfig]:
    jobs: dict[str, JobConfig] = {}
    for index, entry in enumerate(_entries(data, "jobs", label, problems)):
        job = _load(JobSchema(), entry, label, problems, f"jobs[{index}]")
        if job is not None:
            if job.key in jobs:
                problems.append(ConfigProblem(label, f"jobs[{index}].key",
                                              f"key {job.key!r} is used twice"))
            jobs[job.key] = job
    return jobs


def _crosswalk_paths(data: Any) -> list[str]:
    paths = (data or {}).get("crosswalks", [])
    return [str(p) for p in paths] if isinstance(paths, list) else []


def _load_crosswalks(data: Any, base: Path, label: str,
                     problems: list[ConfigProblem]) -> list[CrosswalkEntry]:
    entries: list[CrosswalkEntry] = []
    for index, raw_path in enumerate(_crosswalk_paths(data)):
        path = Path(expand_references(raw_path))
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            problems.append(ConfigProblem(label, f"crosswalks[{index}]", f"file not found: {path}"))
            continue
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CROSSWALK_COLUMNS[:3] if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(ConfigProblem(path.name, "header",
                                              f"crosswalk needs columns {list(CROSSWALK_COLUMNS)}; "
                                              f"missing {missing}"))
                continue
            found, rejections = parse_crosswalk(reader, path.name)
        entries.extend(found)
        for rejection in rejections:
            problems.append(ConfigProblem(path.name, f"row {rejection.row}.{rejection.field}",
                                          rejection.reason))
    return entries


def _check_references(district: DistrictConfig, sources: Mapping[str, Any],
                      destinations: Mapping[str, Any], jobs: Mapping[str, JobConfig],
                      key: str, problems: list[ConfigProblem]) -> None:
    levels = {lv.code for lv in district.scale.levels}
    for source in sources.values():
        for cut in source.conversion.cuts:
            if cut.level_code not in levels:
                problems.append(ConfigProblem(
                    f"{key}/sources.yaml", f"{source.key}.score_conversion.cuts",
                    f"level {cut.level_code!r} is not on scale {district.scale.key!r} "
                    f"(levels {sorted(levels)})"))
        for text, code in source.conversion.text_levels.items():
            if code not in levels:
                problems.append(ConfigProblem(
                    f"{key}/sources.yaml", f"{source.key}.score_conversion.text_levels.{text}",
                    f"level {code!r} is not on scale {district.scale.key!r} "
                    f"(levels {sorted(levels)})"))
    for destination in destinations.values():
        for path, problem in destination_class(destination.kind).scale_problems(
                destination.options, district.scale):
            problems.append(ConfigProblem(f"{key}/destinations.yaml",
                                          f"{destination.key}.{path}", problem))
    frameworks = {f.key for f in district.frameworks}
    for job in jobs.values():
        for kind, known, names in (("sources", sources, job.sources),
                                   ("destinations", destinations, job.destinations),
                                   ("frameworks", frameworks, job.frameworks)):
            for name in names:
                if name not in known:
                    problems.append(ConfigProblem(
                        f"{key}/jobs.yaml", f"{job.key}.{kind}",
                        f"{name!r} is not configured; known: {sorted(known)}"))


def _version(folder: Path, sources: Any, base: Path) -> str:
    """Hash of every config file and crosswalk: each run records the version it ran with."""
    digest = hashlib.sha256()
    for name in FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    for raw_path in _crosswalk_paths(sources):
        path = Path(expand_references(raw_path))
        path = path if path.is_absolute() else base / path
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
