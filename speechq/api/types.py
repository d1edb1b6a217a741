"""Small value types shared by the leaves (data, decoding, metrics) and the engines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from numpy.typing import NDArray

__all__ = ["SpeechAnnotation", "ModelInput", "Sample"]

ModelInput = Union[NDArray[Any], Mapping[str, NDArray[Any]]]
"""What a DataLoader item carries to the model: one array, or input name -> array."""


@dataclass(frozen=True)
class SpeechAnnotation:
    """The reference of one utterance.

    Attributes:
        utterance_id: corpus id, e.g. ``"1089-134691-0000"``.
        text: reference transcript as found in the corpus (not normalised), or ``None`` when unlabelled.
    """

    utterance_id: str
    text: str | None


@dataclass(frozen=True)
class Sample:
    """One data set item as samplers hand it to engines.

    Attributes:
        index: position of the item in its DataLoader (POT's sample id).
        data: the model input (array or input name -> array).
        annotation: whatever the loader returned as annotation (``SpeechAnnotation`` for speechq loaders).
        metadata: optional per-item dictionary (for example a valid length), ``{}`` when the loader gave none.
    """

    index: int
    data: ModelInput
    annotation: Any
    metadata: Mapping[str, Any]
