#!/bin/sh
# Makes (once) a Python virtual environment with PyTorch and numpy from PyPI,
# used to regenerate golden files and to run the PyTorch peer benchmark.
# Prints the path of its python.
set -eu
venv=${VIDIT_TORCH_VENV:-$(pwd)/.venv-torch}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --upgrade pip >&2
    "$venv/bin/pip" install -q numpy torch >&2
fi
echo "$venv/bin/python"
