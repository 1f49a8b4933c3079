"""`python -m mmcnn.cli`: the `mmcnn` command."""

import sys

from mmcnn.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
