"""The per-layer int8 error report: `layer_errors.csv` and `layer_errors.png`.

One row per quantized op in graph order (see `nlu_tf.export.quant_debug`), with the error
it adds and whether `int8_mixed` keeps it in float; the plot shows rmse / scale per op on
a log scale, the threshold as a line and the ops kept in float in another colour.
"""

import csv
import os

REPORT_CSV = "layer_errors.csv"
REPORT_PNG = "layer_errors.png"
COLUMNS = ("index", "op_name", "rmse_over_scale", "mean_squared_error", "mean_error",
           "max_abs_error", "num_elements", "scale", "zero_point", "kept_float", "tensor_name")
_ROUNDING = 12 ** -0.5


def _write_csv(errors, denylist, path):
    denied = set(denylist)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for error in errors:
            writer.writerow([error.index, error.op_name, f"{error.rmse_over_scale:.6g}",
                             f"{error.mean_squared_error:.6g}", f"{error.mean_error:.6g}",
                             f"{error.max_abs_error:.6g}", int(error.num_elements),
                             f"{error.scale:.6g}", error.zero_point,
                             int(error.tensor_name in denied), error.tensor_name])


def _plot(errors, denylist, threshold, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    denied = set(denylist)
    values = [max(error.rmse_over_scale, 1e-6) for error in errors]
    colors = ["tab:red" if error.tensor_name in denied else "tab:blue" for error in errors]
    fig, ax = plt.subplots(figsize=(max(8.0, 0.12 * len(errors)), 4.5))
    ax.bar(range(len(errors)), values, color=colors)
    ax.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
    ax.axhline(_ROUNDING, color="gray", linestyle=":", label="rounding only (0.29)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(errors)))
    ax.set_xticklabels([error.op_name for error in errors], rotation=90, fontsize=5)
    ax.set_xlim(-1, len(errors))
    ax.set_ylabel("rmse / scale (int8 steps)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_layer_report(errors, denylist, threshold, folder, title="int8 error added per op"):
    """Writes `layer_errors.csv` and `layer_errors.png` into `folder` (created if needed).

    Args:
        errors: `LayerError`s in graph order.
        denylist: the tensor names kept in float (marked in both files).
        threshold: the rmse / scale threshold drawn on the plot.
        folder: the output folder.
        title: the plot's title.

    Returns:
        The paths `(csv, png)`.
    """
    os.makedirs(folder, exist_ok=True)
    paths = os.path.join(folder, REPORT_CSV), os.path.join(folder, REPORT_PNG)
    _write_csv(errors, denylist, paths[0])
    _plot(errors, denylist, threshold, title, paths[1])
    return paths
