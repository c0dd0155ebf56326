"""bnnlab: theory, analysis and simulated-hardware training of binary neural networks.

The public surface is small; subpackages are imported on demand::

    import bnnlab.entropy, bnnlab.theory.angle, bnnlab.bits, bnnlab.data
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
