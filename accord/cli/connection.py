"""The Temporal connection options, declared once for every command that talks to Temporal.

A command takes a ``conn: Connection`` parameter and is decorated with :func:`connected`;
its users still type ``--address``/``--namespace`` after the command, where they always have
(``accord status acme --address temporal:7233``), and ``--help`` lists the two options where
the ``conn`` parameter stands. Unset, they come from ACCORD_TEMPORAL_ADDRESS /
ACCORD_TEMPORAL_NAMESPACE and default to the local server `accord up` runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from accord.cli.output import out, run
from accord.config import Settings

if TYPE_CHECKING:
    from accord.client import Accord
    from accord.models import UpdateResult

T = TypeVar("T")

Address = Annotated[str | None, typer.Option("--address", help="Temporal host:port [env ACCORD_TEMPORAL_ADDRESS]")]
Namespace = Annotated[str | None, typer.Option("--namespace", help="Temporal namespace [env ACCORD_TEMPORAL_NAMESPACE]")]


@dataclass(frozen=True)
class Connection:
    """Where a command's Temporal is: the options as typed (None: from the environment)."""

    address: str | None = None
    namespace: str | None = None

    @cached_property
    def settings(self) -> Settings:
        """Accord's settings with the options applied (read once per command)."""
        overrides: dict[str, Any] = {}
        if self.address:
            overrides["temporal_address"] = self.address
        if self.namespace:
            overrides["temporal_namespace"] = self.namespace
        return Settings(**overrides)

    def call(self, fn: Callable[[Accord], Awaitable[T]]) -> T:
        """Connect and call ``fn`` with the client; an error people meet is one line and exit 1."""
        settings = self.settings

        async def go() -> T:
            from accord.client import Accord

            return await fn(await Accord.connect(settings))

        return run(go)

    def act(self, action: Callable[[Accord], Awaitable[UpdateResult]], *, markup: bool = True) -> None:
        """Send one action (an update) and print the workflow's answer."""
        out.print(self.call(action).message, markup=markup)


FROM_ENVIRONMENT = Connection()


def connected(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the --address/--namespace options in place of its ``conn`` parameter.

    Typer reads a command's parameters from its signature: the wrapper shows the two options
    where ``conn`` stands (so --help lists them in the same place) and calls ``command`` with
    the Connection they make.
    """
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "conn":
            parameters += [inspect.Parameter(name, parameter.kind, default=None, annotation=annotation)
                           for name, annotation in (("address", Address), ("namespace", Namespace))]
        else:
            parameters.append(parameter)
    if len(parameters) == len(signature.parameters):
        raise TypeError(f"{command.__name__} has no conn parameter")

    @functools.wraps(command)
    def wrapper(*args: Any, address: str | None = None, namespace: str | None = None, **kwargs: Any) -> None:
        command(*args, conn=Connection(address, namespace), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]  # read by inspect.signature
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return wrapper


def workflow_id(ident: str) -> str:
    """A partnership's workflow id from what people type: the workflow id or the definition id."""
    from accord.client import workflow_id_for

    return ident if ident.startswith("partnership-") else workflow_id_for(ident)
