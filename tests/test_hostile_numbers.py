"""Family 13: numbers a dataset or a float setting cannot take. true/false where a float goes, nan/inf, negative
noise and spreads, zero or huge sizes of generated data, image sizes and zero stds, generated data past float32:
each is exit 2 naming the key, never a traceback, never a run directory."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.hostile import assert_refused, invoke, snapshot

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# (config, override, the key the message names)
FLOATS_AS_BOOLEANS = [
    ("linear_regression", "optimizer.lr=true", "optimizer.lr"),
    ("linear_regression", "optimizer.lr=on", "optimizer.lr"),
    ("linear_regression", "data.noise=yes", "data.noise"),
    ("linear_regression", "data.weight=off", "data.weight"),
    ("linear_regression", "train.grad_clip=true", "train.grad_clip"),
    ("linear_regression", "train.divergence_factor=on", "train.divergence_factor"),
    ("linear_regression", "train.early_stopping.min_delta=yes", "train.early_stopping.min_delta"),
    ("linear_regression", "train.stop_when.below=true", "train.stop_when.below"),
    ("logistic_regression", "data.threshold=no", "data.threshold"),
    ("diabetes", "optimizer.weight_decay=on", "optimizer.weight_decay"),
]


@pytest.mark.parametrize("base,override,key", FLOATS_AS_BOOLEANS, ids=[o for _, o, _ in FLOATS_AS_BOOLEANS])
def test_true_or_false_where_a_float_goes_is_refused(cli, base, override, key):
    code, output = invoke(cli, "config", CONFIGS / f"{base}.yaml", override)
    assert_refused(code, output, [f"{key}:", "true/false"])


OUT_OF_RANGE = [
    ("linear_regression", "data.noise=-1", "data.noise"),
    ("linear_regression", "data.noise=.nan", "data.noise"),
    ("linear_regression", "data.weight=.inf", "data.weight"),
    ("linear_regression", "data.n=0", "data.n"),
    ("linear_regression", "data.n=1e12", "data.n"),
    ("linear_regression", "data.x_min=5", "data.x_min"),
    ("linear_regression", "data.weight=1e308", "data.weight"),
    ("polynomial_regression", "data.degree=0", "data.degree"),
    ("polynomial_regression", "data.coefficients=[]", "data.coefficients"),
    ("polynomial_regression", "data.coefficients=[1]", "data.coefficients"),
    ("polynomial_regression", "data.x_max=1e30", "data.x_max"),
    ("generalfit", "data.noise=1e38", "data.noise"),
    ("logistic_regression", "data.spread=-1", "data.spread"),
    ("logistic_regression", "data.n=-3", "data.n"),
    ("mnist_cnn", "data.std=0", "data.std"),
    ("diabetes", "optimizer.momentum=2", "optimizer.momentum"),
    ("mnist_basic_cnn", "optimizer.momentum=1", "optimizer.momentum"),
    ("mnist_cnn", "data.mean=.nan", "data.mean"),
]


@pytest.mark.parametrize("base,override,key", OUT_OF_RANGE, ids=[o for _, o, _ in OUT_OF_RANGE])
@pytest.mark.parametrize("command", ["config", "train"])
def test_a_dataset_number_out_of_its_range_is_refused_naming_the_key(cli, base, override, key, command):
    before = snapshot(cli.runs_dir)
    code, output = invoke(cli, command, CONFIGS / f"{base}.yaml", override, "train.epochs=1")
    assert_refused(code, output, [f"{key}:"])
    assert snapshot(cli.runs_dir) == before  # no run directory for a config that cannot train


def _fake_images(tmp_path: Path, **changes) -> Path:
    config = {
        "name": "fake",
        "data": {"name": "fake_images", "size": 16, "image_size": 28, "channels": 1, **changes},
        "model": {"name": "basic_cnn", "in_channels": 1},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": 8},
    }
    path = tmp_path / f"fake_{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_fake_images_config_these_tests_spoil_is_valid(cli, tmp_path):
    code, output = invoke(cli, "config", _fake_images(tmp_path))
    assert code == 0, output[-2000:]


@pytest.mark.parametrize(
    "key,value",
    [("size", -5), ("size", 0), ("size", 10**12), ("channels", 0), ("channels", 2), ("num_classes", 0)]
    + [("image_size", 0), ("image_size", -3), ("image_size", 100_000), ("size", True)],
)
def test_fake_images_sizes_are_checked_before_anything_is_made(cli, tmp_path, key, value):
    code, output = invoke(cli, "config", _fake_images(tmp_path, **{key: value}))
    assert_refused(code, output, [f"data.{key}:"])


def _image_folder(tmp_path: Path, **changes) -> Path:
    from PIL import Image

    for label in ("cats", "dogs"):
        (tmp_path / "photos" / label).mkdir(parents=True, exist_ok=True)
        for number in range(5):
            Image.new("RGB", (40, 40), (10, 40 * number, 30)).save(tmp_path / "photos" / label / f"{number}.png")
    config = {
        "name": "images",
        "data": {"name": "image_folder", "root": str(tmp_path / "photos"), "image_size": 28, **changes},
        "model": {"name": "basic_cnn", "in_channels": 3, "num_classes": 2},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": 2},
    }
    path = tmp_path / "images.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_image_folder_config_these_tests_spoil_is_valid(cli, tmp_path):
    code, output = invoke(cli, "config", _image_folder(tmp_path))
    assert code == 0, output[-2000:]


@pytest.mark.parametrize(
    "key,value",
    [("image_size", 0), ("image_size", -3), ("std", [0, 0, 0]), ("std", [0.2, -1, 0.2]), ("std", [])]
    + [("mean", [0.1, 0.2, 0.3, 0.4]), ("std", [0.2, True, 0.2])],
)
def test_image_folder_sizes_and_stds_are_checked(cli, tmp_path, key, value):
    code, output = invoke(cli, "train", _image_folder(tmp_path, **{key: value}), "--json")
    assert_refused(code, output, [f"data.{key}"])
    assert '"ok": false' in output  # --json says it failed on stdout too


@pytest.mark.parametrize("pixels", [10_000 * 10_000, 15_000 * 15_000])  # over PIL's warning, over its error
def test_predict_refuses_an_image_too_large_to_decode(cli, tmp_path, pixels):
    from PIL import Image

    run_id = cli.json("train", _fake_images(tmp_path))["run_id"]
    side = int(pixels**0.5)
    Image.new("L", (side, side)).save(tmp_path / "huge.png")
    code, output = invoke(cli, "predict", run_id, tmp_path / "huge.png", "--json")
    assert_refused(code, output, ["huge.png", "pixels", "make it smaller"])
    assert '"ok": false' in output


@pytest.fixture(scope="module")
def regression_runs(tmp_path_factory):
    """A linear and a polynomial regression run, trained once for the predict cases."""
    from typer.testing import CliRunner

    from learnai_cli.cli import app

    root = tmp_path_factory.mktemp("regression_runs")
    ids = {}
    for config in ("linear_regression", "polynomial_regression"):
        result = CliRunner().invoke(
            app, ["train", str(CONFIGS / f"{config}.yaml"), "train.epochs=2", "--runs-dir", str(root), "--json"]
        )
        assert result.exit_code == 0, result.output
        ids[config] = json.loads(result.stdout.strip().splitlines()[-1])["run_id"]
    return root, ids


@pytest.mark.parametrize(
    "config,text,words",
    [
        ("linear_regression", "1e39", "beyond float32's range"),
        ("linear_regression", "-1e39", "beyond float32's range"),
        ("linear_regression", "1,", "comma too many"),
        ("linear_regression", ",", "comma too many"),
        ("linear_regression", " ", "feature x1 is empty"),
        ("polynomial_regression", "1e20", "too large for float32"),  # x is fine, x**2 is not
        ("linear_regression", "3.4e38", "not a finite number"),  # the input fits, the output (about 2x) overflows
    ],
)
def test_predict_never_answers_inf_or_nan(regression_runs, config, text, words):
    from typer.testing import CliRunner

    from learnai_cli.cli import app

    root, ids = regression_runs
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(app, ["predict", ids[config], "--runs-dir", str(root), *extra, "--", text])
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Infinity" not in result.stdout and "NaN" not in result.stdout


def test_top_is_refused_for_a_regression_run(regression_runs):
    from typer.testing import CliRunner

    from learnai_cli.cli import app

    root, ids = regression_runs
    result = CliRunner().invoke(app, ["predict", ids["linear_regression"], "2", "--top", "5", "--runs-dir", str(root)])
    assert result.exit_code == 2 and "--top ranks classes" in result.output, result.output


def test_ranks_past_nine_line_up(capsys, monkeypatch):
    import io

    from rich.console import Console

    from learnai_cli.cli import predict as results

    screen = io.StringIO()
    monkeypatch.setattr(results, "stdout", Console(file=screen, width=80, color_system=None))
    top = [{"class": f"language {i}", "probability": 1 / 12} for i in range(12)]
    results._render_prediction({"input": "Nakamura", "top": top})
    lines = screen.getvalue().splitlines()
    assert lines[0].startswith(" 1. language 0") and lines[11].startswith("12. language 11"), lines
    assert len({line.index("%") for line in lines}) == 1  # the probabilities in one column


def test_a_plugin_builders_infinite_default_is_its_own_not_a_config_error(cli, tmp_path):
    name = f"clipped_{uuid.uuid4().hex[:8]}"
    (tmp_path / "clipped.py").write_text(
        "import math\nfrom torch import nn\nfrom learnai_cli.registry import MODELS\n\n"
        f"@MODELS.register('{name}')\n"
        "def clipped(n_in: int = 1, limit: float = math.inf):\n"
        '    """A linear model with an unused limit (no limit by default)."""\n'
        "    return nn.Linear(n_in, 1)\n"
    )
    config = yaml.safe_load((CONFIGS / "linear_regression.yaml").read_text())
    config.update({"plugins": ["clipped.py"], "model": {"name": name}})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    code, output = invoke(cli, "config", tmp_path / "cfg.yaml")
    assert code == 0, output[-2000:]
    code, output = invoke(cli, "config", tmp_path / "cfg.yaml", "model.limit=.inf")  # what its default means
    assert code == 0, output[-2000:]
    code, output = invoke(cli, "config", tmp_path / "cfg.yaml", "model.limit=true")  # never a boolean
    assert_refused(code, output, ["model.limit:", "true/false"])
