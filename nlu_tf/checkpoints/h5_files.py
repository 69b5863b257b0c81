"""HDF5 weight files read without surprises: every dataset's storage is checked before any is read.

HDF5 lets a dataset keep its bytes outside the file (external storage, virtual datasets,
external links), so a weights file could load any local file into a model; and a chunked
dataset can declare gigabytes that are mostly fill value or compressed zeros. Both are
refused here, from metadata alone, before a single value is read.
"""

import h5py

from nlu_tf.errors import InputError, quote

# Float weights barely compress; a dataset far larger than its stored bytes is a bomb.
EXPANSION = 16
SLACK_BYTES = 1 << 20


def _check_dataset(path, name, dataset):
    """Raises `InputError` for storage outside the file, a non-numeric type, or inflation."""
    where = f"dataset {quote(name)}"
    if dataset.is_virtual:
        raise InputError(path, f"{where} is a virtual dataset (data from other files); refused")
    if dataset.external:
        raise InputError(path, f"{where} keeps its data in external files; refused")
    if dataset.dtype.kind not in "fiub":
        raise InputError(path, f"{where} is not numeric (HDF5 type {dataset.dtype.kind!r})")
    logical = dataset.size * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    if logical > EXPANSION * stored + SLACK_BYTES:
        raise InputError(path, f"{where} would expand from {stored} stored bytes to {logical}; "
                               "refused as a compression bomb")


def scan_h5(path):
    """Returns {dataset name: shape} of an HDF5 file after checking every dataset's storage.

    Raises:
        InputError: an external link, external or virtual storage, a non-numeric dataset,
            or a dataset that would inflate far beyond its stored bytes.
    """
    try:
        return _scan(path)
    except OSError as error:
        raise InputError(path, f"not a readable HDF5 file, truncated or corrupt "
                               f"({_first_line(error)})") from None


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _scan(path):
    shapes = {}
    with h5py.File(path, "r") as f:
        links = []
        f.visititems_links(lambda name, link: links.append(name)
                           if isinstance(link, h5py.ExternalLink) else None)
        if links:
            raise InputError(path, f"{quote(links[0])} is a link to another file; refused")
        datasets = []
        f.visititems(lambda name, item: datasets.append((name, item))
                     if isinstance(item, h5py.Dataset) else None)
        for name, dataset in datasets:
            _check_dataset(path, name, dataset)
            shapes[name] = tuple(dataset.shape)
    return shapes


def read_h5(path, names):
    """Reads the named datasets (already checked by `scan_h5`) into numpy arrays."""
    try:
        with h5py.File(path, "r") as f:
            return {name: f[name][()] for name in names}
    except OSError as error:
        raise InputError(path, f"cannot read its datasets, truncated or corrupt "
                               f"({_first_line(error)})") from None
