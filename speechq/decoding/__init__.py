"""CTC decoding: vocabularies, greedy (whole-utterance, batch, streaming) and beam search with KenLM.

Pure leaves: numpy, pyctcdecode and kenlm only; nothing here imports engines, algorithms or OpenVINO.
"""

from speechq.decoding.beam import (
    DEFAULT_BEAM_WIDTH,
    BeamSearch,
    BeamSearchParams,
    beam_decode,
    beam_decode_many,
    build_beam_decoder,
    labels_in_case_of,
    pyctcdecode_labels,
    read_arpa_unigrams,
)
from speechq.decoding.decoder import (
    LAYOUTS,
    VALID_LENGTH_KEY,
    BeamSearchCTCDecoder,
    CTCDecoder,
    GreedyCTCDecoder,
    decoder_for,
    select_logits,
    to_batch_major,
    valid_lengths_from_metadata,
)
from speechq.decoding.greedy import (
    StreamingGreedyDecoder,
    TokenIds,
    collapse_ctc_path,
    greedy_decode,
    greedy_decode_batch,
    greedy_decode_batch_ids,
    greedy_decode_ids,
)
from speechq.decoding.language_model import (
    LANGUAGE_MODEL_FOLDER,
    LanguageModelFolder,
    find_language_model,
    read_language_model_folder,
    write_language_model_folder,
)
from speechq.decoding.vocabulary import AUTO, DEEPSPEECH_TOKENS, Vocabulary

__all__ = [
    "AUTO",
    "DEEPSPEECH_TOKENS",
    "DEFAULT_BEAM_WIDTH",
    "LANGUAGE_MODEL_FOLDER",
    "LAYOUTS",
    "LanguageModelFolder",
    "VALID_LENGTH_KEY",
    "BeamSearch",
    "BeamSearchCTCDecoder",
    "BeamSearchParams",
    "CTCDecoder",
    "GreedyCTCDecoder",
    "StreamingGreedyDecoder",
    "TokenIds",
    "Vocabulary",
    "beam_decode",
    "beam_decode_many",
    "build_beam_decoder",
    "collapse_ctc_path",
    "decoder_for",
    "find_language_model",
    "greedy_decode",
    "greedy_decode_batch",
    "greedy_decode_batch_ids",
    "greedy_decode_ids",
    "labels_in_case_of",
    "pyctcdecode_labels",
    "read_language_model_folder",
    "write_language_model_folder",
    "read_arpa_unigrams",
    "select_logits",
    "to_batch_major",
    "valid_lengths_from_metadata",
]
