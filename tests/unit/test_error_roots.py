"""One error tree per package (STYLE.md point 8): every exception a package defines derives from
that package's single root in ``<package>/errors.py``, and from nothing of another package.

A builtin second base is fine where callers rely on it (``ivr.errors.InvalidTime`` is also a
``ValueError``); an exception crossing a layer is mapped at the boundary instead of inheriting a
lower package's root.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOTS = {
    "acd": "AcdError",
    "ivr": "IvrError",
    "session": "SessionError",
    "config": "ConfigError",
    "storage": "StorageError",
    "engine": "EngineError",
    "dialplan": "DialplanError",
    "ari_app": "AriError",
    "web": "WebError",
    "runtime": "RuntimeSetupError",
    "helpline": "HelplineError",
    "softphone": "SoftphoneError",
    "chat": "ChatError",
    "reports": "ReportError",
}
"""Package -> the name of its one root in ``<package>.errors``."""

RAISES_NOTHING_OF_ITS_OWN = {"live", "security"}
"""Packages with no errors.py: they must define no exception class at all."""

ALLOWED: set[str] = set()
"""``module.Class`` names exempt from the rule, each with a comment saying why. Keep it empty."""

SKIPPED_PREFIXES = ("storage.migrations.",)
"""Alembic's scripts: ``env.py`` runs only inside alembic (it needs ``alembic.context``)."""

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _modules(package: str) -> list[ModuleType]:
    top = importlib.import_module(package)
    names = [m.name for m in pkgutil.walk_packages(top.__path__, package + ".")]
    return [top] + [importlib.import_module(n) for n in names if not n.startswith(SKIPPED_PREFIXES)]


def _exceptions(package: str) -> list[type[BaseException]]:
    """Every exception class defined (not merely imported) in one of the package's modules."""
    found: dict[str, type[BaseException]] = {}
    for module in _modules(package):
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [cls for name, cls in sorted(found.items()) if name not in ALLOWED]


def _package(cls: type) -> str:
    return cls.__module__.split(".")[0]


def test_every_layered_package_is_covered() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["root_packages"]
    assert set(declared) == set(ROOTS) | RAISES_NOTHING_OF_ITS_OWN


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_the_root_lives_in_errors_and_stands_on_builtins_only(package: str) -> None:
    root = getattr(importlib.import_module(f"{package}.errors"), ROOTS[package])
    assert root.__module__ == f"{package}.errors"
    assert all(base.__module__ == builtins.__name__ for base in root.__bases__), root.__bases__


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_exception_of_a_package_derives_from_its_root(package: str) -> None:
    root = getattr(importlib.import_module(f"{package}.errors"), ROOTS[package])
    exceptions = _exceptions(package)
    assert root in exceptions
    stray = [f"{c.__module__}.{c.__qualname__}" for c in exceptions if not issubclass(c, root)]
    assert stray == [], f"not under {package}.errors.{root.__name__}"
    foreign = {
        f"{c.__module__}.{c.__qualname__}": f"{base.__module__}.{base.__qualname__}"
        for c in exceptions
        for base in c.__mro__
        if base.__module__ != builtins.__name__ and _package(base) != package
    }
    assert foreign == {}, "derives from another package's error: map it at the boundary"


@pytest.mark.parametrize("package", sorted(RAISES_NOTHING_OF_ITS_OWN))
def test_a_package_without_errors_module_defines_no_exceptions(package: str) -> None:
    assert _exceptions(package) == []


def test_a_stopped_engine_is_a_503_at_the_web_boundary() -> None:
    from engine.errors import EngineStopped
    from web.errors import map_exception

    response = map_exception(EngineStopped("journal failed (ConnectionError); stopping"))
    assert response is not None
    assert response.status == 503
