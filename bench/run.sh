#!/bin/sh
# `make bench`: kernel benchmarks, then vidit against the PyTorch peer on the
# issue's workload (bench/compare.py prints the table). Usage:
#   sh bench/run.sh [VIDIT_BINARY] [extra bench/compare.py options]
# VIDIT_TORCH_PYTHON=/path/to/python skips making .venv-torch.
set -eu
vidit=${1:-build/vidit}
[ $# -gt 0 ] && shift
py=${VIDIT_TORCH_PYTHON:-}
if [ -z "$py" ]; then
    if ! py=$(sh scripts/torch-venv.sh); then
        echo "bench: could not make .venv-torch (scripts/torch-venv.sh failed):" \
             "the PyTorch column stays empty" >&2
        py=
    fi
fi
echo "== $vidit bench ops --quick"
"$vidit" bench ops --quick
echo
echo "== vidit vs PyTorch ($py)"
python3 bench/compare.py --vidit "$vidit" --torch-python "$py" "$@"
