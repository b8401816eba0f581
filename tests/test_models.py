"""Every registered model does a forward and backward pass on a tiny batch (a new model must be added here)."""

from __future__ import annotations

import pytest
import torch

from learnai_cli import registry

# name -> (kwargs, input shape of a batch of 3)
EXAMPLES = {
    "linear_regression": ({"n_in": 2, "n_out": 1}, (3, 2)),
    "mlp": ({"in_features": 784, "hidden": [16, 8], "out_features": 10, "dropout": 0.1}, (3, 1, 28, 28)),
    "basic_cnn": ({}, (3, 1, 28, 28)),
    "mnist_cnn": ({"channels": [4, 8, 8]}, (3, 1, 28, 28)),
    "deep_cnn": ({"channels": [4, 8, 8], "hidden": [16, 8]}, (3, 1, 28, 28)),
    "inception_net": ({"branch": 4}, (3, 1, 28, 28)),
    "residual_net": ({"channels": [4, 8]}, (3, 1, 28, 28)),
    "logistic_regression": ({"n_in": 2}, (3, 2)),
    "zoo": ({"architecture": "squeezenet1_0", "num_classes": 5}, (3, 3, 64, 64)),
    "char_rnn": ({"cell": "rnn_cell"}, "chars"),
    "name_gru": ({"bidirectional": True, "hidden": 8}, "chars"),
    "name_bilstm": ({"hidden": 8}, "chars"),
}


def test_every_registered_model_has_an_example():
    built_in = {
        n for n in registry.MODELS.names() if registry.MODELS.get(n).builder.__module__.startswith("learnai_cli.")
    }
    assert built_in <= set(EXAMPLES), "add the new model to EXAMPLES"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_forward_and_backward(name):
    kwargs, shape = EXAMPLES[name]
    torch.manual_seed(0)
    model = registry.MODELS.build(name, kwargs)
    inputs = torch.tensor([[1, 2, 3, 0], [3, 2, 0, 0], [1, 1, 1, 1]]) if shape == "chars" else torch.randn(*shape)
    output = model(inputs)
    assert output.shape[0] == 3 and torch.isfinite(output).all()
    output.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_basic_cnn_is_the_curriculum_network():
    model = registry.MODELS.build("basic_cnn", {})
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(1, 10, (5, 5)), (10, 20, (5, 5))]
    assert model.classifier.in_features == 320


def test_mlp_accepts_a_single_hidden_width_and_output_activations():
    model = registry.MODELS.build(
        "mlp",
        {"in_features": 8, "hidden": 6, "out_features": 1, "activation": "sigmoid", "output_activation": "sigmoid"},
    )
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 6), (6, 1)]
    output = model(torch.randn(5, 8))
    assert ((output > 0) & (output < 1)).all()


@pytest.mark.parametrize(
    "architecture",
    ["resnet18", "alexnet", "vgg11", "squeezenet1_0", "densenet121", "inception_v3", "mobilenet_v3_small"],
)
def test_zoo_replaces_the_head_and_freezes_the_backbone(architecture):
    model = registry.MODELS.build("zoo", {"architecture": architecture, "num_classes": 7, "freeze_backbone": True})
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert 0 < sum(p.numel() for p in trainable) < sum(p.numel() for p in model.parameters()) / 5
    outputs = [
        m
        for m in model.modules()
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and any(p.requires_grad for p in m.parameters())
    ]
    assert all((m.out_features if isinstance(m, torch.nn.Linear) else m.out_channels) == 7 for m in outputs)


def test_zoo_forward_of_inception_v3_returns_main_logits():
    model = registry.MODELS.build("zoo", {"architecture": "inception_v3", "num_classes": 3})
    model.train()
    assert model(torch.randn(2, 3, 299, 299)).shape == (2, 3)  # the auxiliary head needs full-size inputs


def test_pretrained_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    from learnai_cli.errors import DataError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(DataError) as caught:
        registry.MODELS.build("zoo", {"architecture": "resnet18", "pretrained": True})
    message = caught.value.message
    assert (
        "resnet18-f37072fd.pth" in message
        and str(tmp_path / "hub" / "checkpoints") in message
        and "pretrained: false" in message
    )
