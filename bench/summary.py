"""BENCHMARKS.md, written from bench/results/*.json: only numbers that were measured."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def write_summary(results: Path, output: Path = OUTPUT) -> Path:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}
    lines = ["# Benchmarks", "", "Written by `python -m bench` from `bench/results/*.json`; rerun it to refresh.", ""]
    for name, result in found.items():
        if name not in SECTIONS or "skipped" in result:
            continue  # a result with no section here (e.g. curriculum.json, summarised in docs/shipped-experiments.md)
        machine = result["machine"]
        lines += [
            f"## {name}",
            "",
            f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores, torch {machine['torch']}, "
            f"{machine['torch_threads']} threads, GPU: {machine['gpu'] or 'none'}), learnai {machine['learnai']}.",
            "",
        ]
        lines += SECTIONS[name](result) + [""]
    lines += _gpu_results(results / "gpu") or _gpu_section(found)
    output.write_text("\n".join(lines))
    return output


def _gpu_results(folder: Path) -> list[str]:
    """The GPU section from results measured on a CUDA machine (`python -m bench --results bench/results/gpu`)."""
    found = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    if not found:
        return []
    machine = next(iter(found.values()))["machine"]
    lines = [
        "## GPU",
        "",
        f"Measured {machine['date']} on an {machine['gpu']} (driver {machine.get('driver')}, CUDA "
        f"{machine.get('cuda')}), {machine['cores']} CPU cores ({machine['cpu']}), torch {machine['torch']}, "
        f"learnai {machine['learnai']}, by `python -m bench --results bench/results/gpu` on that machine.",
        "",
    ]
    for name, result in found.items():
        if name in SECTIONS and "skipped" not in result:
            section = [line.replace("bench/results/scaling.png", "bench/results/gpu/scaling.png") for line in
                       SECTIONS[name](result)]  # fmt: skip
            lines += [f"### {name} (GPU)", ""] + section + [""]
    return lines


def _gpu_section(found: dict[str, dict]) -> list[str]:
    """Says which figures were measured on a GPU, or that none was, from what the results recorded."""
    on_gpu = {name: result["machine"]["gpu"] for name, result in found.items() if result["machine"].get("gpu")}
    if on_gpu:
        measured = ", ".join(f"{name} on {gpu}" for name, gpu in on_gpu.items())
        return ["## GPU", "", f"Measured on a GPU: {measured}.", ""]
    return [
        "## GPU",
        "",
        "No GPU was available to the session that measured these figures, so there are no GPU numbers here.",
        "Run `python -m bench` on a CUDA machine (learnai picks CUDA with `device: auto`) to add them.",
        "",
    ]


def _overhead(r: dict) -> list[str]:
    hand, same, fast = r["hand_written_loop"], r["learnai_fp32"], r["learnai_bf16_channels_last"]
    return [
        f"Data: {r['data']}. Same model (basic_cnn), SGD lr 0.01 momentum 0.5, batch 64, 1 epoch; training time only.",
        "",
        "| loop | samples/s | train seconds | vs hand-written |",
        "| --- | ---: | ---: | ---: |",
        f"| hand-written (DataLoader over torchvision MNIST, ToTensor + Normalize) | {hand['samples_per_s']:,.0f} "
        f"| {hand['train_seconds']} | 1.00x |",
        f"| learnai train, fp32 (same settings) | {same['samples_per_s']:,.0f} | {same['train_seconds']} | "
        f"{r['ratio_fp32']:.2f}x |",
        f"| learnai train, bf16 + channels_last | {fast['samples_per_s']:,.0f} | {fast['train_seconds']} | "
        f"{r['ratio_fast']:.2f}x |",
    ]


def _time_to_accuracy(r: dict) -> list[str]:
    epoch, digits = r["one_epoch"], r["real_digits"]
    lines = [
        f"`{r['config']}` on {r['data']}.",
        "",
        f"- one epoch over {epoch['train_samples']:,} training images: {epoch['train_seconds']} s of training "
        f"({epoch['samples_per_s']:,.0f} samples/s), "
        f"{epoch['wall_seconds']} s wall-clock with data loading and validation, on {epoch['device']}.",
    ]
    if "official_test_accuracy" in r:
        lines.append(
            f"- official MNIST test accuracy after that epoch: {r['official_test_accuracy']:.4f} (reached 99%: "
            f"{r['reached_99']})."
        )
    else:
        lines.append(
            "- the official MNIST training set was not available, so time to 99% on the official split was not "
            "measured here."
        )
    if "skipped" in digits:
        lines.append(f"- real-digit accuracy: skipped ({digits['skipped']}).")
    else:
        lines.append(
            f"- real digits ({digits['split']}): {digits['test_accuracy']:.4f} test accuracy on "
            f"{digits['test_samples']} digits after {digits['epochs']} epochs "
            f"({digits['train_seconds']} s of training)."
        )
    return lines


def _scaling(r: dict) -> list[str]:
    lines = [
        f"Data: {r['data']}. {r['precision']}. Plot: `bench/results/scaling.png`.",
        "",
        "| batch size | samples/s |",
        "| ---: | ---: |",
    ]
    lines += [f"| {b} | {v:,.0f} |" for b, v in r["samples_per_s_by_batch_size"].items()]
    lines += ["", "| channels (batch 256) | samples/s |", "| --- | ---: |"] + [
        f"| {w} | {v:,.0f} |" for w, v in r["samples_per_s_by_channels"].items()
    ]
    lines += ["", "| CPU threads (batch 256) | samples/s |", "| ---: | ---: |"] + [
        f"| {t} | {v:,.0f} |" for t, v in r["samples_per_s_by_threads"].items()
    ]
    return lines


def _startup(r: dict) -> list[str]:
    load = f" Load average {r['load_average']} at the end (a shared machine)." if "load_average" in r else ""
    lines = [
        f"Median of {r['repeats']} runs, each a fresh interpreter.{load}",
        "",
        "| command | seconds |",
        "| --- | ---: |",
    ]
    lines += [f"| `{command}` | {seconds} |" for command, seconds in r["median_seconds"].items()]
    return lines + (_fixed_cost(r["fixed_cost"]) if "fixed_cost" in r else [])


def _fixed_cost(cost: dict) -> list[str]:
    """Issue 13's targets: train within import torch + its training + 1.0 s, the other commands import torch + 0.7 s."""
    torch_s, training = cost["import_torch"], cost["training_seconds"]
    lines = [
        "",
        f"Fixed cost of the commands that use torch, on a small run (linear regression, {training} s of training as "
        f"meta.json records it), over `python -c 'import torch'` ({torch_s} s) measured alongside:",
        "",
        "| command | seconds | over import torch | target over import torch |",
        "| --- | ---: | ---: | ---: |",
    ]
    for command, seconds in cost["median_seconds"].items():
        target = f"{training} + 1.0" if command.startswith("learnai train") else "0.7"
        lines.append(f"| `{command}` | {seconds} | {seconds - torch_s:+.2f} | {target} |")
    return lines


