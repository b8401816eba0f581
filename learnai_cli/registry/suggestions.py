"""The did-you-mean for registry names and builder arguments: another case or spelling, a synonym, a typo."""

from __future__ import annotations

import re
from typing import Sequence

from learnai_cli.errors import closest

__all__ = ["SYNONYMS", "suggestion"]

# What people write for a name learnai spells otherwise: PyTorch's class names, Keras' and the curriculum's words.
# Keys are compared without case, "_", "-" and spaces; a synonym is offered only where its name is valid.
SYNONYMS = {
    "crossentropyloss": "cross_entropy",
    "categoricalcrossentropy": "cross_entropy",
    "sparsecategoricalcrossentropy": "cross_entropy",
    "ce": "cross_entropy",
    "binarycrossentropy": "bce",
    "bceloss": "bce",
    "bcewithlogitsloss": "bce_with_logits",
    "nllloss": "nll",
    "mseloss": "mse",
    "meansquarederror": "mse",
    "l2": ("weight_decay", "mse"),
    "l1loss": "l1",
    "meanabsoluteerror": "l1",
    "smoothl1loss": "smooth_l1",
    "huberloss": "huber",
    "kldivloss": "kl_div",
    "kldivergence": "kl_div",
    "stochasticgradientdescent": "sgd",
    "steplr": "step",
    "cosineannealinglr": "cosine",
    "cosineannealing": "cosine",
    "onecyclelr": "onecycle",
    "reducelronplateau": "reduce_on_plateau",
    "learningrate": "lr",
    "learnrate": "lr",
    "decay": "weight_decay",
    "epsilon": "eps",
    "hiddensize": "hidden",
    "hiddensizes": "hidden",
    "hiddenlayers": "hidden",
    "hiddenunits": "hidden",
    "inputsize": "in_features",
    "inputdim": "in_features",
    "numfeatures": "in_features",
    "outputsize": "out_features",
    "outputdim": "out_features",
    "numclasses": "out_features",
    "numoutputs": "out_features",
    "outfeatures": "num_classes",
    "activationfunction": "activation",
    "dropoutrate": "dropout",
    "linear": "linear_regression",
    "logistic": "logistic_regression",
    "cnn": "basic_cnn",
    "gru": "name_gru",
    "lstm": "name_bilstm",
    "rnn": "char_rnn",
    "resnet": "residual_net",
    "inception": "inception_net",
}


def _folded(word: str) -> str:
    return re.sub(r"[\s_\-]", "", word.casefold())


def suggestion(word: str, valid: Sequence[str]) -> str:
    """' Did you mean 'x'?' for a registry name or builder argument: the same name in another case or spelling
    (SGD, Cross-Entropy), then a known synonym (CrossEntropyLoss, learning_rate), then a close typo in any case
    (SDG); else ''."""
    folded = _folded(str(word)[:200])
    by_folded = {_folded(name): name for name in valid}
    synonyms = SYNONYMS.get(folded, ())
    candidates = [folded, folded.removesuffix("loss"), *((synonyms,) if isinstance(synonyms, str) else synonyms)]
    for candidate in candidates:  # MSELoss, CrossEntropyLoss: PyTorch's class names less "Loss"
        if (candidate in by_folded or candidate in valid) and by_folded.get(candidate, candidate) != word:
            return f" Did you mean '{by_folded.get(candidate, candidate)}'?"
    by_lower = {name.casefold(): name for name in valid}
    match = closest(str(word)[:200].casefold(), by_lower)
    return f" Did you mean '{by_lower[match]}'?" if match else ""
