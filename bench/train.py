#!/usr/bin/env python
"""Training and log_prob throughput of PixelCNN, Row LSTM, Diagonal BiLSTM and Gated PixelCNN, with the
achieved GFLOP/s as a fraction of this machine's fp32 GEMM peak measured in the same run.

For every arch at 28x28x1 (2 levels) and 32x32x3 (256 levels), all with the same depth
(--layers), h (--hidden) and head (--head), it times `model.train_on_batch` and
`model.log_prob` in steady state. All measurements, the GEMM peak included, are taken round
robin over the configs for several rounds and reduced to medians (the peak: best of), so that
noise from other processes on the machine hits every config alike. Compare ratios, not
absolute figures, across runs.

FLOPs are counted analytically from the model config (one multiply-add = 2 FLOPs), for the
useful computation on the H x W image only:
  - every masked convolution at the cost of its full dense kernel (masked taps ARE counted);
  - 1x1 convolutions, the head;
  - Row LSTM: input-to-state (1 x k) and state-to-state (k x 1) per pixel;
  - Diagonal BiLSTM: both directions' input-to-state 1x1 (right-to-left also reads the C
    image channels) and state-to-state 2x1 per pixel, counted on H x W pixels, NOT on the
    skewed H x (W + H - 1) map;
  - Gated PixelCNN: horizontal 1 x k (2h -> 2h), vertical (k//2 + 1) x k (h -> 2h; the first
    block's reads the C image channels, counted as h) and the 1x1 link (2h -> 2h) per pixel;
  - not counted: biases, activations, LSTM gate arithmetic, softmax/loss, optimizer update.
Training FLOPs = 3 x forward FLOPs; log_prob FLOPs = forward FLOPs.

Usage:
    python bench/train.py                 # full run (defaults below; several minutes on 2 cores)
    python bench/train.py --quick         # smoke run, < 2 minutes (1 layer, batch 8, 2 rounds)
    python bench/train.py --jit           # train step compiled with XLA (jit_compile=True)
    python bench/train.py --jit both      # with and without XLA, side by side in one run
    python bench/train.py --breakdown     # also time the pieces of one recurrent layer
    python bench/train.py --precision float32,mixed_bfloat16   # both Keras dtype policies side by side
    python bench/train.py --previous-log-prob   # log_prob also as its forward-only path ran before, side by side
"""

import argparse
import os
import platform
import statistics
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from timing import progress, round_robin, seconds_of  # noqa: E402

from pixelrnn_keras.layers import core_class, list_archs, row_lstm  # noqa: E402
from pixelrnn_keras.layers.cores import conv_flops  # noqa: E402
from pixelrnn_keras.layers.diagonal_layout import diagonal_layout  # noqa: E402
from pixelrnn_keras.layers.lstm import forget_bias  # noqa: E402
from pixelrnn_keras.layers.lstm_scan import forward_only  # noqa: E402
from pixelrnn_keras.layers.masked_conv import every_tap  # noqa: E402
from pixelrnn_keras.models import PixelRNN  # noqa: E402

ARCHS = list_archs()
IMAGES = (((28, 28, 1), 2), ((32, 32, 3), 256))
# Targets for the training step, as % of the fp32 GEMM peak, at h = 32.
TARGETS = {"diagonal_bilstm": 25.0, "row_lstm": 30.0}
# The archs whose layers run an LSTM scan (the others are convolutions only).
RECURRENT = tuple(arch for arch in ARCHS if core_class(arch).scans_lstm)
# The archs whose analytic FLOP count the TF profiler can confirm (its count misses ops inside loops).
PROFILED = ("pixelcnn",)


# ---------------------------------------------------------------------------------------
# Analytic FLOP counts (forward pass, per image). One multiply-add = 2 FLOPs.
# ---------------------------------------------------------------------------------------


def model_forward_flops(
    arch,
    image_shape,
    levels,
    num_layers,
    hidden,
    head_units,
    kernel_size=3,
    first_kernel_size=7,
    skip_connections=False,
):
    """Useful forward FLOPs of one image through `PixelRNN(...)` with this config: the core's own count
    (its `forward_flops`), the block's 1x1 convolutions around it, the first convolution and the head."""
    height, width, channels = image_shape
    h = hidden
    core = core_class(arch)
    block = core.forward_flops(height, width, h, channels, kernel_size) + conv_flops(height, width, 1, 1, h, 2 * h)
    if core.reduces_input:
        block += conv_flops(height, width, 1, 1, 2 * h, h)
    total = conv_flops(height, width, first_kernel_size, first_kernel_size, channels, 2 * h)
    total += num_layers * block
    if skip_connections:
        total += num_layers * conv_flops(height, width, 1, 1, 2 * h, 2 * h)
    total += conv_flops(height, width, 1, 1, 2 * h, head_units)
    total += conv_flops(height, width, 1, 1, head_units, channels * levels)
    return total


