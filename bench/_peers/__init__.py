"""Helpers of ``bench/bench_peers.py``: speechq side by side with the tools a user would pick instead.

- ``architectures``: DeepSpeech and Wav2Vec2, what differs between them in the reports;
- ``common``: data files every process reads (MFCC or waveforms of the utterances), chunks, JSON, process memory;
- ``deepspeech_torch``: the DeepSpeech chunk as a PyTorch module rebuilt from an IR's weights, and its ONNX export;
- ``wav2vec2_torch``: Hugging Face's Wav2Vec2ForCTC holding an IR's weights (checked against the IR's logits), its
  dynamic INT8 and ONNX export;
- ``runners``: one loop per architecture (DeepSpeech: chunks, state carried, zero per utterance; Wav2Vec2: whole
  utterances) over OpenVINO, ONNX Runtime and PyTorch, WER and speed measured through it for every contender alike;
- ``quantizers``: each contender's quantization, as its own documentation shows it;
- ``worker``: what a child process runs (one quantization, or one contender's measurements);
- ``pot_worker`` / ``pot_venv``: POT in its own virtual environment (openvino-dev 2023.3, Python <= 3.11);
- ``children``: child processes with wall time and peak memory;
- ``report``: Markdown, JSON and PNG.

Nothing here is part of the speechq package: the benchmark uses speechq's public API like any user.
"""
