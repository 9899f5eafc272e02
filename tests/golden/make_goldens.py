"""Regenerates every golden file: runs each gen_*.py beside this file.
Needs PyTorch and numpy (make goldens sets up a venv); make test never does."""
import glob
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

torch.manual_seed(0)
torch.set_num_threads(1)
for path in sorted(glob.glob(os.path.join(HERE, "gen_*.py"))):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main()
    print("wrote goldens from", os.path.basename(path))
