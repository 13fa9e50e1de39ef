"""``@record``: a frozen, slotted dataclass with a cheaper ``__init__``.

The ``__init__`` that ``dataclass(frozen=True)`` generates looks up ``object.__setattr__`` for
every field on every construction; on the core's hot path (two commands per routing decision)
that lookup is a third of the routing step. This decorator keeps the frozen, slotted dataclass
(equality, repr, immutability, ``fields()``) and only swaps in an ``__init__`` that calls each
slot's descriptor directly, bound once when the class is made (~0.44 us for a four-field
command here, against ~0.77 us through ``object.__setattr__``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, slotted dataclass whose constructor is cheap."""
    made: Any = dataclasses.dataclass(frozen=True, slots=True)(cls)
    fields = dataclasses.fields(made)
    namespace: dict[str, Any] = {}
    params = []
    setters = []
    for field in fields:
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: default_factory is not supported")
        if field.default is dataclasses.MISSING:
            params.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            params.append(f"{field.name}=_default_{field.name}")
        # The slot's own descriptor: what object.__setattr__ would end up calling, minus
        # the lookup by name (it bypasses the frozen __setattr__ just the same).
        namespace[f"_set_{field.name}"] = made.__dict__[field.name].__set__
        setters.append(f"_set_{field.name}=_set_{field.name}")
    body = "".join(f"    _set_{f.name}(self, {f.name})\n" for f in fields) or "    pass\n"
    signature = ", ".join(["self", *params, *(["*", *setters] if setters else [])])
    source = f"def __init__({signature}):\n{body}"
    exec(source, namespace)  # the same technique dataclasses itself uses
    init = namespace["__init__"]
    init.__qualname__ = f"{made.__qualname__}.__init__"
    made.__init__ = init
    result: type[T] = made
    return result
