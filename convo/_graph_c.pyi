"""Type stub of the node builder in C (`_graph_c.c`); see `convo._graph`."""

from typing import Any

from convo._graph import Node
from convo._turns import Turn

FIELDS: tuple[str, ...]
"""Node's fields, in the order `configure` takes their slot descriptors."""

def node(parent: str | None, turn: Turn, depth: int, /) -> Node | None:
    """The node `convo._graph` builds for `turn` under `parent`, or None."""

def configure(
    node: type[Node], slots: tuple[Any, ...], memo: Any, canonical: str, blake2b: Any, /
) -> None:
    """Hand over the Node class, its slots, the memo slot and the hash (see the C source)."""
