"""The conversation: an immutable graph of turns with named branch heads.

Every operation returns a new `Conversation` and leaves the old one untouched.
Nodes and children live in persistent hash-array-mapped tries
(`immutables.Map`), so an append costs O(log n) time and memory and versions
and branches share structure; nothing is ever copied whole.

The graph checks structure only: a system turn stands at a root; a tool turn
follows the assistant turn whose calls it answers (or another tool turn of the
same session), each call answered at most once; blocks sit in roles that can
carry them. Whether a role order suits one API is the target's check, at request
time, so fragments (a lone assistant message, say) still import.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs
import immutables

from convo._blocks import (
    Block,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._converter import CANONICAL
from convo._ids import TurnId, compute_turn_id
from convo._native import native
from convo._slots import slot_setters
from convo._structure import tool_session_start
from convo._turns import Turn, assistant, tool_results, user
from convo.errors import (
    RoleOrderError,
    ToolPairingError,
    UnknownBranchError,
    UnknownTurnError,
    UsageError,
)

__all__ = [
    "DEFAULT_BRANCH",
    "Conversation",
    "GraphBuilder",
    "Node",
    "check_turn",
    "not_a_turn",
]

DEFAULT_BRANCH = "main"

_ALLOWED_BLOCKS: dict[str, tuple[type, ...]] = {
    "system": (TextBlock,),
    "user": (TextBlock, ImageBlock),
    "assistant": (TextBlock, ReasoningBlock, ToolCallBlock, ImageBlock),
    "tool": (ToolResultBlock,),
}


@attrs.frozen(kw_only=True)
class Node:
    """A turn in its place: its id, its parent's id and its depth (root = 0)."""

    id: TurnId
    turn: Turn
    parent: TurnId | None
    depth: int


def _branch_name(name: str) -> str:
    if not name.strip() or len(name) > 200:
        raise UsageError(
            "A branch name must be a non-empty string of at most 200 characters",
            where="name",
            received=name,
            fix="Pass a short name such as 'main' or 'retry-1'.",
        )
    return name


