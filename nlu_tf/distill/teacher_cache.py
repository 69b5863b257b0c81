"""The frozen teacher's outputs of every training example, stored once on disk.

A cache folder holds one float32 file per needed output (`<name>.f32`, read as a numpy
memmap, never loaded whole) and `manifest.json`: the per-example shapes (`LENGTH`, -1,
standing for the example's token count), every example's length, and the fingerprint of
what the outputs depend on. Examples are stored unpadded, one after the other in example
order: the example of length n takes prod(shape with n for -1) values of each file.
The folder is written under a temporary name and renamed when complete, so a folder
that exists is whole; a kill while writing leaves only a temporary sibling.
"""

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from nlu_tf.distill.teacher_outputs import LENGTH
from nlu_tf.io_utils import atomic_dir, write_json

FORMAT = 1
MANIFEST = "manifest.json"
BYTES_PER_VALUE = 4  # float32: the cached step computes the losses of the uncached one


def _values_per_example(shape, lengths):
    counts = np.ones(len(lengths), np.int64)
    for size in shape:
        counts *= lengths if size == LENGTH else size
    return counts


def _offsets(shape, lengths):
    """Where each example's values start in the file of an output of `shape`, plus the
    end: `offsets[i]:offsets[i + 1]` holds example i."""
    return np.concatenate([[0], np.cumsum(_values_per_example(shape, lengths))])


def _example_shape(shape, length):
    return tuple(length if size == LENGTH else size for size in shape)


def _region(shape, length):
    """The slices of a padded example's array that hold an example of `length` tokens."""
    return tuple(slice(0, length) if size == LENGTH else slice(None) for size in shape)


def estimate_bytes(shapes, lengths):
    """Bytes a cache of `shapes` ({name: per-example shape}) takes for examples of `lengths`."""
    lengths = np.asarray(lengths, np.int64)
    return int(sum(_values_per_example(shape, lengths).sum() for shape in shapes.values())
               * BYTES_PER_VALUE)


def fingerprint(depends_on):
    """The fingerprint of a cache: a hash of the JSON of what its outputs depend on."""
    text = json.dumps(depends_on, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file(folder, name):
    return os.path.join(folder, f"{name}.f32")


class TeacherCache:
    """Reads a complete cache folder: per-example teacher outputs, padded batch by batch.

    Use `TeacherCache.open` (None when there is no usable cache) or `write_teacher_cache`.

    Args:
        folder: the cache folder.
        manifest: its parsed `manifest.json`.
    """

    def __init__(self, folder, manifest):
        self.folder = folder
        self.fingerprint = manifest["fingerprint"]
        self.shapes = {name: tuple(shape) for name, shape in manifest["shapes"].items()}
        self.lengths = np.asarray(manifest["lengths"], np.int64)
        self._starts, self._arrays = {}, {}
        for name, shape in self.shapes.items():
            self._starts[name] = _offsets(shape, self.lengths)
            self._arrays[name] = np.memmap(_file(folder, name), np.float32, mode="r",
                                           shape=(int(self._starts[name][-1]),))

    @classmethod
    def open(cls, folder, depends_on):
        """The cache in `folder` if it is complete and was made from `depends_on` (a
        JSON-ready dict: teacher, data, outputs), else None."""
        try:
            with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
                manifest = json.load(f)
            if (manifest.get("format") != FORMAT
                    or manifest.get("fingerprint") != fingerprint(depends_on)):
                return None
            return cls(folder, manifest)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def __len__(self):
        return len(self.lengths)

    @property
    def nbytes(self):
        return estimate_bytes(self.shapes, self.lengths)

    def signature(self):
        """{name: tf.TensorSpec} of a padded batch (batch and length dimensions None)."""
        return {name: tf.TensorSpec((None,) + tuple(None if s == LENGTH else s for s in shape),
                                    tf.float32)
                for name, shape in self.shapes.items()}

    def padded(self, indices, length):
        """{name: float32 array (B, ...)} of the examples `indices`, zero-padded to `length`
        tokens (the losses mask padding out)."""
        batch = {}
        for name, shape in self.shapes.items():
            values = np.zeros((len(indices),) + _example_shape(shape, length), np.float32)
            starts, array = self._starts[name], self._arrays[name]
            for row, index in enumerate(indices):
                n = int(self.lengths[index])
                stored = array[starts[index]:starts[index + 1]]
                values[(row,) + _region(shape, n)] = stored.reshape(_example_shape(shape, n))
            batch[name] = values
        return batch


def write_teacher_cache(folder, depends_on, shapes, lengths, batches, compute, progress=None):
    """Computes the teacher outputs of every example and writes the cache folder.

    Args:
        folder: the cache folder (replaced when complete).
        depends_on: what the outputs depend on (see `TeacherCache.open`); its
            `fingerprint` and itself are written to the manifest.
        shapes: {name: per-example shape}, `LENGTH` for the token count.
        lengths: the token count of every example.
        batches: `(indices, inputs)` pairs that hold every example once, in any order
            (`inference_batches`; inputs are dicts with an `attention_mask`).
        compute: `compute(inputs)` -> {name: array (B, ...)} padded to the batch length.
        progress: an optional `ProgressBar`, advanced by one per batch.

    Returns:
        The written `TeacherCache`.
    """
    lengths = np.asarray(lengths, np.int64)
    with atomic_dir(folder, "teacher_cache") as tmp:
        starts, arrays = {}, {}
        for name, shape in shapes.items():
            starts[name] = _offsets(shape, lengths)
            arrays[name] = np.memmap(_file(tmp, name), np.float32, mode="w+",
                                     shape=(int(starts[name][-1]),))
        written = np.zeros(len(lengths), bool)
        for indices, inputs in batches:
            real = np.asarray(inputs["attention_mask"]).sum(axis=1)
            outputs = {name: np.asarray(value, np.float32)
                       for name, value in compute(inputs).items()}
            for row, (index, n) in enumerate(zip(indices, real)):
                if not 0 <= index < len(lengths) or written[index]:
                    raise ValueError(f"batch example {index} is not one of the "
                                     f"{len(lengths)} examples still to write")
                if n != lengths[index]:
                    raise ValueError(f"batch example {index} has {n} tokens, expected "
                                     f"{lengths[index]}")
                for name, shape in shapes.items():
                    arrays[name][starts[name][index]:starts[name][index + 1]] = (
                        outputs[name][(row,) + _region(shape, int(n))].ravel())
                written[index] = True
            if progress is not None:
                progress.update()
        if not written.all():
            raise ValueError(f"the batches held {int(written.sum())} examples, "
                             f"expected {len(lengths)}")
        for array in arrays.values():
            array.flush()
        del arrays
        write_json(os.path.join(tmp, MANIFEST),
                   {"format": FORMAT, "fingerprint": fingerprint(depends_on),
                    "depends_on": depends_on, "dtype": "float32",
                    "shapes": {name: list(shape) for name, shape in shapes.items()},
                    "lengths": [int(n) for n in lengths]})
    return TeacherCache.open(folder, depends_on)
