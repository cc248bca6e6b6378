"`python -m cookbook ...` runs the command line (same as the `cookbook` console script)."
import sys
from cookbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
