"""POT's DefaultQuantization API example (docs: "API usage sample"), changed only in its imports and in reading
its paths from the environment instead of placeholders. Images are .npy arrays instead of JPEG files."""

import os
from pathlib import Path

import numpy as np

# POT: from openvino.tools.pot import DataLoader, IEEngine, load_model, save_model, compress_model_weights, create_pipeline
from speechq import DataLoader, IEEngine, load_model, save_model, compress_model_weights, create_pipeline

MODEL_PATH = os.environ["MODEL_PATH"]
DATASET_PATH = os.environ["DATASET_PATH"]
OUTPUT_PATH = os.environ["OUTPUT_PATH"]


class ImageLoader(DataLoader):
    """ Loads images from a folder """
    def __init__(self, dataset_path):
        # Use OpenCV to gather image files
        # Collect names of image files
        self._files = []
        all_files_in_dir = sorted(os.listdir(dataset_path))
        for name in all_files_in_dir:
            file = os.path.join(dataset_path, name)
            if os.path.isfile(file):
                self._files.append(file)

    def __len__(self):
        """ Returns the length of the dataset """
        return len(self._files)

    def __getitem__(self, index):
        """ Returns image data by index in the NCHW layout
        Note: model-specific preprocessing is omitted, consider adding it here
        """
        if index >= len(self):
            raise IndexError("Index out of dataset size")

        image = np.load(self._files[index])  # read image with OpenCV
        return image, None   # annotation is set to None


model_config = {"model_name": "model", "model": MODEL_PATH, "weights": str(Path(MODEL_PATH).with_suffix(".bin"))}
engine_config = {"device": "CPU"}
algorithms = [
    {
        "name": "DefaultQuantization",
        "params": {
            "target_device": "ANY",
            "stat_subset_size": 300,
            "stat_batch_size": 1
        },
    }
]

# Step 1: Implement and create a user data loader.
data_loader = ImageLoader(DATASET_PATH)

# Step 2: Load a model.
model = load_model(model_config=model_config)

# Step 3: Initialize the engine for metric calculation and statistics collection.
engine = IEEngine(config=engine_config, data_loader=data_loader)

# Step 4: Create a pipeline of compression algorithms and run it.
pipeline = create_pipeline(algorithms, engine)
compressed_model = pipeline.run(model=model)

# Step 5 (Optional): Compress model weights to quantized precision
#                     to reduce the size of the final .bin file.
compress_model_weights(compressed_model)

# Step 6: Save the compressed model to the desired path.
# Set save_path to the directory where the model should be saved.
compressed_model_paths = save_model(
    model=compressed_model,
    save_path=OUTPUT_PATH,
    model_name="optimized_model",
)
print(compressed_model_paths[0]["model"])
