"""Wire formats: `convo.wire.canonical`, `convo.wire.chat`, `convo.wire.anthropic`.

`wire_for(target)` is the seam: the format a target speaks (see `WireFormat`).
"""

from convo.wire._format import (
    Assembler,
    AssemblerFactory,
    WireFormat,
    register_wire,
    registered_wires,
    wire_for,
)

__all__ = [
    "Assembler",
    "AssemblerFactory",
    "WireFormat",
    "register_wire",
    "registered_wires",
    "wire_for",
]