@attrs.frozen(kw_only=True, eq=False)
class Conversation:
    """An immutable, branching conversation. Build one with `Conversation.new()`.

    Methods that change something (`append`, `fork`, `edit`, `regenerate`,
    `switch`, ...) return a new conversation.
    """

    nodes: immutables.Map[TurnId, Node] = attrs.field(
        factory=immutables.Map, repr=False
    )
    """Every turn of every branch, by id."""
    child_ids: immutables.Map[TurnId | None, tuple[TurnId, ...]] = attrs.field(
        factory=immutables.Map, repr=False
    )
    """Children of each turn (None: the roots), in the order they were added."""
    heads: immutables.Map[str, TurnId | None] = attrs.field(
        factory=lambda: immutables.Map({DEFAULT_BRANCH: None})
    )
    """Branch name to the id of its newest turn (None: an empty branch)."""
    active: str = DEFAULT_BRANCH
    """The branch that `append`, `path` and friends use by default."""

    # ----------------------------------------------------------------- building

    @classmethod
    def new(cls, *, branch: str = DEFAULT_BRANCH) -> Conversation:
        """An empty conversation with one empty branch."""
        return cls(heads=immutables.Map({_branch_name(branch): None}), active=branch)

    @classmethod
    def from_turns(
        cls, turns: Iterable[Turn], *, branch: str = DEFAULT_BRANCH
    ) -> Conversation:
        """A one-branch conversation holding `turns` in order (each append validated)."""
        conversation = cls.new(branch=branch)
        for turn in turns:
            conversation = conversation.append(turn)
        return conversation

    def append(self, turn: Turn, *, branch: str | None = None) -> Conversation:
        """Append `turn` at the head of `branch` (default: the active branch).

        Raises:
            RoleOrderError: the turn's role or a block cannot stand there.
            ToolPairingError: a tool result answers no open call.
        """
        name = self._branch(branch)
        parent = self.heads[name]
        node = _place(self.nodes, turn, parent)
        return self._with_node(node, head=name)

    def user(
        self, content: str | Block | Iterable[Block], *, branch: str | None = None
    ) -> Conversation:
        """Append a user turn from text or blocks."""
        return self.append(user(content), branch=branch)

    def assistant(
        self,
        content: str | Block | Iterable[Block],
        *,
        branch: str | None = None,
        **replay: Any,
    ) -> Conversation:
        """Append an assistant turn from text or blocks."""
        return self.append(assistant(content, **replay), branch=branch)

    def tool_results(
        self, *results: ToolResultBlock, branch: str | None = None
    ) -> Conversation:
        """Append a tool turn answering calls of the assistant turn before it."""
        return self.append(tool_results(*results), branch=branch)

    def fork(
        self, name: str, *, at: TurnId | None = None, switch: bool = True
    ) -> Conversation:
        """A new branch `name` whose head is the turn `at` (None: an empty branch).

        Raises:
            UsageError: a branch of that name exists already.
            UnknownTurnError: `at` is not a turn of this conversation.
        """
        _branch_name(name)
        if name in self.heads:
            raise UsageError(
                f"A branch named {name!r} exists already",
                where="name",
                fix="Pick another name, or switch() to it.",
            )
        if at is not None:
            self.node(at)
        heads = self.heads.set(name, at)
        return attrs.evolve(self, heads=heads, active=name if switch else self.active)

    def edit(self, turn_id: TurnId, turn: Turn, *, branch: str) -> Conversation:
        """Put `turn` beside `turn_id` (same parent) on a new, active branch."""
        parent = self.node(turn_id).parent
        forked = self.fork(branch, at=parent)
        return forked.append(turn)

    def regenerate(
        self, answer: Turn, *, branch: str, of: TurnId | None = None
    ) -> Conversation:
        """Add `answer` as a sibling of assistant turn `of` (default: the last one) on a new branch."""
        target = of if of is not None else self.last_assistant_id()
        if target is None:
            raise UnknownTurnError(
                "There is no assistant turn to regenerate",
                key="<last assistant turn>",
                where=f"branch {self.active!r}",
            )
        return self.edit(target, answer, branch=branch)

    def switch(self, branch: str) -> Conversation:
        """The same conversation with `branch` active."""
        return attrs.evolve(self, active=self._branch(branch))

    def delete_branch(self, name: str) -> Conversation:
        """Forget branch `name` (its turns stay in the graph, reachable by id)."""
        self._branch(name)
        if name == self.active:
            raise UsageError(
                f"Cannot delete the active branch {name!r}",
                where="name",
                fix="switch() to another branch first.",
            )
        return attrs.evolve(self, heads=self.heads.delete(name))

    # ----------------------------------------------------------------- reading

    def head(self, branch: str | None = None) -> TurnId | None:
        """The id of the newest turn of `branch` (None if it is empty)."""
        return self.heads[self._branch(branch)]

    def node(self, turn_id: TurnId) -> Node:
        """The node of `turn_id`.

        Raises:
            UnknownTurnError: no such turn here.
        """
        try:
            return self.nodes[turn_id]
        except KeyError:
            raise _unknown_turn(turn_id) from None

    def turn(self, turn_id: TurnId) -> Turn:
        """The turn named `turn_id`."""
        return self.node(turn_id).turn

    def ancestry(self, turn_id: TurnId | None) -> tuple[Node, ...]:
        """The nodes from a root down to `turn_id` inclusive."""
        out: list[Node] = []
        current = turn_id
        while current is not None:
            node = self.node(current)
            out.append(node)
            current = node.parent
        out.reverse()
        return tuple(out)

    def path(self, branch: str | None = None) -> tuple[Turn, ...]:
        """The turns of `branch`, root first: what a request sends."""
        return tuple(n.turn for n in self.ancestry(self.head(branch)))

    def path_ids(self, branch: str | None = None) -> tuple[TurnId, ...]:
        """The ids of `branch`'s turns, root first."""
        return tuple(n.id for n in self.ancestry(self.head(branch)))

    def children(self, turn_id: TurnId | None) -> tuple[TurnId, ...]:
        """Ids of the turns that follow `turn_id` (None: the roots), oldest first."""
        if turn_id is not None:
            self.node(turn_id)
        return self.child_ids.get(turn_id, ())

    def siblings(self, turn_id: TurnId) -> tuple[TurnId, ...]:
        """Ids of the other turns with the same parent, oldest first."""
        parent = self.node(turn_id).parent
        return tuple(i for i in self.child_ids.get(parent, ()) if i != turn_id)

    def leaves(self) -> tuple[TurnId, ...]:
        """Ids of the turns with no children, in depth-first order."""
        return tuple(n.id for n in self.walk() if not self.child_ids.get(n.id))

    def walk(self) -> Iterator[Node]:
        """Every node, depth first, children in the order they were added."""
        stack = list(reversed(self.child_ids.get(None, ())))
        while stack:
            node = self.nodes[stack.pop()]
            yield node
            stack.extend(reversed(self.child_ids.get(node.id, ())))

    def branches_at(self, turn_id: TurnId) -> tuple[str, ...]:
        """Names of the branches whose path runs through `turn_id`, sorted."""
        depth = self.node(turn_id).depth
        names = []
        for name, head in self.heads.items():
            if head is None:
                continue
            node = self.nodes[head]
            while node.depth > depth and node.parent is not None:
                node = self.nodes[node.parent]
            if node.id == turn_id:
                names.append(name)
        return tuple(sorted(names))

    def last_assistant_id(self, branch: str | None = None) -> TurnId | None:
        """Id of the newest assistant turn on `branch`, or None."""
        for node in reversed(self.ancestry(self.head(branch))):
            if node.turn.role == "assistant":
                return node.id
        return None

    def last_user_id(self, branch: str | None = None) -> TurnId | None:
        """Id of the newest genuine user turn on `branch`, or None."""
        for node in reversed(self.ancestry(self.head(branch))):
            if node.turn.is_genuine_user:
                return node.id
        return None

    def current_exchange(self, branch: str | None = None) -> tuple[Turn, ...]:
        """The turns from the last genuine user turn to the head."""
        turns = self.path(branch)
        last = self.last_user_id(branch)
        if last is None:
            return turns
        depth = self.node(last).depth
        return turns[depth:]

    def current_tool_session(self, branch: str | None = None) -> tuple[Turn, ...]:
        """The turns of the tool-use session in progress at the head, or ()."""
        turns = self.path(branch)
        start = tool_session_start(turns)
        return () if start is None else turns[start:]

    def __len__(self) -> int:
        return len(self.nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Conversation):
            return NotImplemented
        return (
            self.active == other.active
            and self.heads == other.heads
            and self.child_ids == other.child_ids
        )

    def __hash__(self) -> int:
        return hash((self.active, self.heads, self.child_ids))

    # ----------------------------------------------------------------- internals

    def _branch(self, branch: str | None) -> str:
        name = self.active if branch is None else branch
        if name not in self.heads:
            known = ", ".join(sorted(self.heads)) or "none"
            raise UnknownBranchError(
                f"No branch named {name!r}",
                key=name,
                fix=f"Known branches: {known}. Create one with fork(name, at=...).",
            )
        return name

    def attach(
        self, turn: Turn, *, parent: TurnId | None
    ) -> tuple[Conversation, TurnId]:
        """Add `turn` under `parent` without moving any head (for loaders and stores).

        The same structural checks as `append` apply. To add many turns at
        once, `builder()` does the same work without a new version per turn.
        """
        if parent is not None:
            self.node(parent)
        node = _place(self.nodes, turn, parent)
        nodes, child_ids = self.nodes, self.child_ids
        if node.id not in nodes:
            nodes = nodes.set(node.id, node)
            child_ids = child_ids.set(
                node.parent, (*child_ids.get(node.parent, ()), node.id)
            )
        return attrs.evolve(self, nodes=nodes, child_ids=child_ids), node.id

    def builder(self) -> GraphBuilder:
        """A builder that attaches many turns to this graph, then `finish()`es."""
        return GraphBuilder(self)

    def with_heads(
        self, heads: Mapping[str, TurnId | None], *, active: str
    ) -> Conversation:
        """The same graph with these branch heads (each must name a turn here)."""
        for name, head in heads.items():
            _branch_name(name)
            if head is not None:
                self.node(head)
        if active not in heads:
            raise UnknownBranchError(
                "The active branch must be one of the heads",
                key=active,
                received=active,
            )
        return attrs.evolve(self, heads=immutables.Map(heads), active=active)

    def _with_node(self, node: Node, *, head: str) -> Conversation:
        nodes = self.nodes
        child_ids = self.child_ids
        if node.id not in nodes:
            nodes = nodes.set(node.id, node)
            siblings = child_ids.get(node.parent, ())
            child_ids = child_ids.set(node.parent, (*siblings, node.id))
        return attrs.evolve(
            self, nodes=nodes, child_ids=child_ids, heads=self.heads.set(head, node.id)
        )


