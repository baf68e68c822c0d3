"""Headless data layer of trmon-tui: HDF5 schema, writer, tail reader, statistics (numpy)."""
