"""What every command needs: the configuration root, one district's settings, the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import config_root, load_settings
from connector.config.model import Settings
from connector.persistence.db import is_current, make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district


@dataclass
class CliContext:
    config_dir: Path
    district_key: str | None
    database_url: str | None = None
    _settings: dict[str, Settings] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        key = self.district_key or ""
        if key not in self._settings:
            self._settings[key] = load_settings(self.config_dir, self.district_key)
        return self._settings[key]

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    @cached_property
    def factory(self) -> sessionmaker[Session]:
        if not is_current(self.engine):
            upgrade(self.engine)
        return make_session_factory(self.engine)

    def close(self) -> None:
        """Release database connections (the engine exists only if a command used it)."""
        engine = self.__dict__.get("engine")
        if engine is not None:
            engine.dispose()

    def district_id(self) -> int:
        return ensure_district(self.factory, self.settings.district)

    def session(self) -> Session:
        return tenant_session(self.factory, self.district_id())


pass_context = click.make_pass_decorator(CliContext)


def make_context(config_dir: str | None, district: str | None,
                 database_url: str | None) -> CliContext:
    return CliContext(config_root(config_dir), district, database_url)

