"""One module per DVC stage. A stage reads its inputs, checks them, writes its outputs atomically.

No stage imports another: they meet only through the files declared in `dvc.yaml`.
"""
