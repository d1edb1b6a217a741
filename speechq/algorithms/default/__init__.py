from speechq.algorithms.default.algorithm import DefaultQuantization

__all__ = ["DefaultQuantization"]
