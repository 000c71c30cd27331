import sys

from skysegui.cli.main import main

sys.exit(main())
