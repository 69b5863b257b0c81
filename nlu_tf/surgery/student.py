"""Students: cut from the teacher (offline default) or a general TinyBERT checkpoint."""

from nlu_tf.errors import InputError
from nlu_tf.model_io.model_dir import ModelBundle, from_pretrained


def uniform_layer_map(num_student, num_teacher):
    """TinyBERT's uniform mapping g(m) = m·N/M: the teacher block (1-based) that student
    block m = 1..M learns from, or is cut from; the last student block maps to the last
    teacher block."""
    if num_student < 1:
        raise ValueError(f"a student needs at least one layer, got {num_student}")
    return [round((m + 1) * num_teacher / num_student) for m in range(num_student)]


def cut_from_teacher(teacher, num_layers, dtype=None):
    """A student with `num_layers` evenly spaced blocks of `teacher`, embeddings, pooler and
    heads copied; it computes in `dtype` (a Keras dtype policy), by default the teacher's."""
    model = teacher.model
    # Checked before anything is built: a huge count would allocate until memory runs out.
    if not 0 < num_layers <= model.encoder.num_layers:
        raise InputError("command line", f"student_num_layers: a student cut from a "
                                         f"{model.encoder.num_layers}-layer teacher has 1.."
                                         f"{model.encoder.num_layers} layers, got {num_layers}")
    config = {**model.encoder_config, "num_layers": num_layers}
    # The teacher's class and heads (`head_arguments`): a joint or a sequence model.
    student = type(model)(config, **model.head_arguments(), dtype=dtype or model.dtype_policy)
    student.build()
    kept = [block - 1 for block in uniform_layer_map(num_layers, model.encoder.num_layers)]
    pairs = [(student.encoder.token_embedding, model.encoder.token_embedding),
             (student.encoder.position_embedding, model.encoder.position_embedding),
             (student.encoder.segment_embedding, model.encoder.segment_embedding),
             (student.encoder.embeddings_layer_norm, model.encoder.embeddings_layer_norm),
             (student.encoder.pooler_dense, model.encoder.pooler_dense),
             *zip(student.head_layers, model.head_layers)]
    pairs += [(student.encoder.transformer_layers[m], model.encoder.transformer_layers[t])
              for m, t in enumerate(kept)]
    for target, source in pairs:
        for variable, value in zip(target.weights, source.weights):
            variable.assign(value)
    return ModelBundle(student, teacher.tokenizer, teacher.labels, teacher.max_seq_len)


def from_tinybert(path, teacher, head_dropout=0.1, dtype="float32"):
    """A student on a general TinyBERT checkpoint (Hugging Face layout), teacher's labels,
    computing in `dtype` (a Keras dtype policy)."""
    return from_pretrained(path, teacher.labels, teacher.max_seq_len, head_dropout, dtype)
