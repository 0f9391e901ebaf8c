"""What every wire format shares, written once.

- `_json`: strict, size- and depth-bounded JSON loading; `fail` (returns a
  `DecodeError`; callers `raise` it), `guard`, `get_str`, `get_int`;
- `_usage`: `parse_usage` driven by a per-format `UsageFields` map;
- `_errors`: error envelopes of every route, one status -> class table,
  `decode_error`;
- `_cache`: the wire form of a cache marker, both ways;
- `_provenance`: who produced reasoning, for routes serving many families;
- `_reject`: the one builder of a refused request (rule, target, path, fix);
- `_sse`: bounded SSE framing (`SSEParser`), shared with the client;
- `_stream`: `BaseStreamAssembler`, the one streaming design (`feed`,
  `feed_chunk`, `finish`, `partial`, `finish_event`), and `parse_chunk`;
- `_facts`: per-turn facts the checks need (markers, images, blank), memoized;
- `_images`: image limits (R18) and the base64 size formula, once;
- `_check`: `check_request`, the format-neutral check every format runs
  before encoding (R6, R7, R8, R12, R14, R15, R16, R18), and `check_size`.

Formats import from the submodules; nothing here knows a format's name.
"""
