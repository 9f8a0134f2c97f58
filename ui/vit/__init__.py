"""The ViT patch attention page: controls (image source, inspection, pickers) and views."""