class GraphBuilder:
    """Attaches many turns to a graph with one mutation instead of a version per turn.

    Loaders (the store, canonical documents) attach thousands of turns in a
    row; each `Conversation.attach` would build and drop a version. The builder
    applies the same checks as `attach`, in the same order, and `finish()`
    returns the graph. It is a short-lived tool, not a value: after `finish()`
    it refuses further use.
    """

    __slots__ = ("_base", "_children", "_done", "_nodes")

    def __init__(self, base: Conversation) -> None:
        self._base = base
        self._nodes = base.nodes.mutate()
        self._children = base.child_ids.mutate()
        self._done = False

    def attach(self, turn: Turn, *, parent: TurnId | None) -> Node:
        """Add `turn` under `parent` (see `Conversation.attach`); return its node."""
        if self._done:
            self._check_open()  # raises
        node = _place(self._nodes, turn, parent)
        self._add(node)
        return node

    def adopt(self, node: Node) -> None:
        """Add a node that was placed, checked and id-verified under the same parent id.

        A turn id names the turn and, through its parent's id, every turn before
        it, so a node checked once stands as well in any graph where its parent
        id is present: only the parent's presence and the depth are checked
        again. Loaders use this for nodes they decoded before (`convo.store`).

        Raises:
            UnknownTurnError: the node's parent is not in the graph.
            UsageError: the node's depth does not follow its parent's.
        """
        self._check_open()
        parent = None if node.parent is None else self._nodes.get(node.parent)
        if node.parent is not None and parent is None:
            raise _unknown_turn(node.parent)
        if node.depth != (0 if parent is None else parent.depth + 1):
            raise UsageError(
                f"Node {node.id} has a depth that does not follow its parent's",
                where="node.depth",
                received=node.depth,
                fix="Pass the node as the graph it came from built it.",
            )
        self._add(node)

    def _add(self, node: Node) -> None:
        if node.id not in self._nodes:
            self._nodes[node.id] = node
            self._children[node.parent] = (
                *self._children.get(node.parent, ()),
                node.id,
            )

    def _check_open(self) -> None:
        if self._done:
            raise UsageError(
                "This GraphBuilder is finished",
                fix="Start another with conversation.builder().",
            )

    def __contains__(self, turn_id: object) -> bool:
        return turn_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def finish(self) -> Conversation:
        """The graph with every attached turn (heads unchanged)."""
        self._done = True
        return attrs.evolve(
            self._base, nodes=self._nodes.finish(), child_ids=self._children.finish()
        )


