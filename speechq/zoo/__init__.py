"""Per-model recipe specs and the small models and data that ship with speechq."""

from speechq.zoo.ctc import CTCInterface, ctc_recipe, find_ctc_interface
from speechq.zoo.specs import RECIPES, TRANSFORMER_QUANTIZATION_DEFAULTS, ZOO_DIR, RecipeSpec, get_recipe

__all__ = ["RECIPES", "TRANSFORMER_QUANTIZATION_DEFAULTS", "CTCInterface", "RecipeSpec", "ZOO_DIR", "ctc_recipe", "find_ctc_interface", "get_recipe"]
