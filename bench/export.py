"""Export speed: log_prob and sampling in Keras, the reloaded SavedModel and onnxruntime, side by side (issue #5).

For each zoo model (bundled weights where there are some, fresh ones otherwise: speed does not
depend on the weights), the model is exported to a SavedModel and to ONNX in a temporary
directory, the SavedModel is reloaded with `tf.saved_model.load` and the ONNX graphs opened in
onnxruntime (CPU). Then, round robin over the runtimes, each round timing one call of each:

- log_prob of one batch of images: `model.log_prob` (Keras), the SavedModel's `log_prob`
  signature, onnxruntime's log_prob.onnx; images/s (median over rounds) and ratios to Keras;
- sampling one batch: `model.sample(num, seed)` (in-process, the XLA-compiled cached sampler),
  the SavedModel's `sample` signature (the same sampler, kept XLA-compiled in the SavedModel)
  and onnxruntime's sample.onnx (the same loop without XLA; its noise is drawn before timing);
  seconds per batch (median) and ratios to Keras.

The first call of each runtime (tracing, XLA compilation, session setup) is reported apart.
Before timing, the three runtimes are checked to agree (log_prob within 1e-4 relative, the
same images from the same seed / noise).

Run from the project root:  python bench/export.py [--quick] [--models mnist_diag,mnist_row,mnist_multiscale]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import medians, progress, round_robin, seconds_of  # noqa: E402

from pixelrnn_keras.export import adapters, to_onnx, to_saved_model  # noqa: E402
from pixelrnn_keras.zoo import get_card, load  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mnist_diag,mnist_row,mnist_pixelcnn", help="zoo names, comma-separated")
    parser.add_argument("--batch", type=int, default=32, help="images per log_prob call")
    parser.add_argument("--num", type=int, default=16, help="images per sampling call")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per runtime (the median counts)")
    parser.add_argument("--quick", action="store_true", help="smoke run: mnist_diag only, 2 rounds, batch 8, num 4")
    args = parser.parse_args()
    if args.quick:
        args.models, args.rounds, args.batch, args.num = "mnist_diag", 2, 8, 4
    return args


def runtimes(name, workdir, args):
    """The model, and {task: function} for each runtime, checked to agree."""
    card = get_card(name)
    model = load(name, weights="pretrained" if card.weights else None)
    weights = "bundled" if card.weights else "fresh"
    progress(f"{name}: exporting ({weights} weights) ...")
    saved_model = to_saved_model(model, os.path.join(workdir, f"{name}_saved_model"), verify=False)["path"]
    files = to_onnx(model, os.path.join(workdir, f"{name}_onnx"), verify=False)["files"]
    loaded = tf.saved_model.load(saved_model)
    sessions = {
        graph: onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]) for graph, path in files.items()
    }

    images = np.random.default_rng(0).integers(0, model.levels, (args.batch, *model.image_shape), dtype=np.int32)
    images_tensor = tf.constant(images)
    seed, temperature = 1, 1.0
    feed = {name: noise.numpy() for name, noise in adapters.noise_from_seed(model, args.num, seed).items()}
    feed["temperature"] = np.array(temperature, np.float32)
    sample_inputs = dict(
        num=tf.constant(args.num), seed=tf.constant(seed, tf.int64), temperature=tf.constant(temperature)
    )
    log_prob = {
        "Keras": lambda: model.log_prob(images).numpy(),
        "SavedModel": lambda: loaded.signatures["log_prob"](images=images_tensor)["log_prob"].numpy(),
        "onnxruntime": lambda: sessions["log_prob"].run(["log_prob"], {"images": images})[0],
    }
    sample = {
        "Keras": lambda: model.sample(args.num, seed=seed, temperature=temperature).numpy(),
        "SavedModel": lambda: loaded.signatures["sample"](**sample_inputs)["images"].numpy(),
        "onnxruntime": lambda: sessions["sample"].run(["images"], feed)[0],
    }
    first = {}
    results = {}
    for kind, tasks in (("log_prob", log_prob), ("sample", sample)):
        for runtime, fn in tasks.items():
            progress(f"{name}: first {kind} call in {runtime} ...")
            first[kind, runtime], results[kind, runtime] = seconds_of(fn)
    agree = all(
        np.allclose(results["log_prob", r], results["log_prob", "Keras"], rtol=1e-4, atol=0)
        and np.array_equal(results["sample", r], results["sample", "Keras"])
        for r in ("SavedModel", "onnxruntime")
    )
    return model, weights, log_prob, sample, first, agree


def main():
    args = parse_args()
    names = args.models.split(",")
    print(
        f"log_prob batch {args.batch}, sampling batch {args.num}; median of {args.rounds} round-robin rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; onnxruntime {onnxruntime.__version__} "
        f"(CPU), TensorFlow {tf.__version__}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            model, weights, log_prob, sample, first, agree = runtimes(name, workdir, args)
            progress(f"{name}: timing {args.rounds} rounds ...")
            lp = medians(round_robin(log_prob, args.rounds))
            sp = medians(round_robin(sample, args.rounds))
            rows.append((name, model, weights, lp, sp, first, agree))

    arch_width = max(16, *(len(adapters.describe(row[1])["pixelrnn.arch"]) for row in rows))
    header = (
        f"{'model':<16} {'arch':<{arch_width}} {'image':<8} {'Keras img/s':>11} {'SavedModel':>10} {'onnxruntime':>11} "
        f"{'SM/Keras':>8} {'ORT/Keras':>9}  agree"
    )
    print("\nlog_prob throughput (images/s; ratios > 1: faster than Keras)")
    print(header)
    print("-" * len(header))
    for name, model, _weights, lp, _, _, agree in rows:
        rate = {r: args.batch / s for r, s in lp.items()}
        arch, image = adapters.describe(model)["pixelrnn.arch"], "x".join(map(str, model.image_shape))
        print(
            f"{name:<16} {arch:<{arch_width}} {image:<8} {rate['Keras']:>11.1f} "
            f"{rate['SavedModel']:>10.1f} {rate['onnxruntime']:>11.1f} {rate['SavedModel'] / rate['Keras']:>8.2f} "
            f"{rate['onnxruntime'] / rate['Keras']:>9.2f}  {'yes' if agree else 'NO'}"
        )
    header = (
        f"{'model':<16} {'Keras s':>8} {'SavedModel s':>12} {'onnxruntime s':>13} {'SM/Keras':>8} {'ORT/Keras':>9}  "
        f"first call s: Keras / SavedModel / onnxruntime (sample; log_prob)"
    )
    print(f"\nsampling {args.num} images (seconds per batch; ratios: time relative to Keras, < 1 is faster)")
    print(header)
    print("-" * len(header))
    for name, _, _, _, sp, first, _ in rows:

        def firsts(kind):
            return " / ".join(f"{first[kind, r]:.1f}" for r in ("Keras", "SavedModel", "onnxruntime"))

        print(
            f"{name:<16} {sp['Keras']:>8.3f} {sp['SavedModel']:>12.3f} {sp['onnxruntime']:>13.3f} "
            f"{sp['SavedModel'] / sp['Keras']:>8.2f} {sp['onnxruntime'] / sp['Keras']:>9.2f}  "
            f"{firsts('sample')}; {firsts('log_prob')}"
        )
    print("\nweights: " + ", ".join(f"{name} {weights}" for name, _, weights, *_ in rows))


if __name__ == "__main__":
    main()
