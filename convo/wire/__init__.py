"""Wire formats: `convo.wire.canonical`, `convo.wire.chat`, `convo.wire.anthropic`."""
