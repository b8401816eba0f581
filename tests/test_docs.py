"""The README and docs/ pages cannot drift from the code: their commands name real commands and options, the configs
they name exist, their YAML snippets validate, their links lead somewhere, and the README's tour runs end to end."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer.main
import yaml

from learnai_cli.cli import app
from tests.conftest import CONFIGS, REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
GROUP = typer.main.get_command(app)
SHELL_OPERATORS = {"&&", "||", "|", ";"}


def page_name(page: Path) -> str:
    return str(page.relative_to(REPO))


def blocks(page: Path, *languages: str) -> list[str]:
    return [body for language, body in FENCE.findall(page.read_text()) if language in languages]


def inline_code(page: Path) -> list[str]:
    prose = FENCE.sub("", page.read_text())
    return [span.replace("\\|", "|") for span in re.findall(r"`([^`\n]+)`", prose)]


def learnai_commands(shell_text: str) -> list[list[str]]:
    """The words after `learnai` (or `python -m learnai_cli`) of each command in a shell text, up to the next
    operator (&&, |, ...); comments dropped."""
    found = []
    for line in shell_text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote in prose such as `learnai's`
            continue
        for index, word in enumerate(words):
            module_form = word == "learnai_cli" and index > 0 and words[index - 1] == "-m"
            if word == "learnai" or word.endswith("(learnai") or module_form:
                rest = words[index + 1 :]
                end = next((i for i, w in enumerate(rest) if w in SHELL_OPERATORS or w.endswith(")")), len(rest))
                found.append(rest[:end])
    return found


def documented_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for page in PAGES:
        texts = blocks(page, "bash", "sh", "") + [span for span in inline_code(page) if "learnai" in span]
        commands += [(page_name(page), words) for text in texts for words in learnai_commands(text)]
    return commands


def option_names(command) -> set[str]:
    names = {"-h", "--help"}
    for param in command.params:
        names.update(getattr(param, "opts", ()), getattr(param, "secondary_opts", ()))
    return names


def unknown_words(words: list[str]) -> list[str]:
    """What in `learnai <words>` is no command or no option of its command."""
    command = GROUP
    if words[:1] == ["..."]:  # `learnai ...`: any command
        return []
    if words and not words[0].startswith("-"):
        if words[0] not in GROUP.commands:
            return [f"no command '{words[0]}'"]
        command, words = GROUP.commands[words[0]], words[1:]
    known = option_names(command) | ({"--install-completion", "--show-completion"} if command is GROUP else set())
    unknown = []
    for word in words:
        if word == "--":
            break
        option = word.split("=", 1)[0]
        if option.startswith("-") and len(option) > 1 and not option[1:2].isdigit() and option not in known:
            unknown.append(f"no option {option} for {command.name}")
    return unknown


def test_the_pages_show_learnai_commands_at_all():
    pages = {page for page, _ in documented_commands()}
    assert {"README.md", "docs/commands.md", "docs/curriculum.md"} <= pages


@pytest.mark.parametrize(("page", "words"), documented_commands(), ids=lambda x: x if isinstance(x, str) else None)
def test_every_documented_command_and_option_exists(page, words):
    assert not unknown_words(words), f"{page}: learnai {' '.join(words)}: {unknown_words(words)}"


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_named_config_exists(page):
    named = set(re.findall(r"\bconfigs/([A-Za-z0-9_.-]+\.yaml)", page.read_text()))
    assert all((CONFIGS / name).is_file() for name in named), sorted(n for n in named if not (CONFIGS / n).is_file())


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_local_link_leads_to_a_file(page):
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [t for t in targets if "://" not in t]
    assert all((page.parent / t).exists() for t in local), [t for t in local if not (page.parent / t).exists()]


def test_every_docs_page_is_linked_from_the_readme():
    linked = set(re.findall(r"\(docs/([\w.-]+\.md)\)", (REPO / "README.md").read_text()))
    assert {p.name for p in PAGES[1:]} <= linked, sorted({p.name for p in PAGES[1:]} - linked)


def test_the_pages_tell_when_last_pt_is_written_as_the_recorder_decides():
    from learnai_cli.recorders.run_files import CHECKPOINT_SECONDS

    every = f"{CHECKPOINT_SECONDS:g} s"
    runs_page = (REPO / "docs/runs.md").read_text()
    [comment] = [line.split("#", 1)[1] for line in runs_page.splitlines() if "checkpoints/last.pt  #" in line]
    assert comment.strip() != "every epoch" and every in comment, comment  # by time while epochs are fast
    assert f"at most every {every}" in (REPO / "docs/performance.md").read_text()


# --- YAML snippets: each is a config, full or partial, and validates --------------------------------------------

BASE_CONFIG = CONFIGS / "linear_regression.yaml"  # a partial snippet's sections replace this config's
FULL = {"name", "data", "model", "loss", "optimizer"}
VALIDATE = textwrap.dedent(
    """
    import json, sys
    from learnai_cli import config
    from learnai_cli.errors import LearnaiError
    results = {}
    for path in sys.argv[1:]:
        try:
            results[path] = {"resolved": config.load(path).model_dump(mode="json")}
        except LearnaiError as error:
            results[path] = {"error": error.render()}
    print(json.dumps(results))
    """
)


def yaml_snippets() -> list[tuple[str, int, dict]]:
    found = []
    for page in PAGES:
        for number, body in enumerate(blocks(page, "yaml"), start=1):
            found.append((page_name(page), number, yaml.safe_load(body)))
    return found


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> dict[tuple[str, int], dict]:
    """Every snippet written as a config file beside the pages' `# name.py` code blocks, all validated in one
    process (plugins register builders globally, so not in this one); also configs/mnist_cnn.yaml, as (its path, 0)."""
    folder = tmp_path_factory.mktemp("snippets")
    code_files = [re.match(r"# ([\w.-]+\.py)\n", code) for page in PAGES for code in blocks(page, "python")]
    for named in filter(None, code_files):
        (folder / named.group(1)).write_text(named.string)
    paths = {("configs/mnist_cnn.yaml", 0): CONFIGS / "mnist_cnn.yaml"}
    for page, number, snippet in yaml_snippets():
        config = snippet if FULL <= set(snippet) else {**yaml.safe_load(BASE_CONFIG.read_text()), **snippet}
        paths[page, number] = folder / f"{page.replace('/', '_')}_{number}.yaml"
        paths[page, number].write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-c", VALIDATE, *map(str, paths.values())]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    results = json.loads(done.stdout)
    return {key: results[str(path)] for key, path in paths.items()}


def test_the_pages_hold_yaml_snippets():
    assert {page for page, _, _ in yaml_snippets()} >= {"docs/configs.md", "docs/data.md", "docs/extending.md"}


@pytest.mark.parametrize(
    ("page", "number", "snippet"), yaml_snippets(), ids=[f"{p}-{n}" for p, n, _ in yaml_snippets()]
)
def test_every_yaml_snippet_is_a_valid_config(validated, page, number, snippet):
    assert isinstance(snippet, dict), f"{page} yaml block {number} is no config; use a ```text block"
    result = validated[page, number]
    assert "error" not in result, f"{page} yaml block {number}:\n{result.get('error')}"


def leaves(node, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict) and node:
        return {k: v for key, value in node.items() for k, v in leaves(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): node}


def test_the_annotated_config_is_mnist_cnn_resolved_with_every_train_key(validated):
    [(page, number, annotated)] = [s for s in yaml_snippets() if s[0] == "docs/configs.md" and FULL <= set(s[2])]
    resolved = validated[page, number]["resolved"]
    shipped = leaves(validated["configs/mnist_cnn.yaml", 0]["resolved"])
    differing = {
        k: (v, shipped.get(k)) for k, v in leaves(annotated).items() if k != "data.root" and v != shipped.get(k)
    }
    assert not differing, f"{page}: the annotated config differs from configs/mnist_cnn.yaml resolved: {differing}"
    assert set(annotated["train"]) == set(resolved["train"]), "list every train key in the annotated config"


# --- The README's commands, run ---------------------------------------------------------------------------------

RUN_ID_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d")
# Tiny settings appended to the README's commands so the tour takes seconds (keys the command sets itself stay).
TINY = {"mnist_cnn": ["data.val_split=20"], "diabetes": ["train.epochs=2"], "linear_regression": ["train.epochs=3"]}


def readme_block(heading: str, containing: str) -> str:
    section = (REPO / "README.md").read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return next(body for language, body in FENCE.findall(section) if language == "bash" and containing in body)


def runnable(words: list[str], runs_dir: Path, mnist_root: Path) -> list[str]:
    """The README's words with shipped configs as absolute paths, tiny settings, and a run-id prefix of a real run."""
    out = []
    for word in words:
        if re.fullmatch(r"configs/[\w.-]+\.yaml", word):
            name = Path(word).stem
            extra = TINY.get(name, []) + ([f"data.root={mnist_root}"] if "mnist" in name else [])
            set_by_command = {w.split("=", 1)[0] for w in words if "=" in w}
            out += [str(REPO / word), *(e for e in extra if e.split("=", 1)[0] not in set_by_command)]
        elif RUN_ID_PREFIX.match(word):
            newest = sorted(p.name for p in runs_dir.iterdir())[-1]
            out.append(newest[: len(word)])
        else:
            out.append(word)
    return out


