"""The Train page: controls (task, architecture, schedule, start) and views (progress, save)."""
