"""Per-model recipe specs and the small models and data that ship with speechq."""

from speechq.zoo.specs import RECIPES, ZOO_DIR, RecipeSpec, get_recipe

__all__ = ["RECIPES", "RecipeSpec", "ZOO_DIR", "get_recipe"]
