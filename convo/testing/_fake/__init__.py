"""The fake Databricks serving endpoint's parts; the public names live in `convo.testing.fake`."""