class _Nodes(Protocol):
    """What the structural checks read: a version's nodes or a builder's mutation."""

    def __getitem__(self, key: TurnId, /) -> Node: ...

    def get(self, key: TurnId, /) -> Node | None: ...


def _unknown_turn(turn_id: TurnId) -> UnknownTurnError:
    return UnknownTurnError(
        "No turn with this id in the conversation", key=turn_id, received=turn_id
    )


def not_a_turn(value: object) -> UsageError:
    """The error for appending something that is not a `Turn` (a PartialTurn, say)."""
    return UsageError(
        "Only a Turn can be appended",
        received=f"<{type(value).__name__}>",
        fix="A PartialTurn must be salvaged explicitly with .salvage() first.",
    )


def _place(nodes: _Nodes, turn: object, parent: TurnId | None) -> Node:
    """The node `turn` makes under `parent`, after the structural checks.

    Runs once per turn of every load: the error paths build their messages,
    the way through builds nothing but the node.
    """
    if not isinstance(turn, Turn):
        raise not_a_turn(turn)
    parent_node = None if parent is None else nodes.get(parent)
    if parent_node is None and parent is not None:
        raise _unknown_turn(parent)
    depth = 0 if parent_node is None else parent_node.depth + 1
    _check(turn, depth, after=None if parent_node is None else parent_node.turn.role)
    if turn.role == "tool":
        _check_results(nodes, turn, parent_node, depth)
    if _C_NODE is not None:
        built = _C_NODE(parent, turn, depth)
        if built is not None:
            return built
    return _node(compute_turn_id(parent, turn), turn, parent, depth)


