"""Registry: build by name, signature-checked kwargs, did-you-mean, duplicates, `learnai list`."""

from __future__ import annotations

import pytest
import torch

from learnai_cli import registry
from learnai_cli.errors import ConfigError
from learnai_cli.registry import Registry
from tests.conftest import CONFIGS


def make_registry() -> Registry:
    widgets = Registry("widget")

    @widgets.register("square_widget")
    def square(size: int = 2, color: str = "red") -> dict:
        """A square widget; its first docstring line is shown by `learnai list`."""
        return {"size": size, "color": color}

    return widgets


def test_build_by_name_with_defaults_and_coercion():
    widgets = make_registry()
    assert widgets.build("square_widget", {"size": "3"}) == {"size": 3, "color": "red"}


def test_check_reports_unknown_argument_with_closest_match():
    resolved, problems = make_registry().check("square_widget", {"sise": 3})
    assert resolved == {}
    assert problems == [("sise", "unknown argument for square_widget. Did you mean 'size'? Valid: size, color")]


def test_check_reports_wrong_types_and_fills_defaults():
    widgets = make_registry()
    _, problems = widgets.check("square_widget", {"size": "big"})
    assert problems[0][0] == "size" and "valid integer" in problems[0][1] and "'big'" in problems[0][1]
    assert widgets.check("square_widget", {}) == ({"size": 2, "color": "red"}, [])


def test_unknown_name_lists_valid_names_and_closest():
    with pytest.raises(ConfigError) as caught:
        make_registry().get("squar_widget")
    assert caught.value.message == "unknown widget 'squar_widget'. Did you mean 'square_widget'? Valid: square_widget"


def test_registering_a_name_twice_is_an_error():
    widgets = make_registry()
    with pytest.raises(ConfigError, match="registered twice"):
        widgets.register("square_widget")(lambda: None)


def test_provided_arguments_are_hidden_from_configs():
    entry = registry.OPTIMIZERS.get("sgd")
    assert [p.name for p in entry.parameters][:2] == ["lr", "momentum"]
    _, problems = registry.OPTIMIZERS.check("sgd", {"params": []})
    assert problems and problems[0][0] == "params"
    optimizer = registry.OPTIMIZERS.build("sgd", {"lr": 0.5}, params=[torch.nn.Parameter(torch.zeros(1))])
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_required_names_of_the_curriculum_are_registered():
    assert {"linear", "polynomial", "toy_classes", "diabetes", "mnist", "fashion_mnist"} <= set(
        registry.DATASETS.names()
    )
    assert {"linear_regression", "mlp", "basic_cnn", "mnist_cnn"} <= set(registry.MODELS.names())
    assert {"mse", "cross_entropy", "nll", "bce", "smooth_l1", "kl_div"} <= set(registry.LOSSES.names())
    assert {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "manual_sgd"} <= set(registry.OPTIMIZERS.names())
    assert {"step", "cosine", "onecycle", "reduce_on_plateau"} <= set(registry.SCHEDULERS.names())


@pytest.mark.parametrize("kind", ["models", "datasets", "losses", "optimizers", "schedulers", "metrics"])
def test_every_builder_has_a_docstring(kind):
    for name in registry.REGISTRIES[kind].names():
        assert registry.REGISTRIES[kind].get(name).summary, f"{kind} '{name}' needs a docstring for `learnai list`"


def test_list_command(cli):
    result = cli("list", "optimizers")
    assert result.exit_code == 0
    assert "manual_sgd" in result.stdout and "lr: NonNegativeFloat = 0.01" in result.stdout  # bounded: see registry
    assert "hidden: Union[PositiveCount, list[PositiveCount]]" in cli("list", "models").stdout  # brackets: no markup
    payload = cli.json("list")
    assert set(payload) == {"ok", "models", "datasets", "losses", "optimizers", "schedulers", "metrics"}
    mlp = next(e for e in payload["models"] if e["name"] == "mlp")
    assert "in_features: PositiveCount" in mlp["arguments"] and mlp["summary"].startswith("Fully connected")
    assert all(entry["arguments"] == [] for entry in payload["metrics"])  # tensors the loop passes, not settings
    gru = next(e for e in payload["models"] if e["name"] == "name_gru")
    assert "vocab_size: PositiveCount = 59" in gru["arguments"]  # a module constant shown as its value
    wrong = cli("list", "modls")
    assert wrong.exit_code == 2 and "Did you mean 'models'?" in wrong.stderr


