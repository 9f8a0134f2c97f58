"""The Attention explorer page: controls (input, inspection, pickers) and views (one per tab)."""
