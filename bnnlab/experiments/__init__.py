"""Runs, sweeps and their tidy records (one row per run x epoch)."""

from bnnlab.experiments.records import RunRecorder, read_records, run_id, write_csv

__all__ = ["RunRecorder", "read_records", "run_id", "write_csv"]
