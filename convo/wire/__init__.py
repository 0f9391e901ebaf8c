"""Wire formats: `convo.wire.canonical`, `convo.wire.chat`, `convo.wire.anthropic`.

`wire_for(target)` is the seam: the format a target speaks (see `WireFormat`).
Nothing outside `convo.wire` branches on a format's name; adding a format is
one package with the skeleton below plus one `register_wire` entry.

Every format package (`convo.wire.<name>/`) has the same modules, each with
one role (a module a format does not need is absent, never a stub):

- `__init__.py`: the public operations, exactly the `WireFormat` protocol
  (`NAME`, `endpoint_suffix`, `encode_request`, `encode_request_bytes`,
  `validate_request`, `decode_response`, `StreamAssembler`,
  `import_messages`, `decode_error`) plus the format's own extras;
- `_route.py`: `NAME` (the `Target.wire` value) and `endpoint_suffix`, the
  URL path a target's requests go to;
- `_targets.py`: targets this format derives or registers for its routes;
- `_encode.py`: `encode_request` / `encode_request_bytes`, a request view
  to a payload; `_encode_<part>.py` are its helpers (`_encode_fields`:
  top-level fields from params and tools; `_encode_blocks`: blocks to
  content parts; `_encode_fast`: canonical bytes without building dicts);
  `_encode_fields.emitted_fields` names the top-level fields a request would
  carry, for the shared R16 check;
- `_validate.py`: the checks of this format's shape only, each refusal
  naming its rule; the rules about targets, parameters and blocks are
  checked once for every format by `_shared._check.check_request` before
  encoding (docs/provider-rules.md, `convo.rules`);
- `_decode.py`: `decode_response`, a response body to a `Turn`;
- `_stream.py`: `StreamAssembler`, SSE bytes or parsed events in, stream
  events out, `finish()` for the `Turn` (a stream that did not finish raises
  `StreamInterruptedError` whose `.partial` is the `PartialTurn`);
  `_stream_<part>.py` are its helpers (`_stream_fold`: the pure fold);
- `_import.py`: `import_messages`, a history written in this format to turns;
- `_errors.py`: `decode_error`, an error response to a typed `APIStatusError`;
- `_sdk.py`: the split of a payload into an official SDK's keyword arguments.

What formats share lives once in `convo.wire._shared` (strict bounded JSON
loading, usage parsing, error envelopes and the status -> class table, cache
markers, the refusal builder, SSE framing and the `BaseStreamAssembler`,
per-turn facts, image limits and the format-neutral request check); a format
module never re-implements it.
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
