"""Export to ONNX: a log_prob graph and a sampling graph that takes the noise as an input.

For a `PixelRNN` or a `MultiScalePixelRNN`; two files in one directory, each with a dynamic batch:

    log_prob.onnx: images int32 (N, H, W, C) -> log_prob float32 (N,), nats per image; -inf
        for an image with a value outside [0, levels) (ONNX has no assertion to raise instead).
    sample.onnx: NOISE of the model's compute dtype, temperature float32 () -> images int32
        (N, H, W, C). NOISE is standard Gumbel noise, `-log(-log(u))` for u uniform in (0, 1):
        for a PixelRNN one input `noise (N, H, W, C, G)`, e.g.
        `pixelrnn_keras.sampling.gumbel_noise(N, (H, W, C), L, seed)` (G = `noise_size(L)`: 32 at
        256 levels, 2 at 2); for a MultiScalePixelRNN two, `low_noise (N, s, s, C, G)` and
        `high_noise (N, n, n, C, G)` of the same N, one per stage (see
        `pixelrnn_keras.export.adapters`). The same noise gives the same images as the Keras model.
        temperature must be > 0 (not checked in the graph).

A class-conditional PixelRNN (num_classes K > 0) takes one more input in both graphs, `labels`
int32 (N,) in [0, K), the class of each image: log_prob gives log p(x | y), -inf for a label
out of range; the sampling graph does not check its labels (a label out of range acts as none).

The sampling graph is the cached sampler (`cached_loop`; one per stage for a multi-scale model)
in its `portable` form: the same loop and per-layer caches, with the images kept in one tensor,
because tf2onnx cannot convert the TensorArrays that the XLA form carries through its nested loops. XLA plays no part in
ONNX: the graphs are traced without it (the recurrences' XLA marks are removed so that their
functions can be inlined and converted).

tf2onnx may finish with ops it could not convert, so every file is checked with
`onnx.checker` and run in onnxruntime against the Keras model before it is kept.
"""

from __future__ import annotations

import contextlib
import logging
import os

import keras
import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
from tf2onnx import optimizer, tf_loader
from tf2onnx.optimizer.identity_optimizer import IdentityOptimizer
from tf2onnx.tfonnx import process_tf_graph

from pixelrnn_keras.export import adapters
from pixelrnn_keras.export.output import atomic_directory
from pixelrnn_keras.export.verification import LOG_PROB_RTOL, VerificationError, comparison_inputs, relative_difference

DEFAULT_OPSET = 17
OPSETS = range(13, 19)  # those tested with tf2onnx 1.17 and onnxruntime
FILES = {"log_prob": "log_prob.onnx", "sample": "sample.onnx"}


def onnx_functions(model):
    """{graph name: (function, input signature, output name)} of the two graphs."""
    height, width, channels = model.image_shape
    levels = model.levels
    noise_specs = adapters.noise_specs(model)
    labels_specs = adapters.labels_spec(model)  # [] for a model without classes

    def log_prob(images, *labels):
        # An image with a value outside [0, levels) has probability 0, as has a label out of range.
        # (tf2onnx turns a tf.where into arithmetic, so a NaN or an inf cannot be selected in.)
        in_range = tf.reduce_all((images >= 0) & (images < levels), axis=[1, 2, 3])
        labels = labels[0] if labels else None
        if labels is not None:
            in_range &= (labels >= 0) & (labels < model.num_classes)
        log_p = adapters.log_prob_by_comparison(model, images, labels)
        return log_p + tf.math.log(tf.cast(in_range, tf.float32))

    def sample(*inputs):
        noise, (temperature, *labels) = inputs[: len(noise_specs)], inputs[len(noise_specs) :]
        noise = dict(zip(noise_specs, noise))
        return adapters.draw_from_noise(model, noise, temperature, portable=True, labels=labels[0] if labels else None)

    images_spec = tf.TensorSpec([None, height, width, channels], tf.int32, name="images")
    temperature_spec = tf.TensorSpec([], tf.float32, name="temperature")
    return {
        "log_prob": (log_prob, [images_spec, *labels_specs], "log_prob"),
        "sample": (sample, [*noise_specs.values(), temperature_spec, *labels_specs], "images"),
    }


