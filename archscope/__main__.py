import sys

from archscope.cli import main

sys.exit(main())
