"""Dataset to evaluated TFLite student in one resumable command.

    nlu-pipeline --config configs/snips.yaml
    nlu-pipeline --config configs/demo.yaml --output_dir outputs/try --seed 7
    nlu-pipeline --config configs/snips.yaml --set stage_2_1.epochs=5 --restart
    nlu-pipeline --config configs/snips.yaml --seeds 42,43,44 --output_dir runs/snips

Stages: teacher (2.0), student_2.1, student_2.2, export, evaluate, report; each writes
<output_dir>/<stage>/. Rerunning the same command skips complete stages, resumes a killed
training stage from its checkpoint and redoes a stage whose output is broken. The report
(report.md, report.json, report/*.png) lands in <output_dir>; its table ends the output.
One run per --output_dir: a second one started while the first lives exits 2 naming its PID.
With --seeds the recipe runs once per seed in <output_dir>/seed_<n>/, one after the other,
and aggregate.md / aggregate.json (mean ± std, min - max over seeds) end the run.
"""

import os

from absl import flags

from nlu_cli import app as cli
from nlu_tf.errors import InputError
from nlu_tf.pipeline.recipe import load_recipe
from nlu_tf.pipeline.stages import STAGES
from nlu_tf.run_lock import run_lock

flags.DEFINE_string("config", "", "The recipe (YAML), e.g. configs/snips.yaml.")
flags.DEFINE_string("output_dir", "", "Replaces the recipe's output_dir.")
flags.DEFINE_integer("seed", None, "Replaces the recipe's seed.")
flags.DEFINE_list("seeds", [], "Runs the recipe once per seed, each in <output_dir>/seed_<n>/ "
                  "(resumable like any run), then writes aggregate.md / aggregate.json there: "
                  "mean ± std and min - max of every metric of every artefact.")
flags.DEFINE_multi_string("set", [], "Overrides one recipe key: --set stage_2_1.epochs=3 "
                                     "(repeatable; the value is read as YAML).")
flags.DEFINE_bool("restart", False, "Remove every output and checkpoint, then start over.")
flags.DEFINE_enum("until", None, list(STAGES), "Stop after this stage.")
FLAGS = flags.FLAGS


def _run_seeds():
    from nlu_tf.io_utils import write_json, write_text_atomic
    from nlu_tf.output_dirs import check_output_dir, mark
    from nlu_tf.pipeline.aggregate import aggregate, markdown, seed_dir

    try:
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError:
        raise InputError("command line", f"--seeds takes integers, got {FLAGS.seeds}") from None
    if FLAGS.seed is not None or len(set(seeds)) != len(seeds):
        raise InputError("command line", "--seeds takes distinct seeds, without --seed")
    base = load_recipe(FLAGS.config, FLAGS.set, FLAGS.output_dir, None)["output_dir"]
    check_output_dir(base, "pipeline_seeds")
    recipes = {seed: load_recipe(FLAGS.config, FLAGS.set, seed_dir(base, seed), seed)
               for seed in seeds}
    os.makedirs(base, exist_ok=True)
    mark(base, "pipeline_seeds")
    summaries = {}
    for seed, recipe in recipes.items():
        print(f"[pipeline] seed {seed}: {recipe['output_dir']}", flush=True)
        summaries[seed] = _run(recipe)
        if summaries[seed] is None:
            return
    result = aggregate(summaries)
    write_json(os.path.join(base, "aggregate.json"), result)
    table = markdown(result)
    write_text_atomic(os.path.join(base, "aggregate.md"),
                      f"# {FLAGS.config}, {len(seeds)} seeds\n\n{table}\n")
    print(f"\naggregate: {os.path.join(base, 'aggregate.md')}\n\n{table}", flush=True)


def _run(recipe):
    with run_lock(recipe["output_dir"]):
        from nlu_tf.pipeline.report import markdown_table
        from nlu_tf.pipeline.orchestrator import run_pipeline

        summary = run_pipeline(recipe, restart=FLAGS.restart, until=FLAGS.until or "",
                               log=lambda line: print(f"[pipeline] {line}", flush=True),
                               config_path=FLAGS.config)
    if summary is not None:
        print(f"\nreport: {os.path.join(recipe['output_dir'], 'report.md')}\n")
        print(markdown_table(summary["rows"]), flush=True)
    return summary


def main(argv):
    del argv
    if not FLAGS.config:
        raise InputError("command line", "--config is required")
    if FLAGS.seeds:
        _run_seeds()
        return
    recipe = load_recipe(FLAGS.config, FLAGS.set, FLAGS.output_dir, FLAGS.seed)
    _run(recipe)


def entry():
    """The `nlu-pipeline` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
