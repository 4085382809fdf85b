import sys

from takst.cli import main

sys.exit(main())