def to_onnx(
    model: keras.Model, path: str, opset: int = DEFAULT_OPSET, overwrite: bool = False, verify: bool = True
) -> dict:
    """Writes `model` as `log_prob.onnx` and `sample.onnx` in a new directory `path`.

    Args:
        model: a PixelRNN or a MultiScalePixelRNN.
        path: the directory to create (its parent must exist).
        opset: ONNX opset, one of `OPSETS`.
        overwrite: replace an existing directory at `path`.
        verify: check both files with `onnx.checker` and compare them in onnxruntime with the
            Keras model (log_prob within `LOG_PROB_RTOL`, identical samples for the same noise)
            before they appear at `path`.

    Returns:
        dict: "path", "files" ({graph: file path}), "opset", and with `verify` the figures of
        the comparison ("log_prob_max_rel_diff", "samples_identical", "num_images").

    Raises:
        ValueError: bad arguments (nothing is written).
        VerificationError: a graph fails the checker, onnxruntime or the comparison (nothing is written).
    """
    adapters.check_model(model)
    if isinstance(opset, bool) or not isinstance(opset, int) or opset not in OPSETS:
        raise ValueError(f"opset must be an int in [{OPSETS.start}, {OPSETS.stop - 1}], got {opset!r}")
    path = os.path.abspath(os.fspath(path))
    report = {"path": path, "files": {name: os.path.join(path, file) for name, file in FILES.items()}, "opset": opset}
    with atomic_directory(path, overwrite) as building:
        for name, (function, signature, output) in onnx_functions(model).items():
            proto = convert_function(function, signature, output, opset)
            onnx.helper.set_model_props(proto, _metadata(model, name))
            onnx.save(proto, os.path.join(building, FILES[name]))
        if verify:
            report.update(verify_onnx(model, building))
    return report


def convert_function(function, input_signature, output_name, opset):
    """The ONNX ModelProto of `function` traced at `input_signature` (named TensorSpecs), one output.

    The steps of tf2onnx's `from_function`, with two changes: freezing also turns captured
    constants (the convolution masks) into graph constants, where `from_function` would make
    them graph inputs; and tf2onnx's graph optimizers but one are skipped: on the sampler's
    nested loops they took 80% of the conversion time (about 35 s of 40 s for a tiny RGB model
    on 2 cores), and onnxruntime optimizes the graph when it loads it anyway (same speed measured).
    An op that tf2onnx cannot convert raises here instead of being left in the graph.
    """
    concrete = tf.function(function, autograph=False).get_concrete_function(*input_signature)
    frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False, aggressive_inlining=True)
    graph_def = frozen.graph.as_graph_def()
    _drop_xla_marks(graph_def)
    inputs = [t.name for t in frozen.inputs]
    outputs = [t.name for t in frozen.outputs]
    names = dict(zip(inputs, [spec.name for spec in input_signature]))
    names[outputs[0]] = output_name
    with _quiet_converters(), tf.device("/cpu:0"):
        with tf.Graph().as_default():  # grappler, which inlines the functions, runs in graph mode
            graph_def = tf_loader.tf_optimize(inputs, outputs, graph_def)
        _unshare_functions(graph_def)
        with tf.Graph().as_default() as tf_graph:
            tf.import_graph_def(graph_def, name="")
            graph = process_tf_graph(
                tf_graph, opset=opset, input_names=inputs, output_names=outputs, tensors_to_rename=names
            )
        # The identity remover is the one optimizer needed: tf2onnx's scan conversion leaves
        # Identity nodes with two inputs (not valid ONNX) for it to remove.
        graph = optimizer.optimize_graph(graph, catch_errors=False, optimizers={"remove_identity": IdentityOptimizer})
        return graph.make_model(f"pixelrnn_keras {output_name}")


