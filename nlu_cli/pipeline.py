"""Dataset to evaluated TFLite student in one resumable command.

    nlu-pipeline --config configs/snips.yaml
    nlu-pipeline --config configs/demo.yaml --output_dir outputs/try --seed 7
    nlu-pipeline --config configs/snips.yaml --set stage_2_1.epochs=5 --restart

Stages: teacher (2.0), student_2.1, student_2.2, export, evaluate, report; each writes
<output_dir>/<stage>/. Rerunning the same command skips complete stages, resumes a killed
training stage from its checkpoint and redoes a stage whose output is broken. The report
(report.md, report.json, report/*.png) lands in <output_dir>; its table ends the output.
One run per --output_dir: a second one started while the first lives exits 2 naming its PID.
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
flags.DEFINE_multi_string("set", [], "Overrides one recipe key: --set stage_2_1.epochs=3 "
                                     "(repeatable; the value is read as YAML).")
flags.DEFINE_bool("restart", False, "Remove every output and checkpoint, then start over.")
flags.DEFINE_enum("until", None, list(STAGES), "Stop after this stage.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if not FLAGS.config:
        raise InputError("command line", "--config is required")
    recipe = load_recipe(FLAGS.config, FLAGS.set, FLAGS.output_dir, FLAGS.seed)
    with run_lock(recipe["output_dir"]):
        from nlu_tf.pipeline.report import markdown_table
        from nlu_tf.pipeline.orchestrator import run_pipeline

        summary = run_pipeline(recipe, restart=FLAGS.restart, until=FLAGS.until or "",
                               log=lambda line: print(f"[pipeline] {line}", flush=True),
                               config_path=FLAGS.config)
    if summary is not None:
        print(f"\nreport: {os.path.join(recipe['output_dir'], 'report.md')}\n")
        print(markdown_table(summary["rows"]), flush=True)


def entry():
    """The `nlu-pipeline` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
