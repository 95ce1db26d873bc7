import sys

from strategy_search.cli import main

sys.exit(main())
