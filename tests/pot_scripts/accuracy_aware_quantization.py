"""POT's AccuracyAwareQuantization API example with a custom Metric, changed only in its imports and in reading
its paths from the environment. Samples are .npy arrays named <label>_<n>.npy."""

import os
from pathlib import Path

import numpy as np

# POT: from openvino.tools.pot import DataLoader, Metric, IEEngine, load_model, save_model, compress_model_weights, create_pipeline
from speechq import DataLoader, Metric, IEEngine, load_model, save_model, compress_model_weights, create_pipeline

MODEL_PATH = os.environ["MODEL_PATH"]
DATASET_PATH = os.environ["DATASET_PATH"]
OUTPUT_PATH = os.environ["OUTPUT_PATH"]


class ClassificationDataLoader(DataLoader):
    def __init__(self, data_source):
        super().__init__(config={})
        self._files = sorted(Path(data_source).glob("*.npy"))

    def __len__(self):
        return len(self._files)

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError("Index out of dataset size")
        label = int(self._files[index].name.split("_")[0])
        return np.load(self._files[index]), label


class Accuracy(Metric):
    def __init__(self, top_k=1):
        super().__init__()
        self._top_k = top_k
        self._name = 'accuracy@top{}'.format(self._top_k)
        self._matches = []

    @property
    def value(self):
        """ Returns accuracy metric value for the last model output. """
        return {self._name: self._matches[-1]}

    @property
    def avg_value(self):
        """ Returns accuracy metric value for all model outputs. """
        return {self._name: np.ravel(self._matches).mean()}

    def update(self, output, target):
        """ Updates prediction matches.
        :param output: model output
        :param target: annotations
        """
        if len(output) > 1:
            raise Exception('The accuracy metric cannot be calculated '
                            'for a model with multiple outputs')
        if isinstance(target, dict):
            target = list(target.values())
        predict = np.argsort(output[0], axis=1)[:, -self._top_k:]
        match = [float(t in predict[i]) for i, t in enumerate(target)]

        self._matches.append(match)

    def reset(self):
        """ Resets collected matches """
        self._matches = []

    def get_attributes(self):
        """
        Returns a dictionary of metric attributes {metric_name: {attribute_name: value}}.
        Required attributes: 'direction': 'higher-better' or 'higher-worse'
                             'type': metric type
        """
        return {self._name: {'direction': 'higher-better',
                             'type': 'accuracy'}}


model_config = {"model_name": "model", "model": MODEL_PATH, "weights": str(Path(MODEL_PATH).with_suffix(".bin"))}
engine_config = {"device": "CPU"}
algorithms = [
    {
        "name": "AccuracyAwareQuantization",
        "params": {
            "target_device": "ANY",
            "stat_subset_size": 300,
            "maximal_drop": 0.01,
        },
    }
]

model = load_model(model_config=model_config)
data_loader = ClassificationDataLoader(DATASET_PATH)
metric = Accuracy(top_k=1)
engine = IEEngine(config=engine_config, data_loader=data_loader, metric=metric)
pipeline = create_pipeline(algorithms, engine)
compressed_model = pipeline.run(model=model)
compress_model_weights(compressed_model)
compressed_model_paths = save_model(model=compressed_model, save_path=OUTPUT_PATH, model_name="optimized_model")
metric_results = pipeline.evaluate(compressed_model)
for name, value in metric_results.items():
    print(f"{name}: {value:.5f}")
print(compressed_model_paths[0]["model"])
