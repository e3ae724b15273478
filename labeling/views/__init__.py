"""Pages beyond the player and the gallery (labeling.pages): library intelligence."""
