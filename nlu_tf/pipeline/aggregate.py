"""Seed repeats: one recipe run at several seeds, each in `<output_dir>/seed_<n>/`, and the
aggregate of their reports: mean ± standard deviation (over seeds, n - 1 in the
denominator) and min - max of every metric of every artefact."""

import math

METRICS = (("intent_acc", "intent acc", 100), ("slot_f1", "slot F1", 100),
           ("sentence_acc", "sentence acc", 100), ("size_mb", "size MB", 1),
           ("p50_ms", "p50 ms (1 thread)", 1))


def seed_dir(output_dir, seed):
    """`<output_dir>/seed_<seed>/`, where one seed's run lives."""
    return f"{output_dir.rstrip('/')}/seed_{int(seed)}"


def _stats(values):
    count = len(values)
    mean = sum(values) / count
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (count - 1)) if count > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values),
            "values": list(values)}


def aggregate(summaries):
    """The aggregate of per-seed reports.

    Args:
        summaries: {seed: the report dict of that seed's run (`report.json`)}.

    Returns:
        {"seeds": [...], "rows": [{"model", "runs", <metric>: stats}]}, rows in the order
        of the first seed's report; a metric missing from a run (no latency) is left out.
    """
    seeds = list(summaries)
    order = [row["model"] for row in summaries[seeds[0]]["rows"]]
    rows = []
    for model in order:
        runs = [row for seed in seeds for row in summaries[seed]["rows"] if row["model"] == model]
        row = {"model": model, "runs": len(runs)}
        for key, _, _ in METRICS:
            values = [run[key] for run in runs if run.get(key) is not None]
            if values:
                row[key] = _stats(values)
        rows.append(row)
    return {"seeds": seeds, "rows": rows}


def markdown(result):
    """The aggregate as a markdown table: mean ± std (min - max) per metric."""
    lines = ["| model | runs | " + " | ".join(title for _, title, _ in METRICS) + " |",
             "|---|---:|" + "---:|" * len(METRICS)]
    for row in result["rows"]:
        cells = []
        for key, _, scale in METRICS:
            stats = row.get(key)
            cells.append("" if stats is None else
                         f"{scale * stats['mean']:.2f} ± {scale * stats['std']:.2f} "
                         f"({scale * stats['min']:.2f} – {scale * stats['max']:.2f})")
        lines.append(f"| {row['model']} | {row['runs']} | " + " | ".join(cells) + " |")
    seeds = ", ".join(str(seed) for seed in result["seeds"])
    return f"Seeds {seeds}: mean ± standard deviation (min – max).\n\n" + "\n".join(lines)
