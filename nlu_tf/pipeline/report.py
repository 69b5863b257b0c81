"""The pipeline report: one table of every artefact, and PNG plots (matplotlib, Agg).

    dev_metrics.png            dev intent acc / slot F1 / sentence acc over training steps,
                               one line per stage that evaluated on dev (`dev_history`)
    emd_layer_weights.png      BERT-EMD layer weights of stage 2.1, when it used EMD
    accuracy_latency_size.png  sentence accuracy against p50 latency, marker area ~ size
"""

import os

COLUMNS = (("model", "model"), ("intent_acc", "intent acc"), ("slot_f1", "slot F1"),
           ("sentence_acc", "sentence acc"), ("num_parameters", "parameters"),
           ("size_mb", "size MB"), ("p50_ms", "p50 ms (1 thread)"))


# Rates shown in %: the joint model's, and the GLUE metrics (BERT-EMD's keys).
PERCENT = ("intent_acc", "slot_f1", "sentence_acc", "mcc", "acc", "f1", "acc_and_f1",
           "pearson", "spearmanr", "corr")
DEV_METRICS = ("intent_acc", "slot_f1", "sentence_acc")


def _cell(key, value):
    if value is None:
        return ""
    if key in PERCENT:
        return f"{100 * value:.2f}"
    if key == "num_parameters":
        return f"{int(value):,}"
    if key == "size_mb":
        return f"{value:.2f}"
    if key == "p50_ms":
        return f"{value:.2f}"
    return str(value)


def markdown_table(rows, columns=COLUMNS):
    """Markdown table of the report rows (accuracies in %); `columns`: (key, title) pairs."""
    lines = ["| " + " | ".join(title for _, title in columns) + " |",
             "|---|" + "---:|" * (len(columns) - 1)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(key, row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_dev_metrics(histories, path, metrics=DEV_METRICS):
    """`histories`: {stage: [{"step", <each of metrics>}, ...]} (a GLUE task's metrics for
    a GLUE run)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for stage, history in histories.items():
            steps = [point["step"] for point in history]
            ax.plot(steps, [100 * point[metric] for point in history], marker="o", label=stage)
        ax.set_title(f"dev {metric}")
        ax.set_xlabel("step")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_emd_weights(weights, path):
    """`weights`: {group: [weight per layer]} from `metrics.json`'s `emd_layer_weights`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(weights), figsize=(3.5 * len(weights), 3), squeeze=False)
    for ax, (group, values) in zip(axes[0], weights.items()):
        ax.bar(range(1, len(values) + 1), values)
        ax.set_xticks(range(1, len(values) + 1))
        ax.set_title(group)
        ax.set_xlabel("layer")
        ax.set_ylabel("weight")
    fig.suptitle("BERT-EMD layer weights (stage 2.1)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_tradeoff(rows, path):
    """Sentence accuracy vs p50 latency; marker area grows with the size on disk."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    timed = [row for row in rows if row.get("p50_ms") is not None]
    biggest = max([row["size_mb"] for row in timed] + [1e-9])
    for row in timed:
        ax.scatter(row["p50_ms"], 100 * row["sentence_acc"],
                   s=40 + 400 * row["size_mb"] / biggest, alpha=0.6)
        ax.annotate(f"{row['model']} ({row['size_mb']:.1f} MB)",
                    (row["p50_ms"], 100 * row["sentence_acc"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("p50 latency, one query, 1 thread (ms)")
    ax.set_ylabel("test sentence accuracy (%)")
    ax.set_title("accuracy vs latency (marker area ~ size on disk)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_plots(folder, histories, emd_weights, rows, metrics=DEV_METRICS):
    """Writes the plots into `folder`; returns their file names. `metrics`: the dev
    metrics the histories hold."""
    names = []
    if histories:
        plot_dev_metrics(histories, os.path.join(folder, "dev_metrics.png"), metrics)
        names.append("dev_metrics.png")
    if emd_weights:
        plot_emd_weights(emd_weights, os.path.join(folder, "emd_layer_weights.png"))
        names.append("emd_layer_weights.png")
    if any(row.get("p50_ms") is not None for row in rows):  # GLUE runs time no artefact
        plot_tradeoff(rows, os.path.join(folder, "accuracy_latency_size.png"))
        names.append("accuracy_latency_size.png")
    return names


def markdown_report(title, rows, plots, notes, columns=COLUMNS):
    """The whole report.md text; plot links are relative to the output directory."""
    parts = [f"# {title}", "", markdown_table(rows, columns), ""]
    parts += [f"- {note}" for note in notes]
    parts.append("")
    for name in plots:
        parts += [f"![{name}](report/{name})", ""]
    return "\n".join(parts)
