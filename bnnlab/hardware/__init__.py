"""Emulated hardware, independent of the training code: the per-layer binary-gradient problems of
QP-SBGD (:mod:`bnnlab.hardware.qubo`) and their solvers (:mod:`bnnlab.hardware.annealing`)."""
