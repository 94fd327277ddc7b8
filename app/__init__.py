"""Clientele: a back office and JSON API for a shop's customers."""
