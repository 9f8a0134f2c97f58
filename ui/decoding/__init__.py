"""The Masked decoding page: controls (input, settings, trace, stepping) and views."""
