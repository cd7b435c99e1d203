"""``python -m cnnlib.evaluate CKPT.pt --data TEST.npz``: prints ``accuracy 0.XXXX`` last."""

import sys

from cnnlib.train import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
