"""Dummy-data generator for trmon-tui, static and live, written through the store's writer."""
