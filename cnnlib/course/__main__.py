import sys

from .nbgrader_main import skip_slow_imports

skip_slow_imports()

from .cli import main  # noqa: E402

sys.exit(main())