_NODE_FIELDS = ("id", "turn", "parent", "depth")
_node_id, _node_turn, _node_parent, _node_depth = slot_setters(Node, _NODE_FIELDS)


def _c_node() -> Callable[[TurnId | None, Turn, int], Node | None] | None:
    """The C builder of `_node(compute_turn_id(...), ...)` (`convo/_graph_c.c`), or None.

    None where it was not built or is turned off (`convo._native`), was built
    for other fields, or when `Node`'s fields or `Turn`'s memo are not the
    slots it sets and reads.
    """
    graph_c = native("convo._graph_c")
    slots = tuple(Node.__dict__.get(name) for name in _NODE_FIELDS)
    memo = Turn.__dict__.get("_memo")
    if (
        graph_c is None
        or graph_c.FIELDS != _NODE_FIELDS  # a build for another Node
        or tuple(a.name for a in attrs.fields(Node)) != _NODE_FIELDS
        or not all(isinstance(s, types.MemberDescriptorType) for s in (*slots, memo))
    ):
        return None
    graph_c.configure(Node, slots, memo, CANONICAL.name, hashlib.blake2b)
    built: Callable[[TurnId | None, Turn, int], Node | None] = graph_c.node
    return built


_C_NODE = _c_node()
"""A node and its id in one call (the load's hot path), or None: then `_node` and `compute_turn_id`."""


def _node(turn_id: TurnId, turn: Turn, parent: TurnId | None, depth: int) -> Node:
    """A `Node` of checked parts, set slot by slot (its `__init__` checks nothing more)."""
    node = object.__new__(Node)
    _node_id(node, turn_id)
    _node_turn(node, turn)
    _node_parent(node, parent)
    _node_depth(node, depth)
    return node


def check_turn(turn: Turn, *, where: str, after: str | None) -> None:
    """The structural checks that need nothing but the turn and its parent's role.

    Blocks must suit the role, a system turn must be a root (`after` is None),
    an assistant turn's tool call ids must be distinct. A tool turn also needs
    the calls it answers, which only the graph has (`_check_results`). `where`
    is the turn's path in error messages.
    """
    _check(turn, where, after=after)