def _vision_startup(cost: dict) -> list[str]:
    """Issue 29's target: a 1-epoch vision run within import torch + its training + 1.0 s; and its phases."""
    torch_s, training, steps = cost["import_torch"], cost["training_seconds"], cost["phases"]
    lines = [
        f"Median of {steps['repeats']} runs, each a fresh interpreter. A vision run on {cost['data']} "
        f"(`configs/mnist_cnn.yaml`, {training} s of training as meta.json records it), over `python -c 'import "
        f"torch'` ({torch_s} s) measured alongside:",
        "",
        "| command | seconds | over import torch | target over import torch |",
        "| --- | ---: | ---: | ---: |",
    ]
    for command, seconds in cost["median_seconds"].items():
        target = f"{training} + 1.0" if command.startswith("learnai train") else "-"
        lines.append(f"| `{command}` | {seconds} | {seconds - torch_s:+.2f} | {target} |")
    lines += [
        "",
        f"Where `{steps['command']}` spends its time, phase by phase (`python -m bench.vision_startup DATA`; "
        f"median, min and max of {steps['repeats']} runs, load average {steps['load_average']} at the end):",
        "",
        "| phase | median s | min s | max s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for phase, seconds in steps["median_seconds"].items():
        lines.append(f"| {phase} | {seconds} | {steps['min_seconds'][phase]} | {steps['max_seconds'][phase]} |")
    return lines


def _curriculum_overhead(r: dict) -> list[str]:
    modes = [mode for mode in ("quiet", "busy") if mode in r]
    lines = [
        "Whole processes, spawn to exit: `python -m learnai_cli train configs/<config>.yaml --no-progress` "
        "against the plain PyTorch",
        "loop a learner writes for the same experiment (`bench/handwritten/<config>.py`: same model, data, loss, "
        "optimizer, epochs,",
        "batch size; train + validate every epoch). Run by `python -m bench.curriculum_overhead [--busy]`.",
        "",
    ]
    for mode in modes:
        m = r[mode]
        scale = f", epochs overridden to {m['epochs_override']}" if m.get("epochs_override") else ""
        neighbour = (
            "beside a busy neighbour (a CPU-bound process spinning on one core)"
            if mode == "busy"
            else "with no neighbour of our own"
        )
        lines.append(
            f"- {mode}: {m['machine']['date']}, {neighbour}; median of {max(row['repeats'] for row in m['rows'])} "
            f"run(s) each{scale}; "
            f"load average before {m['machine']['load_average_before'][0]}; `python -c 'import torch'` "
            f"{'not recorded' if m['import_torch_s'] is None else str(m['import_torch_s']) + ' s'} (the floor "
            "under both)."
            + (f" Child processes: {m['environment']}." if m.get("environment") else "")
            + (f" Note: {m['note']}." if m.get("note") else "")
        )
    rows = {row["config"]: {} for mode in modes for row in r[mode]["rows"]}
    for mode in modes:
        for row in r[mode]["rows"]:
            rows[row["config"]][mode] = row
    header = "| config |" + "".join(
        f" learnai wall s ({mode}) | hand-written wall s ({mode}) | ratio ({mode}) |" for mode in modes
    )
    lines += ["", header, "| --- |" + " ---: | ---: | ---: |" * len(modes)]
    for config, by_mode in rows.items():
        cells = "".join(
            f" {row['learnai_s']:.2f} | {row['handwritten_s']:.2f} | {row['ratio']:.2f}x |" if row else " - | - | - |"
            for row in (by_mode.get(mode) for mode in modes)
        )
        lines.append(f"| {config} |{cells}")
    return lines


def _health_overhead(r: dict) -> list[str]:
    """The health readings' cost: health-on over health-off training time, in alternating pairs of processes."""
    overall = r.get("overall_train_ratio") or {}
    lines = [
        "What the health readings (`train.health`) cost: each curriculum config trained in pairs of fresh processes, "
        "health on and off,",
        "alternating which goes first; a pair's ratio is on/off training time (the epochs' `epoch_time`). The "
        "readings' share is their",
        "own timed seconds (each health record's `seconds`) over the health-on run's training time. Run by "
        "`python -m bench.health_overhead`.",
        "",
        f"- {r.get('pairs')} pairs in all; a shared machine: single pairs vary by far more than the cost, so read "
        "the medians and the readings' share.",
    ]
    for run in r.get("runs", []):
        load = run.get("load_average_before")
        lines.append(
            f"- {run['date']}: {', '.join(run['configs'])}, {run['pairs']} pairs each; load average before "
            f"{load[0] if load else 'not recorded'}"
            + (f", after {run['load_average_after'][0]}" if run.get("load_average_after") else "")
            + (f" ({run['load']})" if run.get("load") else "")
            + "."
        )
    if r.get("note"):
        lines.append(f"- Note: {r['note']}")
    if overall:
        lines.append(
            f"- All pairs: median ratio {overall['median']:.3f}x (quartiles {overall['q1']:.3f}-{overall['q3']:.3f}x, "
            f"lowest {overall['low']:.3f}x, highest {overall['high']:.3f}x); the budget is {r['budget_ratio']:.2f}x. "
            f"Largest median reading share of any config: {r['largest_reading_share']:.2%}."
        )
    lines += [
        "",
        "| config | readings per run | median on/off | quartiles | lowest - highest | readings' share |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in r["rows"]:
        t, share = row.get("train_ratio"), row.get("reading_share")
        if not t:
            lines.append(f"| {row['config']} | - | failed | - | - | - |")
            continue
        lines.append(
            f"| {row['config']} | {row['readings_per_run']} | {t['median']:.3f}x | {t['q1']:.3f}-{t['q3']:.3f}x | "
            f"{t['low']:.3f}-{t['high']:.3f}x | {share['median']:.2%} |"
        )
    return lines


def _gpu(r: dict) -> list[str]:
    lines = [
        f"`{r['config']}` on {r['data']}; training seconds per epoch (validation excluded), data resident on the GPU.",
        "",
        "| settings | epoch seconds | samples/s | val accuracy (random labels) | train call, s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in {**r["one_epoch"], **r["two_epochs_compiled"]}.items():
        seconds = " / ".join(f"{s:.3f}" for s in m["epoch_seconds"])
        rate = " / ".join(f"{v:,.0f}" for v in m["samples_per_s"])
        lines.append(f"| {name} | {seconds} | {rate} | {m['val_accuracy']:.3f} | {m['train_call_wall_seconds']} |")
    process, syncs = r["whole_process"], r["host_syncs"]
    lines += ["", "Compiled runs show epoch 1 (with compilation) / epoch 2."]
    if "wall_seconds" in process:
        lines.append(f"- `{process['command']}` as a fresh process, spawn to exit: {process['wall_seconds']} s wall.")
    counts = ", ".join(f"{n.replace('_', ' ')}: {c}" for n, c in syncs.items())
    lines.append(f"- synchronizing CUDA calls in one fit (no log interval inside): {counts}.")
    step = r.get("per_step_profile")
    if step:
        top = ", ".join(f"{op} {ms} ms" for op, ms in list(step["top_host_ops_ms_per_step"].items())[:5])
        lines.append(
            f"- one step ({step['settings']}): {step['wall_ms_per_step']} ms wall, "
            f"{step['kernel_launches_per_step']} kernel launches, {step['gpu_kernel_ms_per_step']} ms of GPU kernels; "
            f"most host time: {top}."
        )
    return lines


def _tune(r: dict) -> list[str]:
    searches = {"grid (every point trained to the end)": r["grid"], "TPE + median pruning": r["tpe_median_pruning"]}
    extra = f" with {' '.join(r['overrides'])}" if r["overrides"] else ""
    lines = [
        f"`{r['config']}`{extra}, objective {r['monitor']}: `learnai tune` over optimizer.lr with the same number of "
        "trials. Run by `python -m bench.tune`.",
        "",
        "| search | trials | best val_loss | best optimizer.lr | epochs trained | training s | wall s |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for label, found in searches.items():
        lr = found["best_params"].get("optimizer.lr", "")
        lines.append(
            f"| {label} | {found['trials']} ({_counts(found['counts'])}) | {found['best_value']:.4g} | {lr} | "
            f"{found['epochs_trained']} | {found['train_seconds']} | {found['wall_seconds']} |"
        )
    lesson = r["lesson"]
    lines += [
        "",
        f"The learning-rate lesson as a search, `{lesson['command']}`: best val_loss {lesson['best_value']:.4g} "
        f"({_counts(lesson['counts'])}; {lesson['epochs_trained']} epochs, {lesson['train_seconds']} s of training).",
    ]
    return lines


def _versus_lightning(r: dict) -> list[str]:
    """learnai beside the LightningCLI program: each pair's ratios learnai / Lightning and their median."""
    lines = [
        f"`learnai train configs/mnist_cnn.yaml` (+ `learnai eval`) beside `bench/lightning_mnist.py` (LightningCLI, "
        f"same CNN, loss, Adam + one-cycle, batch 256, bf16 + channels_last), {r['pairs']} pairs run alternately at "
        f"{r['threads']} thread(s) each; load average {r.get('load_average', '?')} at the start (the machine was "
        "shared: the ratios within a pair are the figures to read, not the seconds). Ratios are learnai / Lightning.",
        "",
        "| run | learnai wall s | Lightning wall s | wall ratio | train s ratio | samples/s ratio | test accuracy |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for name, label in (("tiny_one_epoch", "1 epoch, 512 digits"), ("full_training", "full training")):
        if name not in r:
            continue
        part = r[name]
        if "epochs" in part:
            label = f"{part['epochs']} epochs, {part['data']}"
        walls = [f"{', '.join(str(run['wall_seconds']) for run in part[who])}" for who in ("learnai", "lightning")]
        accuracy = " / ".join(_median_accuracy(part[who]) for who in ("learnai", "lightning"))
        median = part["median"]
        lines.append(
            f"| {label} | {walls[0]} | {walls[1]} | {median.get('wall_seconds', '-')} | "
            f"{median.get('train_seconds', '-')} | {median.get('samples_per_s', '-')} | {accuracy} |"
        )
    return lines + [
        "",
        "The 1-epoch run times `learnai train` against the Lightning program's fit alone; full training adds "
        "`learnai eval` and Lightning's test. Test accuracy: median over the pairs, learnai / Lightning.",
    ]


def _versus_examples(r: dict) -> list[str]:
    """learnai beside pytorch/examples' MNIST: process wall per pair, the ratio and the test accuracy reached."""
    epochs, precision = r["epochs"], (r["learnai"][0].get("precision") if r["learnai"] else None) or "bf16"
    lines = [
        f"`learnai train configs/mnist_cnn.yaml --test` ({epochs['learnai']} epochs in {precision}, best.pt tested in "
        f"the same process) beside `bench/examples_mnist.py` (pytorch/examples' MNIST example, "
        f"{epochs['example']} epochs) on {r['data']}; "
        f"{r['pairs']} pairs run alternately, each command with the threads it picks itself; load average "
        f"{r.get('load_average', '?')} at the start. Target: test accuracy >= {r['target_accuracy']}.",
        "",
        "| pair | learnai wall s | example wall s | wall ratio | learnai test accuracy | example test accuracy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for index, (mine, other) in enumerate(zip(r["learnai"], r["example"]), start=1):
        ratio = r["wall_ratios"][index - 1]
        lines.append(
            f"| {index} | {mine['wall_seconds']} | {other['wall_seconds']} | {ratio} | {mine['test_accuracy']} | "
            f"{other['test_accuracy']} |"
        )
    return lines + ["", f"Median wall ratio (learnai / example): {r['median_wall_ratio']}."]


def _median_accuracy(runs: list[dict]) -> str:
    found = [run["test_accuracy"] for run in runs if run.get("test_accuracy") is not None]
    return str(statistics.median(found)) if found else "-"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items())


SECTIONS = {
    "overhead": _overhead,
    "time_to_accuracy": _time_to_accuracy,
    "scaling": _scaling,
    "startup": _startup,
    "vision_startup": _vision_startup,
    "curriculum_overhead": _curriculum_overhead,
    "health_overhead": _health_overhead,
    "gpu": _gpu,
    "tune": _tune,
    "versus_lightning": _versus_lightning,
    "versus_examples": _versus_examples,
}
