#!/bin/sh
set -eu
py=$(sh scripts/torch-venv.sh)
"$py" tests/golden/make_goldens.py
