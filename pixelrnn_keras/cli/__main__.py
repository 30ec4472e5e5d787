"""`python -m pixelrnn_keras.cli`: the `pixelrnn` command."""

import sys

from pixelrnn_keras.cli import main

sys.exit(main())