def test_builtin_catalog_matches_the_live_registries():
    """`learnai list` reads the builder modules' source (no torch); it must agree with what is registered."""
    from learnai_cli.commands.list import builtin_catalog

    catalog = builtin_catalog(registry.builtin_locations(), {k: r.provided for k, r in registry.REGISTRIES.items()})
    for kind, found in registry.REGISTRIES.items():
        built_in = [n for n in found.names() if found.get(n).builder.__module__.startswith("learnai_cli.")]
        assert [e["name"] for e in catalog[kind]] == built_in, kind
        for entry in catalog[kind]:
            live = found.get(entry["name"])
            assert [a.split(":")[0].split(" =")[0] for a in entry["arguments"]] == [p.name for p in live.parameters]
            assert entry["summary"] == live.summary


def test_list_with_a_plugin_shows_it(cli, tmp_path):
    plugin = tmp_path / "extra.py"
    plugin.write_text(
        "from learnai_cli.registry import LOSSES\n\n@LOSSES.register('listed_plugin_loss')\ndef listed(scale: float = 2.0):\n    '''A plugin loss.'''\n    return None\n"
    )
    payload = cli.json("list", "losses", "--plugin", str(plugin))
    entry = next(e for e in payload["losses"] if e["name"] == "listed_plugin_loss")
    assert entry["arguments"] == ["scale: float = 2.0"] and entry["summary"] == "A plugin loss."


def test_any_exception_from_a_builder_is_a_build_failure_naming_it():
    widgets = Registry("widget")

    @widgets.register("broken_widget")
    def broken(size: int = 2):
        """Fails."""
        raise SystemExit(f"size {size} is wrong")

    with pytest.raises(registry.BuildFailed) as caught:
        widgets.build("broken_widget", {})
    assert "widget 'broken_widget'" in caught.value.message and "SystemExit: size 2 is wrong" in caught.value.message
    assert caught.value.argument == "size"  # the argument its message names


def test_a_reference_must_be_checked_by_a_config_before_it_is_built():
    with pytest.raises(ConfigError, match="was not checked"):
        registry.LOSSES.get("subprocess:Popen")


@pytest.mark.parametrize(
    "override, expected",
    [
        ("optimizer.name=SGD", "unknown optimizer 'SGD'. Did you mean 'sgd'?"),
        ("optimizer.name=Adam", "Did you mean 'adam'?"),
        ("optimizer.name=SDG", "Did you mean 'sgd'?"),  # a typo in another case
        ("optimizer.learning_rate=0.1", "optimizer.learning_rate: unknown argument for sgd. Did you mean 'lr'?"),
        ("optimizer.LR=0.1", "Did you mean 'lr'?"),
        ("optimizer.L2=0.1", "Did you mean 'weight_decay'?"),
        ("loss.name=crossentropy", "unknown loss 'crossentropy'. Did you mean 'cross_entropy'?"),
        ("loss.name=CrossEntropyLoss", "Did you mean 'cross_entropy'?"),
        ("loss.name=MSELoss", "Did you mean 'mse'?"),
        ("loss.name=BCEWithLogitsLoss", "Did you mean 'bce_with_logits'?"),
        ("scheduler.name=StepLR", "Did you mean 'step'?"),
        ("scheduler.name=ReduceLROnPlateau", "Did you mean 'reduce_on_plateau'?"),
        ("model.name=MLP", "unknown model 'MLP'. Did you mean 'mlp'?"),
        ("model.num_classes=3", "unknown argument for mlp. Did you mean 'out_features'?"),
        ("model.activation=ReLU", "(got 'ReLU'). Did you mean 'relu'?"),
        ("model.activation=Leaky-ReLU", "Did you mean 'leaky_relu'?"),
        ("train.Epochs=3", "train.Epochs: unknown key. Did you mean 'epochs'?"),
        ("train.learning_rate=0.1", "It is an optimizer setting: set optimizer.lr."),
        ("train.momentum=0.9", "set optimizer.momentum."),
    ],
)
def test_did_you_mean_knows_case_and_synonyms(cli, override, expected):
    result = cli("config", CONFIGS / "toy_classes.yaml", override)
    assert result.exit_code == 2 and expected in result.stderr, result.stderr


def test_an_unrelated_name_gets_no_guess(cli):
    result = cli("config", CONFIGS / "toy_classes.yaml", "optimizer.name=banana", "model.activation=nonsense")
    assert result.exit_code == 2 and "Did you mean" not in result.stderr