def _check(turn: Turn, where: str | int, *, after: str | None) -> None:
    """`check_turn`, `where` a path or the depth of `$.turns[depth]`."""
    role = turn.role
    allowed = _ALLOWED_BLOCKS[role]
    for block in turn.blocks:
        if not isinstance(block, allowed):
            _check_blocks(turn, _path(where))  # raises, naming the block
    if not turn.blocks and role != "assistant":
        _check_blocks(turn, _path(where))  # raises
    if role == "system" and after is not None:
        raise RoleOrderError(
            "A system turn can only be the first turn of a conversation",
            path=_path(where),
            turn_id=None,
            received=f"after {_a(after)} turn",
            fix="Start a new branch with fork(name, at=None) to change the system "
            "prompt, or send instructions as a user turn.",
        )
    if role == "assistant" and _calls(turn) > 1:
        ids = [c.id for c in turn.tool_calls]
        if len(ids) != len(set(ids)):
            raise ToolPairingError(
                "Two tool calls of one turn share an id",
                path=_path(where),
                turn_id=None,
                received=ids,
            )


def _path(where: str | int) -> str:
    return where if isinstance(where, str) else f"$.turns[{where}]"


def _calls(turn: Turn) -> int:
    """How many tool calls `turn` makes (counted, not collected: runs per turn)."""
    count = 0
    for block in turn.blocks:
        if isinstance(block, ToolCallBlock):
            count += 1
    return count


def _check_results(
    nodes: _Nodes, turn: Turn, parent: Node | None, where: str | int
) -> None:
    """Each result of tool turn `turn` answers a distinct, unanswered call of the turn before.

    Walks back over the tool turns already answering (counting their results)
    to the assistant turn that made the calls. `where` as for `_check`.
    """
    answered: set[str] = set()
    current = parent
    while current is not None and current.turn.role == "tool":
        for block in current.turn.blocks:
            if isinstance(block, ToolResultBlock):
                answered.add(block.call_id)
        current = None if current.parent is None else nodes[current.parent]
    calls = (
        {block.id for block in current.turn.blocks if isinstance(block, ToolCallBlock)}
        if current is not None and current.turn.role == "assistant"
        else None
    )
    if not calls:
        raise ToolPairingError(
            "A tool turn must follow the assistant turn whose tool calls it answers",
            path=_path(where),
            turn_id=None,
            received="after "
            + ("nothing" if parent is None else f"{_a(parent.turn.role)} turn"),
            fix="Append tool results right after the assistant turn that made the calls.",
        )
    for i, block in enumerate(turn.blocks):
        if not isinstance(block, ToolResultBlock):
            continue  # (none: `_check` ran first)
        call_id = block.call_id
        if call_id not in calls:
            raise ToolPairingError(
                f"Tool result answers call {call_id!r}, which the assistant "
                "turn before it did not make",
                path=f"{_path(where)}.blocks[{i}]",
                turn_id=None,
                received=sorted(calls),
                fix="Use the id of one of that turn's tool calls.",
            )
        if call_id in answered:
            raise ToolPairingError(
                f"Tool call {call_id!r} has a result already",
                path=f"{_path(where)}.blocks[{i}]",
                turn_id=None,
                fix="Each tool call gets exactly one result (rule R10).",
            )
        answered.add(call_id)


def _a(role: str) -> str:
    """`role` with its indefinite article: "a user", "an assistant"."""
    return f"an {role}" if role == "assistant" else f"a {role}"


def _check_blocks(turn: Turn, where: str) -> None:
    """Raise for the first block that does not suit the turn's role, or for no block."""
    allowed = _ALLOWED_BLOCKS[turn.role]
    for i, block in enumerate(turn.blocks):
        if not isinstance(block, allowed):
            kinds = ", ".join(sorted({c.__name__ for c in allowed}))
            raise RoleOrderError(
                f"{_a(turn.role).capitalize()} turn cannot carry a {type(block).__name__}",
                path=f"{where}.blocks[{i}]",
                turn_id=None,
                fix=f"{_a(turn.role).capitalize()} turn takes {kinds}.",
            )
    if not turn.blocks and turn.role != "assistant":
        raise RoleOrderError(
            f"{_a(turn.role).capitalize()} turn needs at least one block",
            path=where,
            turn_id=None,
        )


def branch_heads(conversation: Conversation) -> Mapping[str, TurnId | None]:
    """The branch heads as a plain mapping, sorted by name."""
    return dict(sorted(conversation.heads.items()))
