"""Derivations and exact solvers (no training code): angle alignment and distribution limits."""
