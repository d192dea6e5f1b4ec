"""Reusable perception and update blocks shared by the families."""