def profiler_flops(model):
    """Conv2D + MatMul FLOPs of one image as counted by TF's (v1) profiler, or None."""
    try:
        spec = tf.TensorSpec([1, *model.image_shape], tf.int32)
        graph = tf.function(model.call, autograph=False).get_concrete_function(spec).graph
        builder = tf.compat.v1.profiler.ProfileOptionBuilder
        options = builder(builder.float_operation()).with_empty_output().build()
        options["account_type_regexes"] = ["Conv2D", "MatMul"]
        return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops
    except Exception as error:  # optional check only
        print(f"  (TF profiler check skipped: {type(error).__name__}: {error})")
        return None


class Gemm:
    """fp32 square GEMM rate, tf.matmul and numpy (for reference)."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.n = n
        self.a_np = rng.standard_normal((n, n), dtype=np.float32)
        self.b_np = rng.standard_normal((n, n), dtype=np.float32)
        self.a, self.b = tf.constant(self.a_np), tf.constant(self.b_np)
        self.flops = 2 * n**3

    def tf(self):
        tf.matmul(self.a, self.b)[0, 0].numpy()

    def np(self):
        self.a_np @ self.b_np


# ---------------------------------------------------------------------------------------
# Whole-model benchmark
# ---------------------------------------------------------------------------------------


def previous_log_prob(model, images):
    """`model.log_prob` as its forward-only path ran before the convolutions skipped the taps
    their masks always close and the Row LSTM's forward-only scan took batch-major rows: every
    kernel tap, and the Row LSTM's rows transposed to the scan's (W, B) layout around the loop."""
    with forward_only(), every_tap(), mock.patch.object(row_lstm, "forward_only_active", lambda: False):
        return model.log_prob_from_logits(images, model(images))


class Config:
    def __init__(self, arch, image_shape, levels, args, jit=False, precision="float32"):
        self.arch, self.image_shape, self.levels, self.jit = arch, image_shape, levels, jit
        self.precision = precision
        self.image = "x".join(map(str, image_shape))
        self.variant = f"{'+jit' if jit else ''}{'' if precision == 'float32' else '+' + precision}"
        self.name = f"{arch}@{self.image}{self.variant}"
        keras.utils.set_random_seed(args.seed)
        self.model = PixelRNN(
            arch,
            image_shape,
            levels=levels,
            num_layers=args.layers,
            hidden=args.hidden,
            head_units=args.head,
            kernel_size=args.kernel,
            dtype=precision,
        )
        self.model.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=jit)
        rng = np.random.default_rng(args.seed)
        self.images = tf.constant(rng.integers(0, levels, (args.batch, *image_shape)), tf.int32)
        self.batch = args.batch
        self.forward_flops = model_forward_flops(
            arch, image_shape, levels, args.layers, args.hidden, args.head, args.kernel
        )
        self.params = self.model.count_params()
        model = self.model
        self._log_prob_training_forward = tf.function(lambda x: model.log_prob_from_logits(x, model(x)))
        self._previous_log_prob = tf.function(lambda x: previous_log_prob(model, x)) if args.previous_log_prob else None

    def train(self):
        self.model.train_on_batch(self.images)

    def log_prob(self):
        self.model.log_prob(self.images).numpy()  # (batch,): a tiny copy

    def log_prob_keeping_activations(self):
        """log_prob as it ran before the forward-only scans: the forward of training, no gradient taken."""
        self._log_prob_training_forward(self.images).numpy()

    def previous_log_prob(self):
        """log_prob through `previous_log_prob`."""
        self._previous_log_prob(self.images).numpy()

    def warm_up(self, warmup):
        self.first_train_s = seconds_of(self.train)[0]
        self.first_log_prob_s = seconds_of(self.log_prob)[0]
        self.log_prob_keeping_activations()
        if self._previous_log_prob:
            self.first_previous_log_prob_s = seconds_of(self.previous_log_prob)[0]
        for _ in range(warmup):
            self.train()
            self.log_prob()
            self.log_prob_keeping_activations()
            if self._previous_log_prob:
                self.previous_log_prob()


def print_log_prob_versus(configs, samples, results, task, title, names, first_call_s=None):
    """A table of log_prob img/s through `task` (another path, timed in the same rounds) against
    log_prob itself, per config that timed it; `first_call_s(config)` adds both first calls."""
    rows = []
    for c in configs:
        other = samples.get(f"{task} {c.name}")
        if other is None:
            continue
        other_ips, ips = c.batch / statistics.median(other), results[c.name]["lp_ips"]
        row = [c.arch, c.image, c.precision, f"{other_ips:.1f}", f"{ips:.1f}", f"{ips / other_ips:.3f}"]
        rows.append(row + (first_call_s(c) if first_call_s else []))
    if rows:
        header = ["arch", "image", "precision", *names, "ratio"]
        header += [f"1st call s {name}" for name in names] if first_call_s else []
        print(f"\nlog_prob img/s: {title}:")
        print(fmt_table(header, rows))


def fmt_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def run_models(args, log):
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    configs = [
        Config(arch, shape, levels, args, jit, precision)
        for shape, levels in args.images
        for jit in jits
        for precision in args.precision
        for arch in args.archs
    ]
    for c in configs:
        log(f"compiling + warm-up {c.name} ...")
        c.warm_up(args.warmup)
        log(f"  first train_on_batch {c.first_train_s:.1f}s, first log_prob {c.first_log_prob_s:.1f}s")

    if args.check_flops:
        for c in configs:
            if c.arch in PROFILED:
                counted = profiler_flops(c.model)
                if counted is not None:
                    agree = "agrees" if counted == c.forward_flops else "DIFFERS"
                    print(
                        f"FLOP check {c.name}: analytic {c.forward_flops / 1e6:.3f} MFLOP/img, "
                        f"TF profiler (Conv2D+MatMul, batch 1) {counted / 1e6:.3f} MFLOP/img: {agree}"
                    )

    gemm = Gemm(args.gemm_size, args.seed)
    gemm.tf()
    gemm.np()
    tasks = {"gemm_tf": gemm.tf, "gemm_np": gemm.np}
    for c in configs:
        tasks[f"train {c.name}"] = c.train
        tasks[f"log_prob {c.name}"] = c.log_prob
        if c.arch in RECURRENT:  # only the recurrent archs' scans keep activations
            tasks[f"log_prob (training forward) {c.name}"] = c.log_prob_keeping_activations
        if c._previous_log_prob:
            tasks[f"log_prob (previous forward-only) {c.name}"] = c.previous_log_prob
    log(f"timing: {args.rounds} rounds x {args.reps} reps, round robin over {len(tasks)} tasks ...")
    samples = round_robin(tasks, args.rounds, args.reps, log)

    gemm_tf = [gemm.flops / t / 1e9 for t in samples["gemm_tf"]]
    gemm_np = [gemm.flops / t / 1e9 for t in samples["gemm_np"]]
    peak = max(gemm_tf)
    print()
    print(
        f"fp32 GEMM {args.gemm_size}^2, {len(gemm_tf)} samples: tf.matmul best {peak:.1f} GFLOP/s "
        f"(median {statistics.median(gemm_tf):.1f}); numpy best {max(gemm_np):.1f} "
        f"(median {statistics.median(gemm_np):.1f}). PEAK = tf.matmul best = {peak:.1f} GFLOP/s"
    )
    print()

    rows, results = [], {}
    for c in configs:
        t_train = statistics.median(samples[f"train {c.name}"])
        t_lp = statistics.median(samples[f"log_prob {c.name}"])
        train_ips, lp_ips = c.batch / t_train, c.batch / t_lp
        train_gflops = 3 * c.forward_flops * train_ips / 1e9
        lp_gflops = c.forward_flops * lp_ips / 1e9
        results[c.name] = dict(
            cfg=c, train_ips=train_ips, lp_ips=lp_ips, train_gflops=train_gflops, lp_gflops=lp_gflops
        )
        target = TARGETS.get(c.arch)
        pct = 100 * train_gflops / peak
        status = "" if target is None else f">={target:.0f}% {'ok' if pct >= target else 'MISS'}"
        rows.append(
            [
                c.arch,
                c.image,
                "yes" if c.jit else "no",
                c.precision,
                f"{c.params:,}",
                f"{c.forward_flops / 1e6:.1f}",
                f"{train_ips:.1f}",
                f"{lp_ips:.1f}",
                f"{train_gflops:.2f}",
                f"{pct:.1f}%",
                f"{lp_gflops:.2f}",
                f"{100 * lp_gflops / peak:.1f}%",
                status,
                f"{c.first_train_s:.0f}",
            ]
        )
    print(
        fmt_table(
            [
                "arch",
                "image",
                "jit",
                "precision",
                "params",
                "fwd MFLOP/img",
                "train img/s",
                "log_prob img/s",
                "train GFLOP/s",
                "train %peak",
                "lp GFLOP/s",
                "lp %peak",
                "target (train)",
                "1st step s",
            ],
            rows,
        )
    )
    print(
        f"(%peak is against the best-of GEMM; against the median GEMM of the same rounds, "
        f"multiply by {peak / statistics.median(gemm_tf):.2f})"
    )
    print()
    rows = []
    for c in configs:
        base = results.get(f"pixelcnn@{c.image}{c.variant}")
        if base is None:
            continue
        r = results[c.name]
        rows.append(
            [
                c.arch,
                c.image,
                "yes" if c.jit else "no",
                c.precision,
                f"{c.forward_flops / base['cfg'].forward_flops:.2f}",
                f"{r['train_ips'] / base['train_ips']:.3f}",
                f"{r['lp_ips'] / base['lp_ips']:.3f}",
                f"{r['train_gflops'] / base['train_gflops']:.3f}",
                f"{r['lp_gflops'] / base['lp_gflops']:.3f}",
            ]
        )
    if rows:
        print("relative to PixelCNN at the same image (ratio of medians):")
        print(
            fmt_table(
                [
                    "arch",
                    "image",
                    "jit",
                    "precision",
                    "FLOP/img",
                    "train img/s",
                    "log_prob img/s",
                    "train GFLOP/s",
                    "lp GFLOP/s",
                ],
                rows,
            )
        )
    rows = []
    for c in configs:
        base = results.get(f"{c.arch}@{c.image}{'+jit' if c.jit else ''}")
        if c.precision == "float32" or base is None:
            continue
        r = results[c.name]
        rows.append(
            [
                c.arch,
                c.image,
                "yes" if c.jit else "no",
                c.precision,
                f"{r['train_ips'] / base['train_ips']:.3f}",
                f"{r['lp_ips'] / base['lp_ips']:.3f}",
            ]
        )
    if rows:
        print("\nrelative to float32, same arch and image (ratio of medians; > 1: faster):")
        print(fmt_table(["arch", "image", "jit", "precision", "train img/s", "log_prob img/s"], rows))
    print_log_prob_versus(
        configs,
        samples,
        results,
        "log_prob (training forward)",
        "the training forward (scans keep activations) vs forward-only (what log_prob runs)",
        ["training forward", "forward-only"],
    )
    print_log_prob_versus(
        configs,
        samples,
        results,
        "log_prob (previous forward-only)",
        "the previous forward-only path (previous_log_prob) vs today's (what log_prob runs)",
        ["previous", "now"],
        first_call_s=lambda c: [f"{c.first_previous_log_prob_s:.1f}", f"{c.first_log_prob_s:.1f}"],
    )
    spread = (
        max((statistics.pstdev(v) / statistics.median(v), k) for k, v in samples.items() if len(v) > 1)
        if any(len(v) > 1 for v in samples.values())
        else None
    )
    if spread:
        print(f"\nnoise: largest stdev/median over samples {100 * spread[0]:.0f}% ({spread[1]})")
    return configs, peak


# ---------------------------------------------------------------------------------------
# Breakdown of one recurrent layer (block_0's core) into pieces
# ---------------------------------------------------------------------------------------


def touch(x):
    """Wait for `x` (a tensor or a nest of them) by reading one element: no host copy."""
    for t in tf.nest.flatten(x):
        tf.reshape(t, [-1])[0].numpy()


def _step_gemm_tasks(T, d, m, k, n):
    """A jit-compiled loop of T dependent batched matmuls (d, m, k) x (d, k, n), and one matmul of the same FLOPs."""
    a = tf.random.normal([T, d, m, k])
    w = tf.random.normal([d, k, n]) * 0.05

    @tf.function(jit_compile=True, autograph=False)
    def loop(a, w):
        return tf.scan(lambda c, x: tf.matmul(x + c[..., :k], w), a, initializer=tf.zeros([d, m, n]))

    @tf.function(jit_compile=True, autograph=False)
    def one(a, w):
        return tf.matmul(tf.reshape(tf.transpose(a, [1, 0, 2, 3]), [d, T * m, k]), w)

    return (lambda: touch(loop(a, w))), (lambda: touch(one(a, w))), 2 * T * d * m * k * n


def _layer_tasks(core, inputs, ctx):
    """Whole-layer forward and forward+backward (inputs and weights), in graph mode as in training.

    The inputs are arguments, not captured: XLA would constant-fold captured tensors.
    """
    args = (inputs,) if ctx is None else (inputs, ctx)

    @tf.function(autograph=False)
    def layer_fwd(*args):
        return core(*args)

    def fwd_bwd(*args):
        with tf.GradientTape() as tape:
            tape.watch(args[0])
            out = core(*args)
        return tape.gradient(out, [args[0], *core.trainable_variables])

    graph = tf.function(fwd_bwd, autograph=False)
    xla = tf.function(fwd_bwd, autograph=False, jit_compile=True)
    return (lambda: touch(layer_fwd(*args))), (lambda: touch(graph(*args))), (lambda: touch(xla(*args)))


def _recurrent_layer_tasks(core, inputs, ctx, gates, kernel, valid, chunks, layout, useful_i2s, useful_s2s):
    """Pieces shared by both recurrent layers: layout, the scan and its gradient, step GEMMs, the layer.

    gates: the whole (T, D, B, S, 4u) map or its chunks; kernel (D, k * u, 4u), valid, chunks: as
    `LSTMScan` takes them; layout: {name: (fn, input)} of the layout pieces around the scan.
    """
    scan = core._scan
    if not isinstance(gates, tuple):
        gates, valid, chunks = (gates,), (valid,), ((0, None, 0, None),)
    _, directions, _, batch, _ = gates[0].shape
    positions = max(g.shape[2] for g in gates)
    hidden, saved = scan.forward(gates, kernel, valid, chunks)
    d_hidden = tuple(tf.random.normal(h.shape) for h in hidden)
    # The step GEMMs as the chunks execute them: (t1 - t0) steps over s1 - s0 positions each.
    executed_steps = sum(g.shape[0] * g.shape[2] for g in gates) // positions
    loop, one, gemm_flops = _step_gemm_tasks(
        executed_steps, directions, batch * positions, kernel.shape[1], kernel.shape[2]
    )
    layer_fwd, layer_fwd_bwd, layer_xla = _layer_tasks(core, inputs, ctx)
    tasks = {name: ((lambda f=f, x=x: touch(f(*x))), 0, 0) for name, (f, x) in layout.items()}
    tasks.update(
        {
            "LSTM scan forward (XLA)": (
                lambda: touch(scan.forward(gates, kernel, valid, chunks)),
                useful_s2s,
                gemm_flops,
            ),
            "LSTM scan backward (XLA)": (
                lambda: touch(scan.backward(kernel, valid, chunks, saved, d_hidden)),
                2 * useful_s2s,
                2 * gemm_flops,
            ),
            f"  {executed_steps} step GEMMs {directions}x({batch * positions}x{kernel.shape[1]})x({kernel.shape[1]}x"
            f"{kernel.shape[2]}) in a loop": (loop, gemm_flops, gemm_flops),
            "  the same GEMM FLOPs as one matmul": (one, gemm_flops, gemm_flops),
            "LAYER forward": (layer_fwd, useful_i2s + useful_s2s, None),
            "LAYER forward+backward": (layer_fwd_bwd, 3 * (useful_i2s + useful_s2s), None),
            "  LAYER forward+backward, jit_compile=True": (layer_xla, 3 * (useful_i2s + useful_s2s), None),
        }
    )
    return tasks, gemm_flops


def diagonal_pieces(core, batch, image_shape, hidden):
    height, width, channels = image_shape
    u = core.units
    inputs = tf.random.normal([batch, height, width, 2 * hidden])
    ctx = tf.random.uniform([batch, height, width, channels], -1.0, 1.0)

    @tf.function(autograph=False)
    def input_to_state():
        return core.input_gates(inputs, ctx)

    left, right = input_to_state()
    layout = diagonal_layout(height, width)
    chunks, valid = layout.chunks, layout.valid(height, width, left.dtype)
    columns = layout.to_chunks(left, right)
    kernel = tf.identity(core.state_to_state)
    useful_s2s = batch * 2 * conv_flops(height, width, 2, 1, u, 4 * u)
    useful_i2s = batch * (
        conv_flops(height, width, 1, 1, 2 * hidden, 4 * u)
        + conv_flops(height, width, 1, 1, 2 * hidden + channels, 4 * u)
    )
    hidden_states = core._scan.forward(columns, kernel, valid, chunks)[0]
    layout_tasks = {
        "image to the scan's chunks, both directions (XLA gather, fwd)": (layout.to_chunks, (left, right)),
        "chunks to the image (XLA gather, fwd)": (layout.to_image, (hidden_states, height, width)),
    }
    tasks, gemm_flops = _recurrent_layer_tasks(
        core, inputs, ctx, columns, kernel, valid, chunks, layout_tasks, useful_i2s, useful_s2s
    )
    tasks = {
        "input-to-state, both directions (fwd)": (lambda: touch(input_to_state()), useful_i2s, useful_i2s),
        **tasks,
    }
    note = (
        f"skewed scan: {height + width - 1} steps over B*H={batch * height} positions per direction, in "
        f"{len(chunks)} chunks of columns; "
        f"executes {gemm_flops / useful_s2s:.2f}x the useful state-to-state FLOPs (skew)"
    )
    return tasks, note


def row_pieces(core, batch, image_shape, hidden):
    height, width, _ = image_shape
    u, k = core.units, core.kernel_size
    inputs = tf.random.normal([batch, height, width, 2 * hidden])

    @tf.function(autograph=False)
    def input_to_state():
        g = core.input_to_state(inputs)
        return g + forget_bias(u, g.dtype)

    @tf.function(autograph=False)
    def to_rows(g):
        return tf.transpose(g, [1, 2, 0, 3])[:, None]

    gates = input_to_state()
    rows = to_rows(gates)
    kernel = tf.identity(core.state_to_state)[None]
    useful_s2s = batch * conv_flops(height, width, 1, k, u, 4 * u)
    useful_i2s = batch * conv_flops(height, width, 1, k, 2 * hidden, 4 * u)
    layout = {"transpose to rows (fwd)": (to_rows, (gates,))}
    valid = tf.ones([height, 1, width, 1, 1])
    tasks, _ = _recurrent_layer_tasks(core, inputs, None, rows, kernel, valid, None, layout, useful_i2s, useful_s2s)
    tasks = {f"input-to-state 1x{k} conv (fwd)": (lambda: touch(input_to_state()), useful_i2s, useful_i2s), **tasks}
    note = f"row scan: {height} steps over B*W={batch * width} positions; step kernel ({k * u}x{4 * u})"
    return tasks, note


# The pieces of one layer of each arch whose time `run_breakdown` splits up.
BREAKDOWNS = {"diagonal_bilstm": diagonal_pieces, "row_lstm": row_pieces}


def run_breakdown(configs, args, peak, log):
    seen = set()
    for c in configs:
        if c.arch not in BREAKDOWNS or (c.arch, c.image) in seen:
            continue
        seen.add((c.arch, c.image))
        core = c.model.blocks[0].core
        tasks, note = BREAKDOWNS[c.arch](core, args.batch, c.image_shape, args.hidden)
        step = f"whole train step ({args.layers} layers + head + Adam)"
        tasks[step] = (c.train, 3 * c.forward_flops * args.batch, None)
        log(f"breakdown {c.name}: compiling pieces ...")
        for name, (fn, _, _) in list(tasks.items()):
            try:
                fn()
                fn()
            except Exception as error:  # e.g. a piece XLA cannot compile: report, keep the rest
                print(f"  piece {name.strip()!r} failed: {type(error).__name__}: {str(error)[:200]}")
                del tasks[name]
        samples = round_robin({name: t[0] for name, t in tasks.items()}, args.rounds, args.reps)
        t_step = statistics.median(samples[step])
        print(f"\nbreakdown of one {c.arch} layer at {c.image_shape}, batch {args.batch}, h={args.hidden} ({note})")
        rows = []
        for name, (_, useful, executed) in tasks.items():
            t = statistics.median(samples[name])
            rows.append(
                [
                    name,
                    f"{1e3 * t:.1f}",
                    f"{useful / t / 1e9:.2f}" if useful else "",
                    f"{100 * useful / t / 1e9 / peak:.1f}%" if useful else "",
                    f"{executed / t / 1e9:.2f}" if executed else "",
                ]
            )
        layer = statistics.median(samples["LAYER forward+backward"])
        rows[-1][-1] = f"(layers: {100 * args.layers * layer / t_step:.0f}% of it)"
        print(fmt_table(["piece", "ms (median)", "useful GFLOP/s", "useful %peak", "executed GFLOP/s"], rows))


# ---------------------------------------------------------------------------------------


def parse_images(text):
    out = []
    for item in text.split(","):
        shape, levels = item.split(":")
        out.append((tuple(int(s) for s in shape.split("x")), int(levels)))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", default=",".join(ARCHS), help="comma-separated subset of %(default)s")
    p.add_argument("--images", default="28x28x1:2,32x32x3:256", help="HxWxC:levels,... (default %(default)s)")
    p.add_argument("--layers", type=int, default=None, help="residual blocks (default 4; --quick: 1)")
    p.add_argument("--hidden", type=int, default=32, help="h (default %(default)s)")
    p.add_argument("--head", type=int, default=64, help="head_units (default %(default)s)")
    p.add_argument("--kernel", type=int, default=3, help="kernel_size k (default %(default)s)")
    p.add_argument("--batch", type=int, default=None, help="images per step (default 32; --quick: 8)")
    p.add_argument("--rounds", type=int, default=None, help="round-robin rounds (default 3; --quick: 2)")
    p.add_argument("--reps", type=int, default=None, help="timed calls per task per round (default 3; --quick: 1)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls after the first (default 2; --quick: 1)")
    p.add_argument("--gemm-size", type=int, default=2048, help="n of the n x n GEMM peak (default %(default)s)")
    p.add_argument(
        "--jit",
        nargs="?",
        const="on",
        default="off",
        choices=("off", "on", "both"),
        help="compile the train step with XLA (jit_compile=True); 'both' times each config "
        "with and without, side by side in the same round robin",
    )
    p.add_argument(
        "--precision",
        default="float32",
        help="comma-separated Keras dtype policies, e.g. float32,mixed_bfloat16 (default %(default)s)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 1 layer, batch 8, 2 rounds x 1 rep")
    p.add_argument("--breakdown", action="store_true", help="also time the pieces of one recurrent layer")
    p.add_argument(
        "--previous-log-prob",
        action="store_true",
        help="also time log_prob as its forward-only path ran before (every kernel tap, Row LSTM rows in "
        "the scan's (W, B) layout), side by side",
    )
    p.add_argument(
        "--no-check-flops",
        dest="check_flops",
        action="store_false",
        help="skip the TF-profiler check of the PixelCNN FLOP count",
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    quick = dict(layers=1, batch=8, rounds=2, reps=1, warmup=1)
    full = dict(layers=4, batch=32, rounds=3, reps=3, warmup=2)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.archs = [a.strip() for a in args.archs.split(",")]
    for a in args.archs:
        if a not in ARCHS:
            p.error(f"unknown arch {a!r}")
    args.images = parse_images(args.images)
    args.precision = [name.strip() for name in args.precision.split(",")]
    for name in args.precision:
        if name not in ("float32", "mixed_bfloat16", "bfloat16", "mixed_float16"):
            p.error(f"--precision: unknown dtype policy {name!r}")

    log = progress
    print(
        f"bench/train.py: TF {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, devices {[d.device_type for d in tf.config.list_physical_devices()]}"
    )
    print(
        f"layers={args.layers} hidden={args.hidden} head={args.head} kernel={args.kernel} batch={args.batch} "
        f"rounds={args.rounds} reps={args.reps} jit_compile(train)={args.jit} precision={','.join(args.precision)}"
        f"{' QUICK' if args.quick else ''}; "
        "log_prob uses the model's own tf.function (recurrences XLA-compiled in both)"
    )
    print(
        "FLOPs: useful, analytic, 2 per multiply-add; masked taps counted; Diagonal BiLSTM on HxW "
        "(not the skewed map); train = 3x forward; figures are medians, peak is best-of"
    )
    configs, peak = run_models(args, log)
    if args.breakdown:
        run_breakdown(configs, args, peak, log)
    log("done")


if __name__ == "__main__":
    main()
