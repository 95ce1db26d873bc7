"""Registries of the building blocks a strategy is made of, one module per kind.

The generic :class:`~strategy_search.components.registry.Registry` lives in its own module;
:mod:`strategy_search.slots` ties each registry to the strategy slot it fills.
"""