def run_readme_block(cli, block: str, mnist_root: Path) -> list[str]:
    """Each command of the block through the real CLI; a `| jq .KEY.KEY...` checks that the JSON has that path."""
    ran = []
    for line in block.splitlines():
        for command in " ".join(shlex.split(line, comments=True)).split(" && "):
            learnai, _, pipe = command.partition(" | ")
            words = runnable(shlex.split(learnai)[1:], cli.runs_dir, mnist_root)
            result = cli(*words)
            assert result.exit_code == 0, f"learnai {' '.join(words)}:\n{result.output}"
            if pipe:
                tool, path = shlex.split(pipe)
                found = json.loads(result.stdout)
                for key in path.lstrip(".").split("."):
                    assert tool == "jq" and isinstance(found, dict) and key in found, pipe
                    found = found[key]
            ran.append(words[0])
    return ran


@pytest.mark.slow  # 13 s on 2 shared cores: three small MNIST trainings, a config check and an evaluation
def test_the_readme_tour_runs_end_to_end(cli, mnist_root):
    ran = run_readme_block(cli, readme_block("A short tour", "learnai"), mnist_root)
    assert ran == ["list", "config", "train", "train", "runs", "diagnose", "eval", "plot", "report", "train"]


def test_the_readme_set_up_commands_run(cli, mnist_root):
    ran = run_readme_block(cli, readme_block("Set up and run", "learnai train"), mnist_root)
    assert ran == ["train", "eval"]
