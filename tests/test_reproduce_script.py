"""scripts/reproduce_models.sh trains and ships exactly what the shipped models' cards say they came from."""

import re
import subprocess

from fer_core.runs import registry
from fer_core.runs.folder import CARD_FILE
from tests.helpers import REPO_ROOT

STEPS = re.compile(r"-m fer_core (train|ensemble|ship) ")


def _card_commands(card_text: str) -> set[str]:
    block = card_text.split("## Reproduce", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    lines = (line.split("   #", 1)[0] for line in joined.splitlines())
    return {" ".join(line.split()) for line in lines if STEPS.search(line)}


def _script_commands(env_python: str) -> set[str]:
    out = subprocess.run(["bash", "scripts/reproduce_models.sh"], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True, env={"DRY_RUN": "1", "PY": env_python, "PATH": "/usr/bin:/bin"}).stdout
    commands = set()
    for line in out.splitlines():
        if STEPS.search(line):
            line = line.replace(env_python, "python").replace(" --resume", "")
            commands.add(" ".join(re.sub(r" --models-dir \S+", "", line).split()))
    return commands


def test_the_script_runs_every_command_of_the_shipped_cards():
    shipped = {registry.DEFAULT_MODEL, registry.CAMERA_MODEL or registry.DEFAULT_MODEL}
    expected = set().union(*(_card_commands((registry.MODELS_DIR / name / CARD_FILE).read_text())
                             for name in shipped))
    assert any(" ship " in c and "--name " + registry.DEFAULT_MODEL in c for c in expected)
    assert _script_commands("/opt/py/bin/python") == expected
