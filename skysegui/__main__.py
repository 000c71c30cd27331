import sys

from skysegui.cli.main import main

if __name__ == "__main__":  # a spawned child process imports this module too
    sys.exit(main())
