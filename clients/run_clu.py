"""Runs a Task Library export with tflite-support's BertCluAnnotator over a file of
utterances; writes JSON lines in `nlu-predict --format json`'s shape.

    .client-venv/bin/python clients/run_clu.py MODEL.tflite INPUT.txt OUTPUT.jsonl

One utterance per input line, no conversation history, every threshold 0 (so the argmax
intent and every span come back, as nlu-predict gives them). The Task Library reports
byte offsets into the UTF-8 text; they are written as code-point offsets, as nlu_tf's.
Score the output with `nlu-evaluate --predictions OUTPUT.jsonl` (and compare it with
nlu-predict's with `--compare_predictions`).
"""

import json
import sys


def _code_points(text, byte_offset):
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def main(model, input_path, output_path):
    from tflite_support.task import core, processor, text

    options = text.BertCluAnnotatorOptions(
        base_options=core.BaseOptions(file_name=model),
        bert_clu_annotation_options=processor.BertCluAnnotationOptions(
            max_history_turns=0, domain_threshold=0.0, intent_threshold=0.0,
            categorical_slot_threshold=0.0, mentioned_slot_threshold=0.0))
    annotator = text.BertCluAnnotator.create_from_options(options)
    with open(input_path, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f]
    with open(output_path, "w", encoding="utf-8") as out:
        for line in lines:
            response = annotator.annotate(processor.CluRequest(utterances=[line]))
            intents = list(response.intents)
            slots = [{"slot": m.slot, "text": m.mention.value,
                      "start": _code_points(line, m.mention.start),
                      "end": _code_points(line, m.mention.end),
                      "score": round(m.mention.score, 6)} for m in response.mentioned_slots]
            out.write(json.dumps({"text": line,
                                  "intent": intents[0].display_name if intents else None,
                                  "intent_prob": round(intents[0].score, 6) if intents else None,
                                  "slots": slots}, ensure_ascii=False) + "\n")
    print(f"{len(lines)} utterance(s) annotated by BertCluAnnotator into {output_path}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: run_clu.py MODEL.tflite INPUT.txt OUTPUT.jsonl")
    main(*sys.argv[1:])
