"""NodeResourcesFit and NodeResourcesBalancedAllocation, with the scoring strategies."""

from .balanced_allocation import BalancedAllocation
from .fit import Fit

__all__ = ["BalancedAllocation", "Fit"]