def _drop_xla_marks(graph_def):
    """Removes the XLA compilation marks of the recurrences' functions: grappler inlines no
    function marked for XLA, and tf2onnx cannot convert a function call."""

    def drop(attrs):
        for key in [key for key in attrs if key.startswith("_Xla") or key == "_noinline"]:
            del attrs[key]

    for node in graph_def.node:
        drop(node.attr)
    for function in graph_def.library.function:
        drop(function.attr)
        for node in function.node_def:
            drop(node.attr)


def _unshare_functions(graph_def):
    """Gives every node that calls a function (a loop's body and condition) its own copy of it.

    tf2onnx rewrites a loop's body function in place as it converts the loop, so a second loop
    on the same function fails ("list index out of range"): e.g. the scans of the Diagonal
    BiLSTM layers, which share one compiled LSTMScan. Copies are made down the nested loops.
    """
    functions = {function.signature.name: function for function in graph_def.library.function}
    visited = set()

    def visit(nodes):
        for node in nodes:
            for attr in node.attr.values():
                if not (attr.HasField("func") and attr.func.name in functions):
                    continue
                name = attr.func.name
                if name in visited:
                    copy = graph_def.library.function.add()
                    copy.CopyFrom(functions[name])
                    copy.signature.name = _unused_name(name, functions)
                    name = attr.func.name = copy.signature.name
                    functions[name] = copy
                visited.add(name)
                visit(functions[name].node_def)

    visit(graph_def.node)


def _unused_name(name, taken):
    k = 1
    while f"{name}_call{k}" in taken:
        k += 1
    return f"{name}_call{k}"


@contextlib.contextmanager
def _quiet_converters():
    """tf2onnx logs every step and TensorFlow warns about the v1 APIs it uses; errors still show."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _metadata(model, name):
    height, width, channels = model.image_shape
    noise = "; ".join(
        f"{spec.name} {spec.dtype.name} (N, {', '.join(str(d) for d in spec.shape[1:])}) standard Gumbel"
        for spec in adapters.noise_specs(model).values()
    )
    labels = f"; labels int32 (N,) in [0, {model.num_classes})" if model.num_classes else ""
    inputs = {
        "log_prob": f"images int32 (N, {height}, {width}, {channels}) in [0, {model.levels}){labels}",
        "sample": f"{noise}; temperature float32 () > 0{labels}",
    }
    return {
        "pixelrnn.graph": name,
        "pixelrnn.inputs": inputs[name],
        **adapters.describe(model),
        "pixelrnn.image_shape": f"{height},{width},{channels}",
        "pixelrnn.levels": str(model.levels),
    }


def verify_onnx(model, path, num=4, seed=0, temperature=0.9):
    """Checks the two files in `path` and compares them in onnxruntime with `model`.

    Raises VerificationError on a checker or runtime error, or a mismatch.
    """
    images, _, labels = comparison_inputs(model, num, seed)
    noise = adapters.noise_from_seed(model, num, seed)
    feed = {name: tensor.numpy() for name, tensor in noise.items()}
    feed["temperature"] = np.array(temperature, np.float32)
    feed.update(labels.first)
    try:
        sessions = {}
        for name, file in FILES.items():
            onnx.checker.check_model(os.path.join(path, file), full_check=True)
            sessions[name] = onnxruntime.InferenceSession(os.path.join(path, file), providers=["CPUExecutionProvider"])
        (got,) = sessions["log_prob"].run(["log_prob"], {"images": images, **labels.all})
        (sampled,) = sessions["sample"].run(["images"], feed)
    except Exception as err:  # onnx's ValidationError and onnxruntime's own types (not RuntimeErrors)
        raise VerificationError(f"the ONNX graphs do not check or run in onnxruntime: {err}") from err
    difference = relative_difference(got, model.log_prob(images, **labels.all))
    # The noise of `seed` gives the images the library draws from that seed in raster order, as the graph does.
    expected = model.sample(num, seed=seed, temperature=temperature, wavefront=False, **labels.first)
    figures = {
        "log_prob_max_rel_diff": difference,
        "samples_identical": bool(np.array_equal(sampled, expected)),
        "num_images": len(images),
    }
    if not (difference <= LOG_PROB_RTOL and figures["samples_identical"]):
        raise VerificationError(f"onnxruntime disagrees with the Keras model: {figures}")
    return figures
